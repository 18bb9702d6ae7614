//! Operator endpoints, TLS, graceful shutdown and the binary's flags.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use swarmcast_protocol::tracker::{AnnounceEvent, ClientMessage, ServerMessage};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

const STARTED: Option<AnnounceEvent> = Some(AnnounceEvent::Started);

#[tokio::test]
async fn health_stats_and_metrics_report_the_swarms() {
    let tracker = start(config()).await;
    let addr = tracker.local_addr;
    let mut client = Client::connect(addr).await;
    let mut seeder = announce(1, 1, STARTED, 0);
    seeder.left = Some(Some(0.0));
    client.announce(seeder).await;
    client.announce(announce(2, 1, STARTED, 0)).await;

    assert!(http_get(addr, "/health")
        .await
        .starts_with("HTTP/1.1 200 OK"));
    let json = stats(addr).await;
    assert_eq!(
        (json["swarms"].as_u64(), json["peers"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        (json["seeders"].as_u64(), json["leechers"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(json["messages_total"]["announce"], 2);
    assert!(json["messages_per_second"]["announce"].is_number());
    let metrics = http_get(addr, "/metrics").await;
    assert!(metrics.contains("\r\n\r\n# HELP swarmcast_tracker_swarms"));
    assert!(metrics.contains("swarmcast_tracker_peers 2\n"));
    assert!(metrics.contains("swarmcast_tracker_messages_total{kind=\"announce\"} 2\n"));
    tracker.shutdown().await;
}

#[tokio::test]
async fn serves_wss_with_rustls() {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, key.cert.pem()).unwrap();
    std::fs::write(&key_path, key.signing_key.serialize_pem()).unwrap();
    let mut config = config();
    config.tls_cert = Some(cert_path);
    config.tls_key = Some(key_path);
    let tracker = start(config).await;

    let mut roots = RootCertStore::empty();
    roots.add(key.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(tracker.local_addr).await.unwrap();
    let tls = TlsConnector::from(Arc::new(client_config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (ws, _) = tokio_tungstenite::client_async("wss://localhost/", tls)
        .await
        .unwrap();
    let mut client = Client { ws };
    let reply = client.announce(announce(1, 1, STARTED, 0)).await;
    assert_eq!(reply.incomplete, 1);

    // Plain WebSocket on the TLS port is refused, the TLS client still works.
    let plain = tokio_tungstenite::connect_async(format!("ws://{}/", tracker.local_addr)).await;
    assert!(plain.is_err());
    client.announce(announce(1, 1, None, 0)).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_connections_with_going_away() {
    let tracker = start(config()).await;
    let mut client = Client::connect(tracker.local_addr).await;
    client.announce(announce(1, 1, STARTED, 0)).await;
    let closed = tokio::spawn(async move {
        loop {
            match client.ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    });
    tokio::time::timeout(PROMPT, tracker.shutdown())
        .await
        .expect("shutdown in time");
    assert_eq!(closed.await.unwrap(), Some(CloseCode::Away));
}

#[test]
fn print_config_is_valid_toml_with_comments() {
    let output = Command::new(env!("CARGO_BIN_EXE_swarmcast-tracker"))
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("# Most offers relayed per announce"));
    let table: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(table["listen"].as_str(), Some("127.0.0.1:8000"));
}

#[test]
fn binary_reads_flags_env_and_file_and_stops_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tracker.toml");
    std::fs::write(&file, "announce_interval = \"7s\"\nmax_offers = 3\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_swarmcast-tracker"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&file)
        .env("SWARMCAST_TRACKER_MAX_OFFERS", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let interval = runtime.block_on(async {
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut client = Client::connect(addr).await;
        client.announce(announce(1, 1, STARTED, 0)).await.interval
    });
    assert_eq!(interval, 7, "the file's value");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + PROMPT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "exits after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
}

/// An announce of `peer` in swarm 1 reporting its HTTP and P2P bytes.
fn reporting(peer: u8, http: f64, p2p: f64) -> String {
    let mut a = announce(1, peer, None, 0);
    a.downloaded = Some(http + p2p);
    a.p2p_downloaded = Some(p2p);
    ClientMessage::Announce(a).to_json()
}

#[tokio::test]
async fn offload_sums_reported_growth_per_swarm_and_ignores_bad_reports() {
    let mut config = config();
    config.stats_top_swarms = 1;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let (mut a, mut b) = (Client::connect(addr).await, Client::connect(addr).await);
    // Another swarm, quieter: kept out of the per-swarm lines.
    b.announce(announce(2, 9, STARTED, 0)).await;
    // First reports set each viewer's baseline.
    for (client, peer) in [(&mut a, 1), (&mut b, 2)] {
        client.send_text(reporting(peer, 1_000.0, 500.0)).await;
        client.recv().await;
    }
    let growth = [
        reporting(1, 3_000.0, 1_500.0), // +2000 HTTP, +1000 P2P
        reporting(1, 2_000.0, 9_000.0), // a decrease: ignored
        reporting(1, 1e300, 0.0),       // out of bounds: ignored
        reporting(2, 1_000.0, 2_500.0), // +2000 P2P
    ];
    for (i, text) in growth.into_iter().enumerate() {
        let client = if i < 3 { &mut a } else { &mut b };
        client.send_text(text).await;
        client.recv().await;
    }
    // Malformed counts: the announce still works, the report is dropped.
    let bad = r#"{"action":"announce","info_hash":"\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001","peer_id":"\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002\u0002","downloaded":"lots","p2p_downloaded":{"x":1}}"#;
    b.send_text(bad).await;
    assert!(matches!(b.recv().await, ServerMessage::Announce(_)));

    let json = stats(addr).await;
    let all = &json["offload"];
    assert_eq!(
        (
            all["viewers"].as_u64(),
            all["http_bytes"].as_u64(),
            all["p2p_bytes"].as_u64()
        ),
        (Some(3), Some(2_000), Some(3_000))
    );
    assert_eq!(all["p2p_ratio"].as_f64(), Some(0.6));
    let top = all["top_swarms"].as_array().unwrap();
    assert_eq!(top.len(), 1, "only the busiest swarm is listed");
    assert_eq!(top[0]["info_hash"], "01".repeat(20));
    assert_eq!(top[0]["viewers"], 2);
    let metrics = http_get(addr, "/metrics").await;
    for line in [
        "swarmcast_tracker_swarm_viewers{swarm=\"total\"} 3\n",
        "swarmcast_tracker_swarm_http_bytes_total{swarm=\"total\"} 2000\n",
        "swarmcast_tracker_swarm_p2p_ratio{swarm=\"total\"} 0.6\n",
        &format!(
            "swarmcast_tracker_swarm_p2p_bytes_total{{swarm=\"{}\"}} 3000\n",
            "01".repeat(20)
        ),
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    assert_eq!(
        metrics.matches("swarmcast_tracker_swarm_viewers{").count(),
        2
    );
    tracker.shutdown().await;
}
