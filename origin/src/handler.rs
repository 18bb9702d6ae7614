//! One HTTP request to one response: routing between the built-in
//! endpoints, CORS preflight and the mounted folders; the response headers
//! of each file plan; and the access log and metrics of every exchange.

use std::net::SocketAddr;
use std::time::Instant;

use headers::{AcceptRanges, ContentRange, HeaderMapExt};
use warp::http::header::{
    ACCESS_CONTROL_REQUEST_METHOD, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ORIGIN,
};
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode};
use warp::hyper::body::Body as _;
use warp::reply::Response;

use crate::conditional::Plan;
use crate::cors::Cors;
use crate::files::{self, Loaded};
use crate::media::classify;
use crate::metrics::Metrics;
use crate::mounts::{Mounts, Refusal};

/// Everything a request handler reads, shared by all connections.
pub struct App {
    pub mounts: Mounts,
    pub cors: Cors,
    pub metrics: Metrics,
}

const HEALTH: &str = "/health";
const METRICS: &str = "/metrics";
const ALLOWED: &str = "GET, HEAD, OPTIONS";

pub async fn handle(
    app: &App,
    method: Method,
    path: &str,
    headers: HeaderMap,
    remote: Option<SocketAddr>,
) -> Response {
    let started = Instant::now();
    let (kind, mut response) = route(app, &method, path, headers.clone()).await;
    if method != Method::OPTIONS {
        app.cors.decorate(&headers, response.headers_mut());
    }
    let status = response.status().as_u16();
    let bytes = response.body().size_hint().exact().unwrap_or(0);
    app.metrics.record(kind, status, bytes);
    tracing::info!(
        target: "access",
        remote = %remote.map(|r| r.to_string()).unwrap_or_default(),
        %method,
        path,
        status,
        bytes,
        micros = started.elapsed().as_micros() as u64,
    );
    response
}

/// The response and its metrics kind.
async fn route(
    app: &App,
    method: &Method,
    path: &str,
    headers: HeaderMap,
) -> (&'static str, Response) {
    if method == Method::OPTIONS {
        return ("endpoint", preflight(&app.cors, &headers));
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(ALLOWED));
        return ("endpoint", r);
    }
    match path {
        HEALTH => return ("endpoint", text(StatusCode::OK, "ok\n")),
        METRICS => {
            let mut r = Response::new(app.metrics.render().into());
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            return ("endpoint", r);
        }
        _ => {}
    }
    let file = match app.mounts.resolve(path) {
        Ok(file) => file,
        Err(Refusal::Traversal) => {
            tracing::warn!(path, "refused path traversal");
            return ("other", text(StatusCode::BAD_REQUEST, "bad path\n"));
        }
        Err(Refusal::NotMounted) => return ("other", text(StatusCode::NOT_FOUND, "not found\n")),
    };
    let kind = classify(&file).0;
    match files::load(file, headers, method == Method::GET).await {
        Ok(Some(loaded)) => {
            let (kind, mime) = classify(&loaded.path);
            (
                kind.as_str(),
                file_response(loaded, kind.cache_control(), &mime),
            )
        }
        Ok(None) => (kind.as_str(), text(StatusCode::NOT_FOUND, "not found\n")),
        Err(e) => {
            tracing::error!(path, "reading file: {e}");
            (
                kind.as_str(),
                text(StatusCode::INTERNAL_SERVER_ERROR, "read error\n"),
            )
        }
    }
}

fn file_response(loaded: Loaded, cache_control: &'static str, mime: &str) -> Response {
    let v = &loaded.validators;
    let (status, length) = match &loaded.plan {
        Plan::NotModified => (StatusCode::NOT_MODIFIED, None),
        Plan::Full => (StatusCode::OK, Some(v.len)),
        Plan::Partial(r) => (StatusCode::PARTIAL_CONTENT, Some(r.end - r.start)),
        Plan::Unsatisfiable => (StatusCode::RANGE_NOT_SATISFIABLE, Some(0)),
    };
    let mut response = Response::new(loaded.body.into());
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.typed_insert(v.etag.clone());
    h.typed_insert(v.last_modified);
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
    h.typed_insert(AcceptRanges::bytes());
    if status != StatusCode::NOT_MODIFIED {
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(mime).expect("MIME types are ASCII"),
        );
    }
    match &loaded.plan {
        Plan::Partial(r) => {
            h.typed_insert(ContentRange::bytes(r.clone(), v.len).expect("range within file"))
        }
        Plan::Unsatisfiable => h.typed_insert(ContentRange::unsatisfied_bytes(v.len)),
        _ => {}
    }
    // Set explicitly so HEAD reports the length a GET would send.
    if let Some(len) = length {
        h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    response
}

fn preflight(cors: &Cors, headers: &HeaderMap) -> Response {
    let is_preflight =
        headers.contains_key(ORIGIN) && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if !is_preflight {
        let mut r = Response::new(Default::default());
        *r.status_mut() = StatusCode::NO_CONTENT;
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(ALLOWED));
        return r;
    }
    match cors.preflight(headers) {
        Some(allowed) => {
            let mut r = Response::new(Default::default());
            *r.status_mut() = StatusCode::NO_CONTENT;
            *r.headers_mut() = allowed;
            r
        }
        None => text(StatusCode::FORBIDDEN, "origin not allowed\n"),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
