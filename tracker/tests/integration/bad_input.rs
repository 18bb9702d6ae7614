//! Bad input either gets a failure reason or closes that one connection;
//! the tracker keeps serving everyone else.

use futures_util::SinkExt;
use swarmcast_protocol::tracker::{AnnounceEvent, AnswerRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

const STARTED: Option<AnnounceEvent> = Some(AnnounceEvent::Started);
const IH: &str = "aaaaaaaaaaaaaaaaaaaa";
const PID: &str = "bbbbbbbbbbbbbbbbbbbb";

#[tokio::test]
async fn non_json_text_closes_the_connection() {
    let tracker = start(config()).await;
    let mut client = Client::connect(tracker.local_addr).await;
    client.send_text("hello tracker").await;
    assert!(client.is_closed().await);
    assert_served(tracker.local_addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn binary_frames_close_the_connection() {
    let tracker = start(config()).await;
    let mut client = Client::connect(tracker.local_addr).await;
    client
        .ws
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert!(client.is_closed().await);
    assert_served(tracker.local_addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn invalid_requests_get_a_failure_reason_and_keep_the_connection() {
    let tracker = start(config()).await;
    let mut client = Client::connect(tracker.local_addr).await;
    let cases = [
        // Wrong field types.
        format!(r#"{{"action":"announce","info_hash":"{IH}","peer_id":"{PID}","numwant":"five"}}"#),
        format!(r#"{{"action":"announce","info_hash":"{IH}","peer_id":"{PID}","offers":{{}}}}"#),
        format!(
            r#"{{"action":"announce","info_hash":"{IH}","peer_id":"{PID}","offers":[{{"offer":"sdp","offer_id":"{IH}"}}]}}"#
        ),
        format!(r#"{{"action":"announce","info_hash":5,"peer_id":"{PID}"}}"#),
        // Ids that are not 20 latin1 bytes.
        format!(r#"{{"action":"announce","info_hash":"short","peer_id":"{PID}"}}"#),
        format!(r#"{{"action":"announce","info_hash":"{IH}","peer_id":"{PID}b"}}"#),
        format!(
            r#"{{"action":"announce","info_hash":"{}€","peer_id":"{PID}"}}"#,
            &IH[..19]
        ),
        format!(r#"{{"action":"scrape","info_hash":["{IH}","tiny"]}}"#),
        // Missing or unknown fields and values.
        format!(r#"{{"action":"announce","info_hash":"{IH}"}}"#),
        format!(
            r#"{{"action":"announce","info_hash":"{IH}","peer_id":"{PID}","event":"exploded"}}"#
        ),
        format!(
            r#"{{"action":"announce","info_hash":"{IH}","peer_id":"{PID}","answer":{{"type":"answer","sdp":""}}}}"#
        ),
        r#"{"action":"dance"}"#.to_string(),
        r#"{"no":"action"}"#.to_string(),
        "[]".to_string(),
        "42".to_string(),
    ];
    for case in cases {
        client.send_text(case.clone()).await;
        let reason = client.failure().await;
        assert!(!reason.is_empty(), "{case}");
    }
    // The same connection is still served.
    client.announce(announce(1, 1, STARTED, 0)).await;
    assert_served(tracker.local_addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn a_client_sending_only_invalid_requests_is_closed() {
    let tracker = start(config()).await;
    let mut client = Client::connect(tracker.local_addr).await;
    for _ in 0..40 {
        client.send_text(r#"{"action":"dance"}"#).await;
    }
    let mut failures = 0;
    while !client.is_closed_after_text().await {
        failures += 1;
    }
    assert_eq!(failures, 32, "failure replies before the close");
    assert_served(tracker.local_addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn answers_to_unknown_peers_get_a_failure_reason() {
    let tracker = start(config()).await;
    let mut client = Client::connect(tracker.local_addr).await;
    client.announce(announce(1, 1, STARTED, 0)).await;
    let mut answer = announce(1, 1, None, 0);
    answer.answer = Some(AnswerRequest {
        answer: sdp("answer", "v=0"),
        to_peer_id: id(77),
        offer_id: id(78),
    });
    client.send_announce(answer).await;
    assert!(client.failure().await.contains("not in this swarm"));
    client.announce(announce(1, 1, None, 0)).await;
    assert_served(tracker.local_addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn garbage_instead_of_http_closes_the_connection() {
    let tracker = start(config()).await;
    for garbage in [
        &b"\x16\x03\x01\x00\x00garbage\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    ] {
        let mut tcp = TcpStream::connect(tracker.local_addr).await.unwrap();
        tcp.write_all(garbage).await.unwrap();
        let mut out = Vec::new();
        let read = tokio::time::timeout(PROMPT, tcp.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "closed promptly");
    }
    let not_found = http_get(tracker.local_addr, "/nothing").await;
    assert!(not_found.starts_with("HTTP/1.1 404"));
    assert_served(tracker.local_addr).await;
    tracker.shutdown().await;
}
