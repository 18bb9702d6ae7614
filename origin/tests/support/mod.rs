//! Runs the real `swarmcast-origin` binary on a free 127.0.0.1 port for a
//! test, and kills it (with its process group, ffmpeg included) when dropped.

// Each test crate includes this module and uses a part of it.
#![allow(dead_code)]

pub mod claims;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Origin {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub addr: String,
}

impl Origin {
    /// Starts the origin with `args` after `--listen 127.0.0.1:0`; returns
    /// once it has printed its URL, i.e. once it accepts connections.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// As [`Origin::start`], with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &std::path::Path)]) -> Self {
        // In a workspace build reqwest carries the native peer's
        // `rustls-no-provider`: even plain-HTTP clients need a provider then.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut child = Command::new(env!("CARGO_BIN_EXE_swarmcast-origin"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("swarmcast-origin starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("swarmcast-origin listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        let addr = url.trim_start_matches("http://").to_string();
        Self { child, url, addr }
    }

    /// Also the id of its process group.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "origin still running {limit:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        // The whole group: the origin and any ffmpeg it started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// Sends `request` as is (no URL normalisation, unlike an HTTP client) and
/// returns the status code and the whole response text.
pub fn raw_request(addr: &str, request: &str) -> (u16, String) {
    let text = String::from_utf8_lossy(&exchange(addr, request)).to_string();
    (status_of(&text), text)
}

/// Sends `request` as is and returns the status code and the body bytes.
pub fn raw_request_bytes(addr: &str, request: &str) -> (u16, Vec<u8>) {
    let response = exchange(addr, request);
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let status = status_of(&String::from_utf8_lossy(&response[..split]));
    (status, response[split + 4..].to_vec())
}

/// The status code of a response head (0 if there is none).
fn status_of(head: &str) -> u16 {
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Writes `request` and reads until the server closes the connection.
fn exchange(addr: &str, request: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    response
}

/// `GET path` with `Connection: close`.
pub fn raw_get(addr: &str, path: &str) -> (u16, String) {
    raw_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}
