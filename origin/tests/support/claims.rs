//! Reads the digest tags of a served playlist the way hls.js attaches them,
//! independently of the origin's own parser, so tests can check each claim
//! against the bytes served for it.

use sha2::{Digest, Sha256};

pub const TAG: &str = "#EXT-X-SWARMCAST-DIGEST:SHA256=";

pub fn sha_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One digest tag of a playlist and what it claims to be the digest of.
#[derive(Debug)]
pub struct Claim {
    pub digest: String,
    pub url_path: String,
    pub range: Option<(u64, u64)>,
}

/// Reads the claims of a playlist the way hls.js attaches tags: a tag belongs
/// to the next URI line, or to an `EXT-X-MAP` that directly follows it.
pub fn claims(playlist_path: &str, text: &str) -> (Vec<Claim>, usize) {
    let dir = playlist_path.rsplit_once('/').unwrap().0;
    let (mut claims, mut segments) = (Vec::new(), 0);
    let (mut pending, mut range, mut previous_end) = (None::<String>, None, 0);
    for line in text.lines() {
        if let Some(hex) = line.strip_prefix(TAG) {
            assert!(pending.is_none(), "two tags for one resource:\n{text}");
            pending = Some(hex.to_string());
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-MAP:") {
            if let Some(digest) = pending.take() {
                let uri = attrs.split('"').nth(1).unwrap();
                let range = attrs.split("BYTERANGE=\"").nth(1).map(|r| {
                    let (len, at) = r.trim_end_matches('"').split_once('@').unwrap();
                    let at: u64 = at.parse().unwrap();
                    (at, at + len.parse::<u64>().unwrap())
                });
                claims.push(Claim {
                    digest,
                    url_path: format!("{dir}/{uri}"),
                    range,
                });
            }
        } else if let Some(r) = line.strip_prefix("#EXT-X-BYTERANGE:") {
            let (len, at) = match r.split_once('@') {
                Some((len, at)) => (len.parse::<u64>().unwrap(), at.parse().unwrap()),
                None => (r.parse().unwrap(), previous_end),
            };
            range = Some((at, at + len));
            previous_end = at + len;
        } else if !line.is_empty() && !line.starts_with('#') {
            segments += 1;
            if let Some(digest) = pending.take() {
                claims.push(Claim {
                    digest,
                    url_path: format!("{dir}/{line}"),
                    range: range.take(),
                });
            }
            range = None;
        }
    }
    assert!(pending.is_none(), "a tag without a resource:\n{text}");
    (claims, segments)
}
