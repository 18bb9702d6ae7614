//! JSON text of relayed offers and answers, written by hand.
//!
//! One announce relays up to `max_offers` offers that differ only in
//! `offer_id` and `offer`, so the shared head (action, info_hash, peer_id) is
//! escaped once and copied; the SDP is already raw JSON and is appended as is.
//! Field order and escaping match what serde would write for
//! [`RelayedOffer`](swarmcast_protocol::tracker::RelayedOffer).

use std::ops::Range;

use swarmcast_protocol::ids::{InfoHash, OfferId, PeerId};
use swarmcast_protocol::tracker::{Offer, Sdp};
use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

/// Most bytes a message adds to head and SDP: the quoted offer_id (≤ 42),
/// `,"answer":` (the longer key) and `}`.
const TAIL: usize = 42 + 11 + 1;

/// The common start of every message relayed for one announce.
pub struct RelayHead(String);

impl RelayHead {
    pub fn new(info_hash: &InfoHash, peer_id: &PeerId) -> Self {
        let mut head = String::with_capacity(96);
        head.push_str(r#"{"action":"announce","info_hash":"#);
        info_hash.write_json(&mut head);
        head.push_str(r#","peer_id":"#);
        peer_id.write_json(&mut head);
        head.push_str(r#","offer_id":"#);
        Self(head)
    }

    /// `{..., "offer_id": .., "offer": ..}` for each offer.
    ///
    /// All of them share one allocation: each frame is a slice of it, freed
    /// once the last recipient has written its offer.
    pub fn offers(&self, offers: &[Offer]) -> Vec<Utf8Bytes> {
        let size = offers
            .iter()
            .map(|o| self.0.len() + TAIL + o.offer.as_json().len());
        let mut text = String::with_capacity(size.sum());
        let ranges: Vec<Range<usize>> = offers
            .iter()
            .map(|o| self.write(&mut text, &o.offer_id, "offer", &o.offer))
            .collect();
        let text = Bytes::from(text);
        let frame = |r: Range<usize>| {
            Utf8Bytes::try_from(text.slice(r)).expect("each range is one whole message")
        };
        ranges.into_iter().map(frame).collect()
    }

    /// `{..., "offer_id": .., "answer": ..}` for an answer.
    pub fn answer(&self, offer_id: &OfferId, answer: &Sdp) -> Utf8Bytes {
        let mut text = String::with_capacity(self.0.len() + TAIL + answer.as_json().len());
        self.write(&mut text, offer_id, "answer", answer);
        Utf8Bytes::from(text)
    }

    /// Appends one message; returns where it lies in `out`.
    fn write(&self, out: &mut String, offer_id: &OfferId, key: &str, sdp: &Sdp) -> Range<usize> {
        let start = out.len();
        out.push_str(&self.0);
        offer_id.write_json(out);
        out.push_str(",\"");
        out.push_str(key);
        out.push_str("\":");
        out.push_str(sdp.as_json());
        out.push('}');
        start..out.len()
    }
}

/// `{"action":"announce","info_hash":..,"interval":..,"complete":..,"incomplete":..}`,
/// the reply to every announce, in the field order serde uses for
/// [`AnnounceResponse`](swarmcast_protocol::tracker::AnnounceResponse).
pub fn announce_reply(
    info_hash: &InfoHash,
    interval: u32,
    complete: u32,
    incomplete: u32,
) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(128);
    text.push_str(r#"{"action":"announce","info_hash":"#);
    info_hash.write_json(&mut text);
    write!(
        text,
        r#","interval":{interval},"complete":{complete},"incomplete":{incomplete}}}"#
    )
    .expect("writing to a String cannot fail");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use swarmcast_protocol::ids::Id20;
    use swarmcast_protocol::tracker::{
        AnnounceAction, AnnounceResponse, RelayedAnswer, RelayedOffer, SessionDescription,
    };

    fn sdp(kind: &str) -> Sdp {
        Sdp::new(&SessionDescription {
            kind: kind.into(),
            sdp: "v=0\r\n\"quoted\" é".into(),
        })
    }

    #[test]
    fn matches_serde_output() {
        // Control bytes, quotes, backslashes and latin1 bytes above 0x7f.
        let info_hash = Id20(*b"\x00\x1f\"\\\n\x7f\x80\xff abcdefghijk");
        let peer_id = Id20([0xe9; 20]);
        let offer_id = Id20(*b"-WW0001-\x08\x0c\t\rxyzwvuts");
        let head = RelayHead::new(&info_hash, &peer_id);

        let offer = RelayedOffer {
            action: AnnounceAction::Announce,
            info_hash,
            peer_id,
            offer_id,
            offer: sdp("offer"),
        };
        let expected = serde_json::to_string(&offer).unwrap();
        let mut second = offer.clone();
        second.offer_id = Id20([b'"'; 20]);
        let expected_second = serde_json::to_string(&second).unwrap();
        let offers = [
            Offer {
                offer_id,
                offer: offer.offer.clone(),
            },
            Offer {
                offer_id: second.offer_id,
                offer: second.offer.clone(),
            },
        ];
        let frames = head.offers(&offers);
        assert_eq!(frames[0].as_str(), expected);
        assert_eq!(frames[1].as_str(), expected_second);

        let answer = RelayedAnswer {
            action: AnnounceAction::Announce,
            info_hash,
            peer_id,
            offer_id,
            answer: sdp("answer"),
        };
        let expected = serde_json::to_string(&answer).unwrap();
        assert_eq!(head.answer(&offer_id, &answer.answer).as_str(), expected);

        let reply = AnnounceResponse {
            action: AnnounceAction::Announce,
            info_hash,
            interval: 120,
            complete: 3,
            incomplete: u32::MAX,
        };
        let expected = serde_json::to_string(&reply).unwrap();
        assert_eq!(announce_reply(&info_hash, 120, 3, u32::MAX), expected);
    }
}
