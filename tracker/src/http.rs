//! The opening HTTP/1.1 request of every connection: a WebSocket upgrade for
//! clients, or a plain GET of an operator endpoint on the same port.
//!
//! Only the request head is read (with httparse); bytes after it belong to the
//! WebSocket and are handed on.

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Longest request head accepted; browsers send well under 2 KiB.
const MAX_HEAD: usize = 8 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// A WebSocket upgrade: the accept key to send and any bytes read past the head.
    Upgrade {
        accept: String,
        leftover: Vec<u8>,
    },
    Health,
    Stats,
    Metrics,
    NotFound,
}

#[derive(Debug, Error)]
pub enum HeadError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("connection closed before a request")]
    Closed,
    #[error("request head over {MAX_HEAD} bytes")]
    TooLarge,
    #[error("malformed request: {0}")]
    Malformed(#[from] httparse::Error),
}

/// Reads and classifies one request head.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Request, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(HeadError::Closed);
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf)? {
            httparse::Status::Complete(len) => return Ok(classify(&req, buf[len..].to_vec())),
            httparse::Status::Partial if buf.len() >= MAX_HEAD => return Err(HeadError::TooLarge),
            httparse::Status::Partial => {}
        }
    }
}

fn classify(req: &httparse::Request<'_, '_>, leftover: Vec<u8>) -> Request {
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    let is_upgrade = header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case(b"websocket"));
    if let (true, Some(key)) = (is_upgrade, header("sec-websocket-key")) {
        return Request::Upgrade {
            accept: derive_accept_key(key),
            leftover,
        };
    }
    let path = req.path.unwrap_or("/").split('?').next().unwrap_or("/");
    match (req.method, path) {
        (Some("GET"), "/health") => Request::Health,
        (Some("GET"), "/stats.json") => Request::Stats,
        (Some("GET"), "/metrics") => Request::Metrics,
        _ => Request::NotFound,
    }
}

/// Completes the WebSocket handshake.
pub async fn accept_upgrade<S: AsyncWrite + Unpin>(
    stream: &mut S,
    accept: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await
}

/// Writes a complete response and leaves the connection to be closed.
pub async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(text: &[u8]) -> Result<Request, HeadError> {
        let mut input = text;
        read_request(&mut input).await
    }

    #[tokio::test]
    async fn routes_endpoints_and_upgrades() {
        assert_eq!(
            parse(b"GET /health HTTP/1.1\r\n\r\n").await.unwrap(),
            Request::Health
        );
        assert_eq!(
            parse(b"GET /metrics?x HTTP/1.1\r\n\r\n").await.unwrap(),
            Request::Metrics
        );
        assert_eq!(
            parse(b"POST /stats.json HTTP/1.1\r\n\r\n").await.unwrap(),
            Request::NotFound
        );
        let upgrade = b"GET /announce HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nxyz";
        assert_eq!(
            parse(upgrade).await.unwrap(),
            Request::Upgrade {
                accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into(),
                leftover: b"xyz".to_vec()
            }
        );
    }

    #[tokio::test]
    async fn rejects_truncated_oversized_and_garbage_heads() {
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\n").await,
            Err(HeadError::Closed)
        ));
        let huge = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; MAX_HEAD]].concat();
        assert!(matches!(parse(&huge).await, Err(HeadError::TooLarge)));
        assert!(matches!(
            parse(b"\x16\x03\x01garbage\r\n\r\n").await,
            Err(HeadError::Malformed(_))
        ));
    }
}
