//! Conditional and range requests (RFC 9110 §13–14): decides, from the
//! request headers and the file's validators, whether to answer 304, the
//! whole file, one byte range, or 416. Pure, so every rule is unit-tested.

use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use headers::{ETag, HeaderMapExt, IfModifiedSince, IfNoneMatch, IfRange, LastModified};
use http_range_header::{parse_range_header, RangeUnsatisfiableError};
use warp::http::{header, HeaderMap};

/// What identifies one version of a file.
#[derive(Debug, Clone)]
pub struct Validators {
    pub len: u64,
    pub etag: ETag,
    pub last_modified: LastModified,
}

impl Validators {
    pub fn new(len: u64, modified: SystemTime) -> Self {
        let nanos = modified
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        // Size and modification time, like nginx: a rewritten file gets a new tag.
        let etag = format!("\"{nanos:x}-{len:x}\"")
            .parse()
            .expect("valid entity tag");
        Self {
            len,
            etag,
            last_modified: modified.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    NotModified,
    Full,
    Partial(Range<u64>),
    Unsatisfiable,
}

pub fn plan(headers: &HeaderMap, v: &Validators) -> Plan {
    // If-None-Match takes precedence over If-Modified-Since (§13.2.2).
    if let Some(inm) = headers.typed_get::<IfNoneMatch>() {
        if !inm.precondition_passes(&v.etag) {
            return Plan::NotModified;
        }
    } else if let Some(ims) = headers.typed_get::<IfModifiedSince>() {
        if !ims.is_modified(v.last_modified.into()) {
            return Plan::NotModified;
        }
    }
    let Some(range) = headers.get(header::RANGE).and_then(|r| r.to_str().ok()) else {
        return Plan::Full;
    };
    // A range of a version the client no longer has is useless: send it all.
    if let Some(if_range) = headers.typed_get::<IfRange>() {
        if if_range.is_modified(Some(&v.etag), Some(&v.last_modified)) {
            return Plan::Full;
        }
    }
    match parse_range_header(range).and_then(|r| r.validate(v.len)) {
        Ok(ranges) if ranges.len() == 1 => Plan::Partial(*ranges[0].start()..*ranges[0].end() + 1),
        // Several ranges would need multipart/byteranges; a full 200 is allowed.
        Ok(_) => Plan::Full,
        // Malformed Range headers are ignored (§14.2).
        Err(RangeUnsatisfiableError::Invalid(_)) => Plan::Full,
        Err(_) => Plan::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn v() -> Validators {
        Validators::new(1000, UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    }

    fn plan_for(pairs: &[(&'static str, String)]) -> Plan {
        let mut h = HeaderMap::new();
        for (k, val) in pairs {
            h.insert(*k, val.parse().unwrap());
        }
        plan(&h, &v())
    }

    fn etag() -> String {
        let mut h = HeaderMap::new();
        h.typed_insert(v().etag);
        h["etag"].to_str().unwrap().to_string()
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn single_ranges() {
        assert_eq!(plan_for(&[]), Plan::Full);
        assert_eq!(
            plan_for(&[("range", "bytes=0-99".into())]),
            Plan::Partial(0..100)
        );
        assert_eq!(
            plan_for(&[("range", "bytes=900-".into())]),
            Plan::Partial(900..1000)
        );
        assert_eq!(
            plan_for(&[("range", "bytes=-10".into())]),
            Plan::Partial(990..1000)
        );
        assert_eq!(
            plan_for(&[("range", "bytes=990-5000".into())]),
            Plan::Partial(990..1000)
        );
    }

    #[test]
    fn unsatisfiable_malformed_and_multiple_ranges() {
        assert_eq!(
            plan_for(&[("range", "bytes=1000-".into())]),
            Plan::Unsatisfiable
        );
        assert_eq!(
            plan_for(&[("range", "bytes=5000-6000".into())]),
            Plan::Unsatisfiable
        );
        assert_eq!(plan_for(&[("range", "bytes=oops".into())]), Plan::Full);
        assert_eq!(plan_for(&[("range", "bytes=0-1,5-9".into())]), Plan::Full);
    }

    #[test]
    fn revalidation() {
        assert_eq!(plan_for(&[("if-none-match", etag())]), Plan::NotModified);
        assert_eq!(
            plan_for(&[("if-none-match", format!("W/{}", etag()))]),
            Plan::NotModified
        );
        assert_eq!(
            plan_for(&[("if-none-match", "\"other\"".into())]),
            Plan::Full
        );
        assert_eq!(
            plan_for(&[("if-modified-since", date(1_700_000_000))]),
            Plan::NotModified
        );
        assert_eq!(
            plan_for(&[("if-modified-since", date(1_600_000_000))]),
            Plan::Full
        );
        // A non-matching If-None-Match wins over a matching date.
        let both = [
            ("if-none-match", "\"other\"".into()),
            ("if-modified-since", date(1_700_000_000)),
        ];
        assert_eq!(plan_for(&both), Plan::Full);
    }

    #[test]
    fn if_range_guards_the_range() {
        let range = ("range", "bytes=0-9".to_string());
        assert_eq!(
            plan_for(&[range.clone(), ("if-range", etag())]),
            Plan::Partial(0..10)
        );
        assert_eq!(
            plan_for(&[range.clone(), ("if-range", "\"stale\"".into())]),
            Plan::Full
        );
        assert_eq!(
            plan_for(&[range.clone(), ("if-range", date(1_700_000_000))]),
            Plan::Partial(0..10)
        );
        assert_eq!(
            plan_for(&[range, ("if-range", date(1_600_000_000))]),
            Plan::Full
        );
    }
}
