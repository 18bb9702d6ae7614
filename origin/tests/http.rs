//! HTTP semantics of the origin over a real socket: MIME types, cache
//! headers, CORS, byte ranges, validators, HEAD, traversal, mounts, and the
//! built-in endpoints. Each test runs its own origin on a fixture tree.

mod support;

use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use support::{raw_get, raw_request, Origin};

/// A segment of 1000 bytes whose byte `i` is `i % 251`.
fn segment_bytes() -> Vec<u8> {
    (0..1000u32).map(|i| (i % 251) as u8).collect()
}

/// `root/` (an HLS tree), `demo/`, `dist/`, and `secret.txt` beside them.
fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let write = |rel: &str, data: &[u8]| {
        let path = tmp.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    };
    write(
        "root/master.m3u8",
        b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow/stream.m3u8\n",
    );
    write(
        "root/low/stream.m3u8",
        b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg_00001.ts\n",
    );
    write("root/low/seg_00001.ts", &segment_bytes());
    write("root/low/seg_00001.m4s", b"moof");
    write("root/low/init.mp4", b"ftyp");
    write("root/low/audio.aac", b"aac");
    write("root/low/sub.vtt", b"WEBVTT\n");
    write("root/low/k.key", b"0123456789abcdef");
    write("demo/index.html", b"<!doctype html><title>demo</title>");
    write("dist/swarmcast.js", b"export {}");
    write("dist/swarmcast_loader_bg.wasm", b"\0asm\x01\0\0\0");
    write("dist/swarmcast.d.ts", b"export {};");
    write("dist/package.json", b"{}");
    write("dist/style.css", b"body{}");
    write("dist/logo.png", b"\x89PNG");
    write("secret.txt", b"TOP SECRET");
    tmp
}

fn start(fixture: &Path, extra: &[&str]) -> Origin {
    let dir = |d: &str| fixture.join(d).display().to_string();
    let (root, demo, dist) = (dir("root"), dir("demo"), dir("dist"));
    let mut args = vec!["--root", &root, "--root-prefix", "/hls"];
    let (m1, m2) = (format!("/={demo}"), format!("/dist={dist}"));
    args.extend(["--mount", &m1, "--mount", &m2]);
    args.extend(extra);
    Origin::start(&args)
}

async fn get(
    origin: &Origin,
    path: &str,
    headers: &[(&'static str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    request(origin, Method::GET, path, headers).await
}

async fn request(
    origin: &Origin,
    method: Method,
    path: &str,
    headers: &[(&'static str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Client::new().request(method, format!("{}{path}", origin.url));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn h<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

#[tokio::test]
async fn mime_types_and_cache_headers_by_kind() {
    let tmp = fixture();
    let origin = start(tmp.path(), &[]);
    let cases = [
        (
            "/hls/master.m3u8",
            "application/vnd.apple.mpegurl",
            "no-cache",
        ),
        (
            "/hls/low/stream.m3u8",
            "application/vnd.apple.mpegurl",
            "no-cache",
        ),
        (
            "/hls/low/seg_00001.ts",
            "video/mp2t",
            "public, max-age=31536000, immutable",
        ),
        (
            "/hls/low/seg_00001.m4s",
            "video/iso.segment",
            "public, max-age=31536000, immutable",
        ),
        (
            "/hls/low/init.mp4",
            "video/mp4",
            "public, max-age=31536000, immutable",
        ),
        (
            "/hls/low/audio.aac",
            "audio/aac",
            "public, max-age=31536000, immutable",
        ),
        (
            "/hls/low/sub.vtt",
            "text/vtt; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            "/hls/low/k.key",
            "application/octet-stream",
            "public, max-age=31536000, immutable",
        ),
        (
            "/dist/swarmcast.js",
            "text/javascript; charset=utf-8",
            "no-cache",
        ),
        (
            "/dist/swarmcast_loader_bg.wasm",
            "application/wasm",
            "no-cache",
        ),
        (
            "/dist/swarmcast.d.ts",
            "application/typescript; charset=utf-8",
            "no-cache",
        ),
        (
            "/dist/package.json",
            "application/json; charset=utf-8",
            "no-cache",
        ),
        ("/dist/style.css", "text/css; charset=utf-8", "no-cache"),
        ("/dist/logo.png", "image/png", "no-cache"),
        ("/", "text/html; charset=utf-8", "no-cache"),
    ];
    for (path, mime, cache) in cases {
        let (status, headers, _) = get(&origin, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(h(&headers, "content-type"), mime, "{path}");
        assert_eq!(h(&headers, "cache-control"), cache, "{path}");
        assert_eq!(h(&headers, "accept-ranges"), "bytes", "{path}");
    }
    let (_, _, body) = get(&origin, "/", &[]).await;
    assert_eq!(
        body, b"<!doctype html><title>demo</title>",
        "/ serves demo/index.html"
    );
    let (status, ..) = get(&origin, "/hls/low/missing.ts", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn byte_ranges_give_206_or_416() {
    let tmp = fixture();
    let origin = start(tmp.path(), &[]);
    let seg = segment_bytes();
    let path = "/hls/low/seg_00001.ts";

    let (status, headers, body) = get(&origin, path, &[("range", "bytes=100-199")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(h(&headers, "content-range"), "bytes 100-199/1000");
    assert_eq!(h(&headers, "content-length"), "100");
    assert_eq!(body, seg[100..200]);

    let (status, headers, body) = get(&origin, path, &[("range", "bytes=-10")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(h(&headers, "content-range"), "bytes 990-999/1000");
    assert_eq!(body, seg[990..]);

    let (status, headers, body) = get(&origin, path, &[("range", "bytes=900-")]).await;
    assert_eq!(
        (status, h(&headers, "content-range")),
        (StatusCode::PARTIAL_CONTENT, "bytes 900-999/1000")
    );
    assert_eq!(body.len(), 100);

    let (status, headers, body) = get(&origin, path, &[("range", "bytes=1000-1100")]).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(h(&headers, "content-range"), "bytes */1000");
    assert!(body.is_empty());

    // Several ranges: answered in full rather than as multipart.
    let (status, _, body) = get(&origin, path, &[("range", "bytes=0-1,10-11")]).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 1000));
}

#[tokio::test]
async fn validators_give_304_and_guard_ranges() {
    let tmp = fixture();
    let origin = start(tmp.path(), &[]);
    let path = "/hls/low/stream.m3u8";
    let (status, headers, _) = get(&origin, path, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let etag = h(&headers, "etag").to_string();
    let last_modified = h(&headers, "last-modified").to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );

    let (status, headers, body) = get(&origin, path, &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(h(&headers, "etag"), etag);
    assert_eq!(h(&headers, "access-control-allow-origin"), "*");
    let (status, ..) = get(&origin, path, &[("if-modified-since", &last_modified)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);

    // If-Range: the range only if the client's copy is still current.
    let (status, _, body) = get(
        &origin,
        path,
        &[("range", "bytes=0-6"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &b"#EXTM3U"[..])
    );
    let (status, ..) = get(
        &origin,
        path,
        &[("range", "bytes=0-6"), ("if-range", "\"stale\"")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A rewritten playlist (as in a live stream) has a new ETag.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        tmp.path().join("root/low/stream.m3u8"),
        "#EXTM3U\n#EXT-X-ENDLIST\n",
    )
    .unwrap();
    let (status, headers, _) = get(&origin, path, &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(h(&headers, "etag"), etag);
    let (status, ..) = get(
        &origin,
        path,
        &[("range", "bytes=0-6"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a stale If-Range gets the whole new file"
    );
}

#[tokio::test]
async fn head_has_get_headers_and_no_body() {
    let tmp = fixture();
    let origin = start(tmp.path(), &[]);
    let path = "/hls/low/seg_00001.ts";
    let (_, get_headers, _) = get(&origin, path, &[]).await;
    let (status, headers, body) = request(&origin, Method::HEAD, path, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    for name in [
        "content-length",
        "content-type",
        "etag",
        "last-modified",
        "cache-control",
        "accept-ranges",
    ] {
        assert_eq!(h(&headers, name), h(&get_headers, name), "{name}");
    }
    assert_eq!(h(&headers, "content-length"), "1000");
    let (status, headers, _) =
        request(&origin, Method::HEAD, path, &[("range", "bytes=0-9")]).await;
    assert_eq!(
        (status, h(&headers, "content-length")),
        (StatusCode::PARTIAL_CONTENT, "10")
    );
}

#[tokio::test]
async fn cors_allows_any_origin_by_default() {
    let tmp = fixture();
    let origin = start(tmp.path(), &[]);
    let page = [("origin", "https://player.example")];
    let (_, headers, _) = get(&origin, "/hls/low/seg_00001.ts", &page).await;
    assert_eq!(h(&headers, "access-control-allow-origin"), "*");
    let exposed = h(&headers, "access-control-expose-headers");
    for name in ["Content-Length", "Content-Range", "Accept-Ranges"] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }

    let preflight = [
        ("origin", "https://player.example"),
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "range, if-none-match"),
    ];
    let (status, headers, _) = request(
        &origin,
        Method::OPTIONS,
        "/hls/low/seg_00001.ts",
        &preflight,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h(&headers, "access-control-allow-origin"), "*");
    assert!(h(&headers, "access-control-allow-methods").contains("GET"));
    assert_eq!(
        h(&headers, "access-control-allow-headers"),
        "range, if-none-match"
    );
    assert!(
        h(&headers, "access-control-max-age")
            .parse::<u32>()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn cors_restricted_to_configured_origins() {
    let tmp = fixture();
    let origin = start(
        tmp.path(),
        &["--cors-origin", "https://a.example,https://b.example"],
    );
    let (_, headers, _) = get(
        &origin,
        "/hls/master.m3u8",
        &[("origin", "https://b.example")],
    )
    .await;
    assert_eq!(
        h(&headers, "access-control-allow-origin"),
        "https://b.example"
    );
    assert_eq!(h(&headers, "vary"), "Origin");

    let (status, headers, _) = get(
        &origin,
        "/hls/master.m3u8",
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "served, but the browser will not expose it"
    );
    assert!(headers.get("access-control-allow-origin").is_none());

    let preflight = [
        ("origin", "https://evil.example"),
        ("access-control-request-method", "GET"),
    ];
    let (status, ..) = request(&origin, Method::OPTIONS, "/hls/master.m3u8", &preflight).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn path_traversal_is_refused() {
    let tmp = fixture();
    let origin = start(tmp.path(), &[]);
    for path in [
        "/hls/../secret.txt",
        "/hls/low/../../secret.txt",
        "/hls/%2e%2e/secret.txt",
        "/hls/%2E%2E/%2e%2e/secret.txt",
        "/hls/..%2fsecret.txt",
        "/hls/..%5csecret.txt",
        "/dist/..%2f..%2fsecret.txt",
        "/../secret.txt",
    ] {
        let (status, text) = raw_get(&origin.addr, path);
        assert!(status == 400 || status == 404, "{path}: {status}");
        assert!(!text.contains("TOP SECRET"), "{path} leaked the file");
    }
    let (status, _) = raw_get(&origin.addr, "/hls/low/seg_00001.ts");
    assert_eq!(status, 200, "the raw client works");
}

#[tokio::test]
async fn endpoints_methods_and_shutdown() {
    let tmp = fixture();
    let mut origin = start(tmp.path(), &[]);
    let (status, _, body) = get(&origin, "/health", &[]).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"ok\n"[..]));

    get(&origin, "/hls/low/seg_00001.ts", &[]).await;
    get(&origin, "/hls/low/seg_00001.ts", &[("range", "bytes=0-99")]).await;
    get(&origin, "/hls/nope.ts", &[]).await;
    let (status, _, _) = request(&origin, Method::POST, "/hls/master.m3u8", &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let (status, headers, body) = get(&origin, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(h(&headers, "content-type").starts_with("application/openmetrics-text"));
    let text = String::from_utf8(body).unwrap();
    for line in [
        r#"swarmcast_origin_requests_total{kind="segment",status="200"} 1"#,
        r#"swarmcast_origin_requests_total{kind="segment",status="206"} 1"#,
        r#"swarmcast_origin_requests_total{kind="segment",status="404"} 1"#,
        r#"swarmcast_origin_requests_total{kind="endpoint",status="405"} 1"#,
        r#"swarmcast_origin_response_bytes_total{kind="segment"} 1110"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }

    // Keep-alive connections do not hold up a SIGTERM.
    let (status, _) = raw_request(
        &origin.addr,
        &format!(
            "GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            origin.addr
        ),
    );
    assert_eq!(status, 200);
    let idle = std::net::TcpStream::connect(&origin.addr).unwrap();
    let exit = origin.terminate(Duration::from_secs(5));
    assert!(exit.success(), "{exit}");
    drop(idle);
}
