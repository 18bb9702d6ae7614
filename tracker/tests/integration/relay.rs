//! Offers reach distinct other peers, answers reach the offerer.

use std::collections::HashSet;

use swarmcast_protocol::tracker::{AnnounceEvent, AnswerRequest, ServerMessage};

use crate::common::*;

const STARTED: Option<AnnounceEvent> = Some(AnnounceEvent::Started);

#[tokio::test]
async fn offers_go_to_distinct_other_peers_and_answers_come_back() {
    let tracker = start(config()).await;
    let addr = tracker.local_addr;
    let mut others = Vec::new();
    for peer in 1..=3 {
        let mut client = Client::connect(addr).await;
        client.announce(announce(1, peer, STARTED, 0)).await;
        others.push(client);
    }
    let mut offerer = Client::connect(addr).await;
    let reply = offerer.announce(announce(1, 9, STARTED, 5)).await;
    assert_eq!((reply.complete, reply.incomplete), (0, 4));
    assert_eq!(reply.interval, 120);

    let mut offer_ids = HashSet::new();
    for client in &mut others {
        let ServerMessage::Offer(offer) = client.recv().await else {
            panic!("expected an offer");
        };
        assert_eq!((offer.info_hash, offer.peer_id), (id(1), id(9)));
        assert!(offer.offer.decode().unwrap().sdp.starts_with("v=0 from 9"));
        offer_ids.insert(offer.offer_id);
        assert!(client.is_quiet().await, "one offer per peer");
    }
    assert_eq!(offer_ids.len(), 3, "each peer got a different offer");
    assert!(offerer.is_quiet().await, "no offer back to the sender");

    // Peer 2 answers the offer it got.
    let offer_id = offer_ids.into_iter().next().unwrap();
    let mut answer = announce(1, 2, None, 0);
    answer.answer = Some(AnswerRequest {
        answer: sdp("answer", "v=0 answer"),
        to_peer_id: id(9),
        offer_id,
    });
    others[1].send_announce(answer).await;
    let ServerMessage::Answer(relayed) = offerer.recv().await else {
        panic!("expected the answer");
    };
    assert_eq!((relayed.peer_id, relayed.offer_id), (id(2), offer_id));
    assert_eq!(relayed.answer.decode().unwrap().kind, "answer");
    assert!(
        others[1].is_quiet().await,
        "an answer gets no announce reply"
    );
    tracker.shutdown().await;
}

#[tokio::test]
async fn offers_are_bounded_by_max_offers_and_numwant() {
    let mut config = config();
    config.max_offers = 2;
    config.max_numwant = 3;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let mut others = Vec::new();
    for peer in 1..=5 {
        let mut client = Client::connect(addr).await;
        client.announce(announce(1, peer, STARTED, 0)).await;
        others.push(client);
    }
    let mut offerer = Client::connect(addr).await;
    offerer.announce(announce(1, 9, STARTED, 5)).await;
    assert_eq!(received(&mut others).await, 2, "max_offers");
    let mut wants_one = announce(1, 9, None, 5);
    wants_one.numwant = Some(1.0);
    offerer.announce(wants_one).await;
    assert_eq!(received(&mut others).await, 1, "numwant");
    assert_served(addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn one_connection_serves_many_swarms() {
    let tracker = start(config()).await;
    let addr = tracker.local_addr;
    let mut multi = Client::connect(addr).await;
    multi.announce(announce(1, 7, STARTED, 0)).await;
    multi.announce(announce(2, 7, STARTED, 0)).await;
    for swarm in [1, 2] {
        let mut other = Client::connect(addr).await;
        other.announce(announce(swarm, 8, STARTED, 1)).await;
        let ServerMessage::Offer(offer) = multi.recv().await else {
            panic!("expected an offer");
        };
        assert_eq!(offer.info_hash, id(swarm));
    }
    tracker.shutdown().await;
}

#[tokio::test]
async fn a_reconnecting_peer_id_replaces_its_old_entry() {
    let tracker = start(config()).await;
    let addr = tracker.local_addr;
    let mut old = Client::connect(addr).await;
    old.announce(announce(1, 7, STARTED, 0)).await;
    let mut new = Client::connect(addr).await;
    let reply = new.announce(announce(1, 7, STARTED, 0)).await;
    assert_eq!(reply.incomplete, 1, "same peer, counted once");

    // Closing the old connection must not remove the entry the new one owns.
    drop(old);
    tokio::time::sleep(QUIET).await;
    assert_eq!(counts(addr, 1).await, (0, 1));

    let mut offerer = Client::connect(addr).await;
    offerer.announce(announce(1, 8, STARTED, 1)).await;
    assert!(
        matches!(new.recv().await, ServerMessage::Offer(_)),
        "offers reach the new connection"
    );
    tracker.shutdown().await;
}

/// How many messages the clients received in total.
async fn received(clients: &mut [Client]) -> usize {
    let mut n = 0;
    for client in clients {
        while !client.is_quiet().await {
            n += 1;
        }
    }
    n
}
