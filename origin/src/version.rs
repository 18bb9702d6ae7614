//! One version of a file as responses describe it: its kind, its validators
//! and the header values that do not depend on the request. They are
//! formatted once per version (and kept in the file cache), not per request.

use std::path::Path;
use std::time::SystemTime;

use headers::Header;
use warp::http::HeaderValue;

use crate::conditional::Validators;
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
}
