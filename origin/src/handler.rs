//! One HTTP request to one response: routing between the built-in
//! endpoints, CORS preflight and the mounted folders; the response headers
//! of each file plan; and the access log and metrics of every exchange.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use headers::{ContentRange, HeaderMapExt};
use tracing::Level;
use warp::http::header::{
    ACCEPT_RANGES, ACCESS_CONTROL_REQUEST_METHOD, ALLOW, CACHE_CONTROL, CONTENT_LENGTH,
    CONTENT_TYPE, ETAG, LAST_MODIFIED, ORIGIN,
};
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode};
use warp::hyper::body::Body as _;
use warp::reply::Response;

use crate::conditional::Plan;
use crate::cors::Cors;
use crate::files::{Files, Loaded};
use crate::media::{classify, Kind};
use crate::metrics::Metrics;
use crate::mounts::{Mounts, Refusal};
use crate::publish::Publisher;

/// Everything a request handler reads, shared by all connections.
pub struct App {
    pub mounts: Arc<Mounts>,
    pub cors: Cors,
    pub files: Files,
    pub publisher: Publisher,
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
    // Reading the clock is a syscall on some VMs: only when logging.
    let started = tracing::enabled!(target: "access", Level::INFO).then(Instant::now);
    let (kind, mut response) = route(app, &method, path, &headers).await;
    if method != Method::OPTIONS {
        app.cors.decorate(&headers, response.headers_mut());
    }
    let status = response.status().as_u16();
    let bytes = response.body().size_hint().exact().unwrap_or(0);
    app.metrics.record(kind, status, bytes);
    if let Some(started) = started {
        tracing::info!(
            target: "access",
            remote = %remote.map(|r| r.to_string()).unwrap_or_default(),
            %method,
            path,
            status,
            bytes,
            micros = started.elapsed().as_micros() as u64,
        );
    }
    response
}

/// The response and its metrics kind.
async fn route(
    app: &App,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> (&'static str, Response) {
    if method == Method::OPTIONS {
        return ("endpoint", preflight(&app.cors, headers));
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
    let with_body = method == Method::GET;
    // Classified here only for digest mounts: a cached version knows its kind.
    let loaded = if file.digests && classify(&file.path).0 == Kind::Playlist {
        let publisher = &app.publisher;
        publisher
            .load(&app.files, path, &file.path, headers, with_body)
            .await
    } else {
        app.files.load(&file.path, headers, with_body).await
    };
    match loaded {
        Ok(Some(loaded)) => (loaded.version.kind.as_str(), file_response(loaded)),
        Ok(None) => (
            classify(&file.path).0.as_str(),
            text(StatusCode::NOT_FOUND, "not found\n"),
        ),
        Err(e) => {
            tracing::error!(path, "reading file: {e}");
            (
                classify(&file.path).0.as_str(),
                text(StatusCode::INTERNAL_SERVER_ERROR, "read error\n"),
            )
        }
    }
}

fn file_response(loaded: Loaded) -> Response {
    let v = &loaded.version;
    let len = v.validators.len;
    let status = match &loaded.plan {
        Plan::NotModified => StatusCode::NOT_MODIFIED,
        Plan::Full => StatusCode::OK,
        Plan::Partial(_) => StatusCode::PARTIAL_CONTENT,
        Plan::Unsatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
    };
    let mut response = Response::new(loaded.body.into());
    *response.status_mut() = status;
    // Room for these and the CORS headers, so the map is allocated once.
    *response.headers_mut() = HeaderMap::with_capacity(12);
    let h = response.headers_mut();
    h.insert(ETAG, v.etag.clone());
    h.insert(LAST_MODIFIED, v.last_modified.clone());
    h.insert(CACHE_CONTROL, v.cache_control.clone());
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status != StatusCode::NOT_MODIFIED {
        h.insert(CONTENT_TYPE, v.content_type.clone());
    }
    // Set explicitly so HEAD reports the length a GET would send.
    match &loaded.plan {
        Plan::NotModified => {}
        Plan::Full => {
            h.insert(CONTENT_LENGTH, v.content_length.clone());
        }
        Plan::Partial(r) => {
            h.typed_insert(ContentRange::bytes(r.clone(), len).expect("range within file"));
            h.insert(CONTENT_LENGTH, HeaderValue::from(r.end - r.start));
        }
        Plan::Unsatisfiable => {
            h.typed_insert(ContentRange::unsatisfied_bytes(len));
            h.insert(CONTENT_LENGTH, HeaderValue::from(0));
        }
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
