//! `#EXT-X-SWARMCAST-DIGEST:SHA256=<64 lowercase hex digits>`: one line
//! before a segment's URI line (or before an `EXT-X-MAP` line) giving the
//! SHA-256 of exactly the bytes a client gets for it. hls.js keeps unknown
//! tags in `frag.tagList`, which is how a fragment loader reads it.

/// The tag name, with its `#`.
pub const TAG: &str = "#EXT-X-SWARMCAST-DIGEST";
/// The attribute holding the digest.
const SHA256: &str = "SHA256";

/// The tag line for a digest (without a line break).
pub fn line(digest: &[u8; 32]) -> String {
    format!("{TAG}:{SHA256}={}", hex(digest))
}

/// Lowercase hex, as `sha256sum` prints it.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from_digit(u32::from(byte >> 4), 16).expect("a nibble"));
        out.push(char::from_digit(u32::from(byte & 15), 16).expect("a nibble"));
    }
    out
}

/// Whether a playlist line is a digest tag (of any content), so a rewrite can
/// drop old ones.
pub fn is_tag(line: &str) -> bool {
    line.trim()
        .strip_prefix(TAG)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
}

/// The digest of a tag line; hex digits in either case are accepted.
/// Other attributes (comma-separated, for later versions) are ignored.
pub fn parse(line: &str) -> Option<[u8; 32]> {
    let attributes = line.trim().strip_prefix(TAG)?.strip_prefix(':')?;
    let hex = attributes
        .split(',')
        .find_map(|a| a.strip_prefix(SHA256)?.strip_prefix('='))?;
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    /// `sha256sum /dev/null`, as any packager's shell would print it.
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn round_trip_matches_sha256sum() {
        let digest: [u8; 32] = Sha256::digest(b"").into();
        let l = line(&digest);
        assert_eq!(l, format!("#EXT-X-SWARMCAST-DIGEST:SHA256={EMPTY}"));
        assert_eq!(parse(&l), Some(digest));
        let upper = format!("{TAG}:SHA256={}", EMPTY.to_uppercase());
        assert_eq!(parse(&upper), Some(digest));
        assert!(is_tag(&l));
    }

    #[test]
    fn other_lines_and_bad_values() {
        assert!(!is_tag("#EXT-X-SWARMCAST-DIGESTS:x"));
        assert!(!is_tag("#EXTINF:2,"));
        assert!(is_tag("#EXT-X-SWARMCAST-DIGEST:SHA256=zz"));
        assert_eq!(parse("#EXT-X-SWARMCAST-DIGEST:SHA256=abc"), None);
        assert_eq!(parse(&format!("{TAG}:SHA256={}", "g".repeat(64))), None);
        let ok = format!("{TAG}:FUTURE=1,SHA256={}", "ab".repeat(32));
        assert_eq!(parse(&ok), Some([0xab; 32]));
    }
}
