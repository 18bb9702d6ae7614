//! Peers leave on stopped, on disconnect and on expiry; counts follow.

use std::time::Duration;

use swarmcast_protocol::tracker::AnnounceEvent;

use crate::common::*;

const STARTED: Option<AnnounceEvent> = Some(AnnounceEvent::Started);

#[tokio::test]
async fn stopped_removes_the_peer() {
    let tracker = start(config()).await;
    let addr = tracker.local_addr;
    let mut a = Client::connect(addr).await;
    a.announce(announce(1, 1, STARTED, 0)).await;
    let mut b = Client::connect(addr).await;
    b.announce(announce(1, 2, STARTED, 0)).await;
    assert_eq!(counts(addr, 1).await, (0, 2));
    let reply = a
        .announce(announce(1, 1, Some(AnnounceEvent::Stopped), 0))
        .await;
    assert_eq!((reply.complete, reply.incomplete), (0, 1));
    // The stopped peer no longer receives offers.
    b.announce(announce(1, 2, None, 3)).await;
    assert!(a.is_quiet().await);
    tracker.shutdown().await;
}

#[tokio::test]
async fn disconnect_removes_the_peer_from_all_its_swarms() {
    let tracker = start(config()).await;
    let addr = tracker.local_addr;
    let mut a = Client::connect(addr).await;
    a.announce(announce(1, 1, STARTED, 0)).await;
    a.announce(announce(2, 1, STARTED, 0)).await;
    assert_eq!(counts(addr, 2).await, (0, 1));
    drop(a);
    tokio::time::sleep(QUIET).await;
    assert_eq!(counts(addr, 1).await, (0, 0));
    assert_eq!(counts(addr, 2).await, (0, 0));
    tracker.shutdown().await;
}

#[tokio::test]
async fn silent_peers_expire_and_empty_swarms_are_forgotten() {
    let mut config = config();
    config.peer_timeout = Duration::from_millis(200);
    config.swarm_timeout = Duration::ZERO;
    config.cleanup_interval = Duration::from_millis(50);
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let mut a = Client::connect(addr).await;
    a.announce(announce(1, 1, STARTED, 0)).await;
    let mut b = Client::connect(addr).await;
    b.announce(announce(1, 2, STARTED, 0)).await;
    // b keeps announcing, a stays silent.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.announce(announce(1, 2, None, 0)).await;
    }
    assert_eq!(counts(addr, 1).await, (0, 1), "a expired, b is still there");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(stats(addr).await["swarms"], 0, "the emptied swarm is gone");
    tracker.shutdown().await;
}

#[tokio::test]
async fn scrape_counts_seeders_leechers_and_downloads() {
    let mut config = config();
    config.allow_full_scrape = true;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let mut peers = Vec::new();
    for (swarm, peer) in [(1, 1), (1, 2), (1, 3), (2, 4)] {
        let mut client = Client::connect(addr).await;
        let mut request = announce(swarm, peer, STARTED, 0);
        if peer == 1 {
            request.left = Some(Some(0.0));
        }
        client.announce(request).await;
        peers.push(client);
    }
    let mut done = announce(1, 2, Some(AnnounceEvent::Completed), 0);
    done.left = Some(Some(0.0));
    let reply = peers[1].announce(done).await;
    assert_eq!((reply.complete, reply.incomplete), (2, 1));

    let mut b = Client::connect(addr).await;
    let [one, two, unknown] = b.scrape(&[1, 2, 3]).await[..] else {
        panic!("three entries");
    };
    assert_eq!((one.complete, one.incomplete, one.downloaded), (2, 1, 1));
    assert_eq!((two.complete, two.incomplete), (0, 1));
    assert_eq!((unknown.complete, unknown.incomplete), (0, 0));
    // Full scrape lists every swarm.
    b.send_text(r#"{"action":"scrape"}"#).await;
    let swarmcast_protocol::tracker::ServerMessage::Scrape(all) = b.recv().await else {
        panic!("expected a scrape reply");
    };
    assert_eq!(all.files.len(), 2);
    tracker.shutdown().await;
}

#[tokio::test]
async fn full_scrape_can_be_disabled() {
    let tracker = start(config()).await;
    let mut client = Client::connect(tracker.local_addr).await;
    client.send_text(r#"{"action":"scrape"}"#).await;
    assert!(client.failure().await.contains("full scrape"));
    assert_eq!(
        client.scrape(&[1]).await[0].incomplete,
        0,
        "targeted scrapes still work"
    );
    tracker.shutdown().await;
}
