//! WebTorrent tracker messages (JSON over WebSocket).
//!
//! Shared by the tracker server (parses requests, builds replies) and the
//! browser loader (builds requests, parses replies), so both ends agree on one
//! definition. Messages are generic over their SDP payload `S`: the tracker
//! keeps raw JSON text ([`Sdp`], the default) and relays it without decoding
//! or re-escaping; the loader uses [`SessionDescription`] and lets the
//! browser's own JSON do the encoding, so no JSON code ships in its wasm.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ids::{InfoHash, OfferId, PeerId};

/// An `offer` or `answer` object (`{type, sdp}`), kept as its raw JSON text.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Sdp(Box<RawValue>);

/// The decoded form of an [`Sdp`], as `RTCSessionDescription` spells it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SessionDescription {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

impl Sdp {
    /// Builds the raw form from a session description.
    pub fn new(description: &SessionDescription) -> Self {
        let text = serde_json::to_string(description).expect("strings always serialise");
        Self(RawValue::from_string(text).expect("serde_json output is valid JSON"))
    }

    /// Decodes `{type, sdp}`; fails if the relayed object lacks either.
    pub fn decode(&self) -> Result<SessionDescription, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The raw JSON text, exactly as received.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Sdp {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl<'de> Deserialize<'de> for Sdp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        // Only objects are relayed; checking the first byte keeps the tracker
        // from decoding every SDP while still refusing numbers, strings, ...
        if !raw.get().starts_with('{') {
            return Err(de::Error::custom("offer/answer must be an object"));
        }
        Ok(Self(raw))
    }
}

/// The announce `event` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnounceEvent {
    Started,
    Completed,
    Stopped,
    /// A periodic announce. Also what `update`, `empty`, `paused` and `none`
    /// from other clients mean, as in bittorrent-tracker.
    Update,
}

impl<'de> Deserialize<'de> for AnnounceEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        match &*text {
            "started" => Ok(Self::Started),
            "completed" => Ok(Self::Completed),
            "stopped" => Ok(Self::Stopped),
            "update" | "empty" | "paused" | "none" => Ok(Self::Update),
            other => Err(de::Error::custom(format!("invalid event: {other}"))),
        }
    }
}

/// One entry of an announce's `offers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer<S = Sdp> {
    pub offer: S,
    pub offer_id: OfferId,
}

/// `{action: "announce", ...}` from a client: a swarm update, optionally with
/// offers to relay, or an answer to one relayed offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnounceRequest<S = Sdp> {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<AnnounceEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numwant: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloaded: Option<f64>,
    /// Extension: how many of the `downloaded` bytes came from peers (the
    /// rest came over HTTP), for the tracker's offload statistics. Other
    /// trackers ignore unknown fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p2p_downloaded: Option<f64>,
    /// Absent is `None`; JSON `null` (how JS encodes `Infinity`) is `Some(None)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<Offer<S>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerRequest<S>>,
}

// By hand: a derive would demand `S: Default`, which raw SDP text is not.
impl<S> Default for AnnounceRequest<S> {
    fn default() -> Self {
        Self {
            info_hash: InfoHash::default(),
            peer_id: PeerId::default(),
            event: None,
            numwant: None,
            uploaded: None,
            downloaded: None,
            p2p_downloaded: None,
            left: None,
            offers: Vec::new(),
            answer: None,
        }
    }
}

/// The answer part of an announce: relayed to `to_peer_id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerRequest<S = Sdp> {
    pub answer: S,
    pub to_peer_id: PeerId,
    pub offer_id: OfferId,
}

impl<S> AnnounceRequest<S> {
    /// Whether bittorrent-tracker would count this peer as a seeder: it reads
    /// `left` with JS `Number()`, so `null` is 0 and a missing field is not.
    pub fn is_complete(&self) -> bool {
        matches!(self.left, Some(None) | Some(Some(0.0)))
    }
}

/// `{action: "scrape", info_hash?}`: one, several or (when empty) all swarms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrapeRequest {
    pub info_hashes: Vec<InfoHash>,
}

/// Any request a client sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage<S = Sdp> {
    Announce(AnnounceRequest<S>),
    Scrape(ScrapeRequest),
}

/// Why a text frame is not a valid request.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("invalid request: {0}")]
    Json(#[from] serde_json::Error),
    #[error("missing field `{0}`")]
    Missing(&'static str),
    #[error("announce takes one info_hash")]
    ManyInfoHashes,
}

impl ParseError {
    /// True when the text is not JSON at all (as opposed to JSON that is not
    /// a valid request): the tracker closes such connections.
    pub fn is_syntax(&self) -> bool {
        match self {
            Self::Json(e) => matches!(
                e.classify(),
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof
            ),
            _ => false,
        }
    }
}

/// The JSON codec, for the raw-SDP form (the tracker, test clients).
impl ClientMessage {
    /// Parses one text frame. Unknown fields (e.g. `trackerid`) are ignored.
    pub fn from_json(text: &str) -> Result<Self, ParseError> {
        let wire: ClientWire<Sdp> = serde_json::from_str(text)?;
        match wire.action {
            Action::Scrape => Ok(Self::Scrape(ScrapeRequest {
                info_hashes: wire.info_hash.map(|h| h.0).unwrap_or_default(),
            })),
            Action::Announce => {
                let info_hash = match wire.info_hash.map(|h| h.0).as_deref() {
                    Some([one]) => *one,
                    Some(_) => return Err(ParseError::ManyInfoHashes),
                    None => return Err(ParseError::Missing("info_hash")),
                };
                let peer_id = wire.peer_id.ok_or(ParseError::Missing("peer_id"))?;
                let answer = match wire.answer {
                    None => None,
                    Some(answer) => Some(AnswerRequest {
                        answer,
                        to_peer_id: wire.to_peer_id.ok_or(ParseError::Missing("to_peer_id"))?,
                        offer_id: wire.offer_id.ok_or(ParseError::Missing("offer_id"))?,
                    }),
                };
                Ok(Self::Announce(AnnounceRequest {
                    info_hash,
                    peer_id,
                    event: wire.event,
                    numwant: wire.numwant,
                    uploaded: wire.uploaded,
                    downloaded: wire.downloaded,
                    p2p_downloaded: wire.p2p_downloaded,
                    left: wire.left,
                    offers: wire.offers.unwrap_or_default(),
                    answer,
                }))
            }
        }
    }

    /// Serialises for sending (used by the loader and tests).
    pub fn to_json(&self) -> String {
        let result = match self {
            Self::Announce(a) => serde_json::to_string(&Tagged {
                action: Action::Announce,
                body: a,
            }),
            Self::Scrape(s) => serde_json::to_string(&ScrapeWire {
                action: Action::Scrape,
                info_hash: &s.info_hashes,
            }),
        };
        result.expect("request types always serialise")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum Action {
    #[default]
    Announce,
    Scrape,
}

#[derive(Serialize)]
struct Tagged<'a, T> {
    action: Action,
    #[serde(flatten)]
    body: &'a T,
}

#[derive(Serialize)]
struct ScrapeWire<'a> {
    action: Action,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    info_hash: &'a [InfoHash],
}

/// Every field a client may send, flat, so one pass of serde reads it all
/// (serde's tagged enums would buffer the message and lose raw SDP text).
#[derive(Deserialize)]
#[serde(bound = "S: Deserialize<'de>")]
struct ClientWire<S> {
    action: Action,
    #[serde(default)]
    info_hash: Option<OneOrMany>,
    #[serde(default)]
    peer_id: Option<PeerId>,
    #[serde(default)]
    event: Option<AnnounceEvent>,
    #[serde(default)]
    numwant: Option<f64>,
    // Byte counts are informative only: a malformed one is ignored (`None`)
    // rather than failing the announce.
    #[serde(default, deserialize_with = "count")]
    uploaded: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    downloaded: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    p2p_downloaded: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    left: Option<Option<f64>>,
    #[serde(default)]
    offers: Option<Vec<Offer<S>>>,
    #[serde(default)]
    answer: Option<S>,
    #[serde(default)]
    to_peer_id: Option<PeerId>,
    #[serde(default)]
    offer_id: Option<OfferId>,
}

/// Tells a field that is present (even as `null`) from one that is absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A byte count: a finite number ≥ 0, else (a string, a negative number,
/// an object...) `None`.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(value.as_f64().filter(|n| *n >= 0.0))
}

/// `info_hash` as a single string or an array of them.
struct OneOrMany(Vec<InfoHash>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an info_hash string or an array of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                InfoHash::from_latin1(v)
                    .map(|h| OneOrMany(vec![h]))
                    .map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                // No size hint: the frame size limit already bounds the array.
                let mut hashes = Vec::new();
                while let Some(h) = seq.next_element()? {
                    hashes.push(h);
                }
                Ok(OneOrMany(hashes))
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// Marker serialising as `"announce"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnounceAction {
    #[default]
    Announce,
}

/// `{action: "announce", interval, info_hash, complete, incomplete}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceResponse {
    #[serde(default)]
    pub action: AnnounceAction,
    pub info_hash: InfoHash,
    pub interval: u32,
    pub complete: u32,
    pub incomplete: u32,
}

/// An offer relayed from `peer_id` (the offerer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayedOffer<S = Sdp> {
    #[serde(default)]
    pub action: AnnounceAction,
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub offer_id: OfferId,
    pub offer: S,
}

/// An answer relayed from `peer_id` (the answerer) to the offerer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayedAnswer<S = Sdp> {
    #[serde(default)]
    pub action: AnnounceAction,
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub offer_id: OfferId,
    pub answer: S,
}

/// Per-swarm scrape counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScrapeStats {
    pub complete: u32,
    pub incomplete: u32,
    pub downloaded: u32,
}

/// Marker serialising as `"scrape"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScrapeAction {
    #[default]
    Scrape,
}

/// `{action: "scrape", files: {<info_hash>: {complete, incomplete, downloaded}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrapeResponse {
    #[serde(default)]
    pub action: ScrapeAction,
    /// In memory a list, on the wire an object keyed by info_hash: the
    /// loader's wasm then carries no map code for a reply it never gets.
    #[serde(with = "files_as_object")]
    pub files: Vec<(InfoHash, ScrapeStats)>,
}

mod files_as_object {
    use super::*;
    use serde::de::MapAccess;
    use serde::Serializer;

    type Files = Vec<(InfoHash, ScrapeStats)>;

    pub fn serialize<S: Serializer>(files: &Files, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(files.iter().map(|(hash, stats)| (hash, stats)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Files, D::Error> {
        struct FilesVisitor;
        impl<'de> Visitor<'de> for FilesVisitor {
            type Value = Files;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of scrape counts keyed by info_hash")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Files, A::Error> {
                let mut files = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    files.push(entry);
                }
                Ok(files)
            }
        }
        d.deserialize_map(FilesVisitor)
    }
}

/// `{"failure reason": ..., action?, info_hash?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    #[serde(rename = "failure reason")]
    pub failure_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info_hash: Option<InfoHash>,
}

/// Any message a tracker sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage<S = Sdp> {
    Announce(AnnounceResponse),
    Offer(RelayedOffer<S>),
    Answer(RelayedAnswer<S>),
    Scrape(ScrapeResponse),
    Error(ErrorResponse),
}

/// The JSON codec, for the raw-SDP form (the tracker, test clients).
impl ServerMessage {
    /// Parses one text frame from a tracker. Which kind it is follows from
    /// its fields, since offers, answers and announce replies share an action.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let probe: ServerProbe = serde_json::from_str(text)?;
        Ok(if probe.failure_reason.is_some() {
            Self::Error(serde_json::from_str(text)?)
        } else if probe.action == Some(Action::Scrape) {
            Self::Scrape(serde_json::from_str(text)?)
        } else if probe.offer.is_some() {
            Self::Offer(serde_json::from_str(text)?)
        } else if probe.answer.is_some() {
            Self::Answer(serde_json::from_str(text)?)
        } else {
            Self::Announce(serde_json::from_str(text)?)
        })
    }

    /// Serialises for sending.
    pub fn to_json(&self) -> String {
        let result = match self {
            Self::Announce(m) => serde_json::to_string(m),
            Self::Offer(m) => serde_json::to_string(m),
            Self::Answer(m) => serde_json::to_string(m),
            Self::Scrape(m) => serde_json::to_string(m),
            Self::Error(m) => serde_json::to_string(m),
        };
        result.expect("response types always serialise")
    }
}

/// The fields that decide a server message's kind; values are skipped.
#[derive(Deserialize)]
struct ServerProbe {
    #[serde(default)]
    action: Option<Action>,
    #[serde(default, rename = "failure reason")]
    failure_reason: Option<de::IgnoredAny>,
    #[serde(default)]
    offer: Option<de::IgnoredAny>,
    #[serde(default)]
    answer: Option<de::IgnoredAny>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Id20;
    use proptest::prelude::*;

    fn sdp(kind: &str, text: &str) -> Sdp {
        Sdp::new(&SessionDescription {
            kind: kind.into(),
            sdp: text.into(),
        })
    }

    #[test]
    fn parses_reference_client_announce() {
        let text = r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"-WW0001-bbbbbbbbbbbb",
            "numwant":5,"uploaded":0,"downloaded":0,"left":null,"event":"started",
            "offers":[{"offer":{"type":"offer","sdp":"v=0\r\n"},"offer_id":"cccccccccccccccccccc"}],"trackerid":"x"}"#;
        let ClientMessage::Announce(a) = ClientMessage::from_json(text).unwrap() else {
            panic!("not an announce");
        };
        assert_eq!(a.info_hash, Id20(*b"aaaaaaaaaaaaaaaaaaaa"));
        assert_eq!(a.event, Some(AnnounceEvent::Started));
        assert_eq!(a.left, Some(None));
        assert!(
            a.is_complete(),
            "null left counts as 0, as in bittorrent-tracker"
        );
        assert_eq!(a.offers.len(), 1);
        assert_eq!(a.offers[0].offer.decode().unwrap().sdp, "v=0\r\n");
    }

    #[test]
    fn byte_counts_are_read_and_malformed_ones_ignored() {
        let announce = |counts: &str| {
            let text = format!(
                r#"{{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb",{counts}}}"#
            );
            match ClientMessage::from_json(&text).unwrap() {
                ClientMessage::Announce(a) => (a.uploaded, a.downloaded, a.p2p_downloaded),
                ClientMessage::Scrape(_) => panic!("not an announce"),
            }
        };
        assert_eq!(
            announce(r#""uploaded":1,"downloaded":2.5e3,"p2p_downloaded":7"#),
            (Some(1.0), Some(2500.0), Some(7.0))
        );
        assert_eq!(
            announce(r#""uploaded":"1","downloaded":-4,"p2p_downloaded":{"a":[1]}"#),
            (None, None, None)
        );
        assert_eq!(
            announce(r#""uploaded":null,"downloaded":[],"p2p_downloaded":true"#),
            (None, None, None)
        );
    }

    #[test]
    fn parses_answer_and_requires_its_ids() {
        let ok = r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb",
            "answer":{"type":"answer","sdp":"x"},"to_peer_id":"cccccccccccccccccccc","offer_id":"dddddddddddddddddddd"}"#;
        let ClientMessage::Announce(a) = ClientMessage::from_json(ok).unwrap() else {
            panic!("not an announce");
        };
        assert_eq!(a.answer.unwrap().to_peer_id, Id20(*b"cccccccccccccccccccc"));
        let missing = ok.replace(r#","to_peer_id":"cccccccccccccccccccc""#, "");
        assert!(matches!(
            ClientMessage::from_json(&missing),
            Err(ParseError::Missing("to_peer_id"))
        ));
    }

    #[test]
    fn scrape_takes_none_one_or_many() {
        let all = ClientMessage::from_json(r#"{"action":"scrape"}"#).unwrap();
        assert_eq!(all, ClientMessage::Scrape(ScrapeRequest::default()));
        let one =
            ClientMessage::from_json(r#"{"action":"scrape","info_hash":"aaaaaaaaaaaaaaaaaaaa"}"#)
                .unwrap();
        let many = ClientMessage::from_json(
            r#"{"action":"scrape","info_hash":["aaaaaaaaaaaaaaaaaaaa","bbbbbbbbbbbbbbbbbbbb"]}"#,
        )
        .unwrap();
        let count = |m: ClientMessage| match m {
            ClientMessage::Scrape(s) => s.info_hashes.len(),
            _ => panic!("not a scrape"),
        };
        assert_eq!((count(one), count(many)), (1, 2));
    }

    #[test]
    fn tells_syntax_errors_from_invalid_requests() {
        for bad in ["not json", "{\"action\":", ""] {
            assert!(
                ClientMessage::from_json(bad).unwrap_err().is_syntax(),
                "{bad}"
            );
        }
        for invalid in [
            r#"{"action":"bogus"}"#,
            r#"{"action":"announce","info_hash":"short","peer_id":"bbbbbbbbbbbbbbbbbbbb"}"#,
            r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa"}"#,
            r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","numwant":"5"}"#,
            r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","event":"bogus"}"#,
            r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","offers":[{"offer":5,"offer_id":"cccccccccccccccccccc"}]}"#,
            r#"{"action":"announce","info_hash":["aaaaaaaaaaaaaaaaaaaa","aaaaaaaaaaaaaaaaaaaa"],"peer_id":"bbbbbbbbbbbbbbbbbbbb"}"#,
            r#"{"info_hash":"aaaaaaaaaaaaaaaaaaaa"}"#,
        ] {
            let err = ClientMessage::from_json(invalid).unwrap_err();
            assert!(!err.is_syntax(), "{invalid}: {err}");
        }
    }

    #[test]
    fn large_numbers_round_trip() {
        // A fuzz finding: without float_roundtrip serde_json parses this one
        // ulp off, so parse → serialise → parse changed the value.
        let text = r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","numwant":15101912594050682424.42}"#;
        let parsed = ClientMessage::from_json(text).unwrap();
        let ClientMessage::Announce(a) = &parsed else {
            panic!("not an announce");
        };
        assert_eq!(a.numwant, Some(15101912594050682424.42));
        assert_eq!(ClientMessage::from_json(&parsed.to_json()).unwrap(), parsed);
    }

    #[test]
    fn server_messages_round_trip_by_shape() {
        let h = Id20([0x80; 20]);
        let p = Id20([7; 20]);
        let messages = [
            ServerMessage::Announce(AnnounceResponse {
                action: AnnounceAction::Announce,
                info_hash: h,
                interval: 120,
                complete: 1,
                incomplete: 2,
            }),
            ServerMessage::Offer(RelayedOffer {
                action: AnnounceAction::Announce,
                info_hash: h,
                peer_id: p,
                offer_id: p,
                offer: sdp("offer", "o"),
            }),
            ServerMessage::Answer(RelayedAnswer {
                action: AnnounceAction::Announce,
                info_hash: h,
                peer_id: p,
                offer_id: p,
                answer: sdp("answer", "a"),
            }),
            ServerMessage::Scrape(ScrapeResponse {
                action: ScrapeAction::Scrape,
                files: vec![(h, ScrapeStats::default())],
            }),
            ServerMessage::Error(ErrorResponse {
                failure_reason: "nope".into(),
                action: Some("announce".into()),
                info_hash: Some(h),
            }),
        ];
        for m in messages {
            assert_eq!(ServerMessage::from_json(&m.to_json()).unwrap(), m);
        }
    }

    fn arb_id() -> impl Strategy<Value = Id20> {
        any::<[u8; 20]>().prop_map(Id20)
    }

    proptest! {
        #[test]
        fn announce_round_trips(
            info_hash in arb_id(),
            peer_id in arb_id(),
            offer_ids in proptest::collection::vec(arb_id(), 0..4),
            text in "\\PC{0,40}",
            numwant in proptest::option::of(0u32..100),
            left in proptest::option::of(proptest::option::of(0u32..1000)),
            event in proptest::option::of(prop_oneof![
                Just(AnnounceEvent::Started),
                Just(AnnounceEvent::Completed),
                Just(AnnounceEvent::Stopped),
                Just(AnnounceEvent::Update),
            ]),
            answer_to in proptest::option::of((arb_id(), arb_id())),
        ) {
            let request = ClientMessage::Announce(AnnounceRequest {
                info_hash,
                peer_id,
                event,
                numwant: numwant.map(f64::from),
                left: left.map(|l| l.map(f64::from)),
                offers: offer_ids
                    .into_iter()
                    .map(|offer_id| Offer { offer: sdp("offer", &text), offer_id })
                    .collect(),
                answer: answer_to.map(|(to_peer_id, offer_id)| AnswerRequest {
                    answer: sdp("answer", &text),
                    to_peer_id,
                    offer_id,
                }),
                ..Default::default()
            });
            prop_assert_eq!(ClientMessage::from_json(&request.to_json()).unwrap(), request);
        }

        #[test]
        fn scrape_round_trips(hashes in proptest::collection::vec(arb_id(), 0..5)) {
            let request = ClientMessage::Scrape(ScrapeRequest { info_hashes: hashes });
            prop_assert_eq!(ClientMessage::from_json(&request.to_json()).unwrap(), request);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = ClientMessage::from_json(&text);
            let _ = ServerMessage::from_json(&text);
        }
    }
}
