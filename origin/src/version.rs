//! One version of a file as responses describe it: its kind, its validators
//! and the header values that do not depend on the request. They are
//! formatted once per version (and kept in the file cache), not per request.

use std::path::Path;
use std::time::SystemTime;

use headers::Header;
use sha2::{Digest, Sha256};
use warp::http::HeaderValue;

use crate::conditional::Validators;
use crate::digest::tag::hex;
use crate::media::{classify, Kind};

#[derive(Debug)]
pub struct Version {
    pub kind: Kind,
    pub validators: Validators,
    pub etag: HeaderValue,
    pub last_modified: HeaderValue,
    pub content_type: HeaderValue,
    pub cache_control: HeaderValue,
    /// Of the whole file.
    pub content_length: HeaderValue,
}

impl Version {
    /// `path` is the file actually served (`index.html` for a folder).
    pub fn new(path: &Path, len: u64, modified: SystemTime) -> Self {
        let (kind, mime) = classify(path);
        let validators = Validators::new(len, modified);
        Self {
            kind,
            etag: encode(&validators.etag),
            last_modified: encode(&validators.last_modified),
            content_type: HeaderValue::from_str(&mime).expect("MIME types are ASCII"),
            cache_control: HeaderValue::from_static(kind.cache_control()),
            content_length: HeaderValue::from(len),
            validators,
        }
    }

    /// A body the origin made (a playlist with digests added): its content
    /// can change while the mtimes stay, so the ETag is a hash of it.
    pub fn of_content(path: &Path, body: &[u8], modified: SystemTime) -> Self {
        let mut version = Self::new(path, body.len() as u64, modified);
        let tag = format!("\"{}\"", hex(&Sha256::digest(body)[..12]));
        version.validators.etag = tag.parse().expect("a valid entity tag");
        version.etag = encode(&version.validators.etag);
        version
    }
}

fn encode(header: &impl Header) -> HeaderValue {
    let mut values = Vec::with_capacity(1);
    header.encode(&mut values);
    values.pop().expect("a typed header encodes to one value")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn headers_match_the_validators() {
        let modified = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let v = Version::new(Path::new("live/360p/seg_00001.ts"), 1000, modified);
        assert_eq!(v.kind, Kind::Segment);
        assert_eq!(v.content_type, "video/mp2t");
        assert_eq!(v.content_length, "1000");
        assert_eq!(v.last_modified, "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(v.etag, "\"17979cfe362a0000-3e8\"");
        assert_eq!(v.cache_control, "public, max-age=31536000, immutable");
    }

    #[test]
    fn made_bodies_are_tagged_by_content() {
        let modified = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let path = Path::new("live/360p/stream.m3u8");
        let a = Version::of_content(path, b"#EXTM3U\na\n", modified);
        let b = Version::of_content(path, b"#EXTM3U\nb\n", modified);
        assert_ne!(a.etag, b.etag);
        assert_eq!(a.content_length, "10");
        assert_eq!(a.cache_control, "no-cache");
    }
}
