//! CORS for a read-only media origin: players on other sites may fetch
//! playlists and segments, with or without Range, and read the headers that
//! byte-range and P2P loaders need.
//!
//! Hand-written rather than warp's filter: warp echoes the request origin
//! without `Vary: Origin` (unsafe behind a shared cache) and refuses any
//! request header not listed in advance, while here `*` must stay `*` so
//! CDNs can cache one copy, and any request header is harmless.

use warp::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ORIGIN,
    VARY,
};
use warp::http::{HeaderMap, HeaderValue};

const EXPOSED: &str = "Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified";
const METHODS: &str = "GET, HEAD, OPTIONS";
/// Browsers cap this (Chromium at 2 h); a day asks for the most they allow.
const MAX_AGE: &str = "86400";

#[derive(Debug, Clone)]
pub enum Cors {
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Only these origins, each echoed back with `Vary: Origin`.
    List(Vec<HeaderValue>),
}

impl Cors {
    /// From `--cors-origin` values; `*` anywhere allows every origin.
    pub fn from_origins(origins: &[String]) -> Result<Self, String> {
        if origins.is_empty() || origins.iter().any(|o| o == "*") {
            return Ok(Self::Any);
        }
        origins
            .iter()
            .map(|o| {
                let o = o.trim_end_matches('/');
                HeaderValue::from_str(o).map_err(|_| format!("`{o}` is not a valid origin"))
            })
            .collect::<Result<_, _>>()
            .map(Self::List)
    }

    /// The `Access-Control-Allow-Origin` value for this request, if allowed.
    fn allow_origin(&self, request: &HeaderMap) -> Option<HeaderValue> {
        match self {
            Self::Any => Some(HeaderValue::from_static("*")),
            Self::List(allowed) => request.get(ORIGIN).filter(|o| allowed.contains(o)).cloned(),
        }
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn decorate(&self, request: &HeaderMap, response: &mut HeaderMap) {
        if let Self::List(_) = self {
            response.append(VARY, HeaderValue::from_static("Origin"));
        }
        if let Some(origin) = self.allow_origin(request) {
            response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            response.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED),
            );
        }
    }

    /// Headers answering a preflight, or `None` if the origin is not allowed.
    pub fn preflight(&self, request: &HeaderMap) -> Option<HeaderMap> {
        let origin = self.allow_origin(request)?;
        let mut h = HeaderMap::new();
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(METHODS),
        );
        if let Some(asked) = request.get(ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        if let Self::List(_) = self {
            h.insert(VARY, HeaderValue::from_static("Origin"));
        }
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ORIGIN, origin.parse().unwrap());
        h.insert(ACCESS_CONTROL_REQUEST_HEADERS, "range".parse().unwrap());
        h
    }

    #[test]
    fn any_origin_is_a_cacheable_star() {
        let cors = Cors::from_origins(&["*".into()]).unwrap();
        let mut out = HeaderMap::new();
        cors.decorate(&request("https://a.example"), &mut out);
        assert_eq!(out[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(out[ACCESS_CONTROL_EXPOSE_HEADERS]
            .to_str()
            .unwrap()
            .contains("Content-Range"));
        assert!(out.get(VARY).is_none());
        let pre = cors.preflight(&request("https://a.example")).unwrap();
        assert_eq!(pre[ACCESS_CONTROL_ALLOW_HEADERS], "range");
    }

    #[test]
    fn listed_origins_are_echoed_and_others_refused() {
        let cors = Cors::from_origins(&["https://a.example/".into()]).unwrap();
        let mut out = HeaderMap::new();
        cors.decorate(&request("https://a.example"), &mut out);
        assert_eq!(out[ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(out[VARY], "Origin");

        let mut out = HeaderMap::new();
        cors.decorate(&request("https://evil.example"), &mut out);
        assert!(out.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert!(cors.preflight(&request("https://evil.example")).is_none());
    }
}
