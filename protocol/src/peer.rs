//! The binary, versioned peer-to-peer protocol spoken over WebRTC data channels.
//!
//! Every message is one data-channel message: a tag byte, then fields. All
//! integers are LEB128 varints, so no length, count or id field has a fixed
//! width that could wrap (P2P Media Loader's 8-bit have-count wraps at 256).
//! Decoding checks every count against the bytes actually present, and a
//! `Have` against [`MAX_HAVE_IDS`] (the most any sender puts in one), so a
//! hostile peer cannot make us allocate more than it sent or hold more ids
//! than one honest message carries.
//!
//! One swarm is one piece of content; it carries several streams (each video
//! level, each alternate audio or subtitle rendition), so one data channel
//! serves all of them and an ABR switch keeps its peers. A segment is named on
//! the wire by its stream (a `u64` hash of the stream's name, the same for
//! every viewer) and its media sequence number; a request also carries the
//! segment's fingerprint (a hash of its URL identity and byte range), and a
//! holder serves only bytes stored under that very fingerprint, so a media
//! sequence reset or a reused number never answers with another resource.

use thiserror::Error;

/// Version carried in the handshake; peers with another major version are
/// dropped. 3: `Fetching` carries `hops`.
pub const VERSION: u8 = 3;
/// Largest message we send; browsers deliver up to 16 KiB messages reliably.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// Largest `Data` payload such that the whole message fits in [`MAX_MESSAGE`]
/// (tag + three worst-case varints: 1 + 5 + 10 + 10 bytes).
pub const MAX_CHUNK: usize = MAX_MESSAGE - 26;
/// Most ids in one `Have` message: the stream and 2 lists × 10-byte varints stay < 16 KiB.
pub const MAX_HAVE_IDS: usize = 800;

const TAG_HANDSHAKE: u8 = 1;
const TAG_HAVE: u8 = 2;
const TAG_REQUEST: u8 = 3;
const TAG_CANCEL: u8 = 4;
const TAG_DATA: u8 = 5;
const TAG_ABSENT: u8 = 6;
const TAG_FETCHING: u8 = 7;

/// One peer-protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// First message each side sends once the channel opens. A side that
    /// has not received it within 5 s closes the channel.
    Handshake {
        version: u8,
        /// The sender's 20-byte tracker peer id.
        peer_id: [u8; 20],
        /// The swarm's 20-byte info_hash: both sides must agree.
        swarm: [u8; 20],
    },
    /// Change to the sender's set of complete segments of `stream` since its
    /// last `Have` for that stream (the first ones after the handshake list
    /// everything it holds).
    Have {
        stream: u64,
        added: Vec<u64>,
        removed: Vec<u64>,
    },
    /// Ask for the whole segment `segment` of `stream` whose fingerprint is
    /// `fingerprint`; anything else held under that number is `Absent`.
    Request {
        req: u32,
        stream: u64,
        segment: u64,
        fingerprint: u64,
    },
    /// Stop sending for `req`.
    Cancel { req: u32 },
    /// Bytes `offset..offset+bytes.len()` of the segment of `req`, whose
    /// total length is `total`.
    Data {
        req: u32,
        offset: u64,
        total: u64,
        bytes: Vec<u8>,
    },
    /// The sender does not hold (or will not upload) the segment of `req`.
    Absent { req: u32 },
    /// A viewer started fetching `segment` of `stream` over HTTP and will
    /// announce it with `Have`: live-edge coordination, so others need not
    /// fetch it too. `hops` is 0 from the fetcher itself; a peer that relays
    /// the claim to its own peers adds one.
    Fetching { stream: u64, segment: u64, hops: u8 },
}

/// Why a message could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message truncated")]
    Truncated,
    #[error("unknown message tag {0}")]
    UnknownTag(u8),
    #[error("integer field overflows")]
    Overflow,
    #[error("trailing bytes after message")]
    Trailing,
    #[error("message larger than 16 KiB")]
    TooLarge,
    #[error("have message with more than {MAX_HAVE_IDS} ids")]
    TooManyIds,
}

impl Message {
    /// Serialises the message. Callers keep `Data` chunks ≤ [`MAX_CHUNK`] and
    /// `Have` lists ≤ [`MAX_HAVE_IDS`] ids so the result fits [`MAX_MESSAGE`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        match self {
            Message::Handshake {
                version,
                peer_id,
                swarm,
            } => {
                out.push(TAG_HANDSHAKE);
                out.push(*version);
                out.extend_from_slice(peer_id);
                out.extend_from_slice(swarm);
            }
            Message::Have {
                stream,
                added,
                removed,
            } => {
                out.push(TAG_HAVE);
                put_varint(&mut out, *stream);
                put_id_list(&mut out, added);
                put_id_list(&mut out, removed);
            }
            Message::Request {
                req,
                stream,
                segment,
                fingerprint,
            } => {
                out.push(TAG_REQUEST);
                put_varint(&mut out, u64::from(*req));
                put_varint(&mut out, *stream);
                put_varint(&mut out, *segment);
                put_varint(&mut out, *fingerprint);
            }
            Message::Cancel { req } => {
                out.push(TAG_CANCEL);
                put_varint(&mut out, u64::from(*req));
            }
            Message::Data {
                req,
                offset,
                total,
                bytes,
            } => {
                out.reserve(bytes.len() + 25);
                out.push(TAG_DATA);
                put_varint(&mut out, u64::from(*req));
                put_varint(&mut out, *offset);
                put_varint(&mut out, *total);
                out.extend_from_slice(bytes);
            }
            Message::Absent { req } => {
                out.push(TAG_ABSENT);
                put_varint(&mut out, u64::from(*req));
            }
            Message::Fetching {
                stream,
                segment,
                hops,
            } => {
                out.push(TAG_FETCHING);
                put_varint(&mut out, *stream);
                put_varint(&mut out, *segment);
                out.push(*hops);
            }
        }
        out
    }

    /// Parses one whole message.
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        if buf.len() > MAX_MESSAGE {
            return Err(DecodeError::TooLarge);
        }
        let mut r = Reader { buf, pos: 0 };
        let msg = match r.byte()? {
            TAG_HANDSHAKE => Message::Handshake {
                version: r.byte()?,
                peer_id: r.array()?,
                swarm: r.array()?,
            },
            TAG_HAVE => {
                let stream = r.varint()?;
                let added = r.id_list(MAX_HAVE_IDS)?;
                let removed = r.id_list(MAX_HAVE_IDS - added.len())?;
                Message::Have {
                    stream,
                    added,
                    removed,
                }
            }
            TAG_REQUEST => Message::Request {
                req: r.varint_u32()?,
                stream: r.varint()?,
                segment: r.varint()?,
                fingerprint: r.varint()?,
            },
            TAG_CANCEL => Message::Cancel {
                req: r.varint_u32()?,
            },
            TAG_DATA => {
                let req = r.varint_u32()?;
                let offset = r.varint()?;
                let total = r.varint()?;
                let bytes = r.buf[r.pos..].to_vec();
                r.pos = r.buf.len();
                Message::Data {
                    req,
                    offset,
                    total,
                    bytes,
                }
            }
            TAG_ABSENT => Message::Absent {
                req: r.varint_u32()?,
            },
            TAG_FETCHING => Message::Fetching {
                stream: r.varint()?,
                segment: r.varint()?,
                hops: r.byte()?,
            },
            tag => return Err(DecodeError::UnknownTag(tag)),
        };
        if r.pos != buf.len() {
            return Err(DecodeError::Trailing);
        }
        Ok(msg)
    }
}

/// Splits a have-delta of one stream into messages of at most
/// [`MAX_HAVE_IDS`] ids each.
pub fn have_messages(stream: u64, added: &[u64], removed: &[u64]) -> Vec<Message> {
    let mut out = Vec::new();
    let (mut a, mut r) = (added, removed);
    while !a.is_empty() || !r.is_empty() || out.is_empty() {
        let na = a.len().min(MAX_HAVE_IDS);
        let nr = r.len().min(MAX_HAVE_IDS - na);
        out.push(Message::Have {
            stream,
            added: a[..na].to_vec(),
            removed: r[..nr].to_vec(),
        });
        a = &a[na..];
        r = &r[nr..];
    }
    out
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Count, then ids sorted and delta-coded: consecutive live sequence numbers
/// cost one byte each.
fn put_id_list(out: &mut Vec<u8>, ids: &[u64]) {
    // Sorted insertion instead of `sort_unstable`: callers pass ids that are
    // nearly always in order already (each insert lands at the end), and a
    // general sort would add kilobytes to the loader's wasm.
    let mut sorted: Vec<u64> = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Err(at) = sorted.binary_search(&id) {
            sorted.insert(at, id);
        }
    }
    put_varint(out, sorted.len() as u64);
    let mut prev = 0u64;
    for id in sorted {
        put_varint(out, id - prev);
        prev = id;
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn array(&mut self) -> Result<[u8; 20], DecodeError> {
        let end = self.pos + 20;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        let mut a = [0u8; 20];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return Err(DecodeError::Overflow);
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Overflow)
    }

    fn varint_u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint()?).map_err(|_| DecodeError::Overflow)
    }

    /// A sorted id list of at most `room` ids.
    fn id_list(&mut self, room: usize) -> Result<Vec<u64>, DecodeError> {
        let n = self.varint()?;
        if n > room as u64 {
            return Err(DecodeError::TooManyIds);
        }
        // Each id takes at least one byte: a count beyond the remaining bytes is a lie.
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(DecodeError::Truncated);
        }
        let mut ids = Vec::with_capacity(n as usize);
        let mut prev = 0u64;
        for _ in 0..n {
            prev = prev
                .checked_add(self.varint()?)
                .ok_or(DecodeError::Overflow)?;
            ids.push(prev);
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sorted(mut v: Vec<u64>) -> Vec<u64> {
        v.sort_unstable();
        v.dedup();
        v
    }

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (any::<u8>(), any::<[u8; 20]>(), any::<[u8; 20]>()).prop_map(
                |(version, peer_id, swarm)| Message::Handshake {
                    version,
                    peer_id,
                    swarm
                }
            ),
            (
                any::<u64>(),
                prop::collection::vec(any::<u64>(), 0..400),
                prop::collection::vec(any::<u64>(), 0..400)
            )
                .prop_map(|(stream, a, r)| Message::Have {
                    stream,
                    added: sorted(a),
                    removed: sorted(r)
                }),
            (any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
                |(req, stream, segment, fingerprint)| Message::Request {
                    req,
                    stream,
                    segment,
                    fingerprint,
                }
            ),
            any::<u32>().prop_map(|req| Message::Cancel { req }),
            (
                any::<u32>(),
                any::<u64>(),
                any::<u64>(),
                prop::collection::vec(any::<u8>(), 0..MAX_CHUNK)
            )
                .prop_map(|(req, offset, total, bytes)| Message::Data {
                    req,
                    offset,
                    total,
                    bytes
                }),
            any::<u32>().prop_map(|req| Message::Absent { req }),
            (any::<u64>(), any::<u64>(), any::<u8>()).prop_map(|(stream, segment, hops)| {
                Message::Fetching {
                    stream,
                    segment,
                    hops,
                }
            }),
        ]
    }

    proptest! {
        #[test]
        fn every_message_round_trips_within_16k(m in message()) {
            let bytes = m.encode();
            prop_assert!(bytes.len() <= MAX_MESSAGE);
            prop_assert_eq!(Message::decode(&bytes), Ok(m));
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn have_split_preserves_every_id(
            stream in any::<u64>(),
            a in prop::collection::btree_set(any::<u64>(), 0..3000),
            r in prop::collection::btree_set(any::<u64>(), 0..3000),
        ) {
            let a: Vec<u64> = a.into_iter().collect();
            let r: Vec<u64> = r.into_iter().collect();
            let (mut got_a, mut got_r) = (Vec::new(), Vec::new());
            for m in have_messages(stream, &a, &r) {
                let bytes = m.encode();
                prop_assert!(bytes.len() <= MAX_MESSAGE);
                let Ok(Message::Have { stream: s, added, removed }) = Message::decode(&bytes) else {
                    return Err(TestCaseError::fail("not a have"));
                };
                prop_assert_eq!(s, stream);
                got_a.extend(added);
                got_r.extend(removed);
            }
            prop_assert_eq!(sorted(got_a), a);
            prop_assert_eq!(sorted(got_r), r);
        }
    }

    #[test]
    fn more_than_256_ids_do_not_wrap() {
        let ids: Vec<u64> = (1_000..1_300).collect();
        let m = Message::Have {
            stream: 3,
            added: ids.clone(),
            removed: vec![],
        };
        assert_eq!(
            Message::decode(&m.encode()),
            Ok(Message::Have {
                stream: 3,
                added: ids,
                removed: vec![]
            })
        );
    }

    #[test]
    fn huge_ids_and_extremes_survive() {
        let m = Message::Have {
            stream: u64::MAX,
            added: vec![0, 1, u64::MAX - 1, u64::MAX],
            removed: vec![u64::MAX],
        };
        assert_eq!(Message::decode(&m.encode()), Ok(m));
        let m = Message::Request {
            req: u32::MAX,
            stream: u64::MAX,
            segment: u64::MAX,
            fingerprint: u64::MAX,
        };
        assert_eq!(Message::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn overflowing_fields_are_rejected() {
        // An 11-byte varint, and a 10-byte varint above u64::MAX.
        let mut long = vec![TAG_CANCEL];
        long.extend([0xff; 10]);
        long.push(0);
        assert_eq!(Message::decode(&long), Err(DecodeError::Overflow));
        let mut big = vec![TAG_REQUEST, 0, 0];
        big.extend([0xff; 9]);
        big.push(0x02);
        assert_eq!(Message::decode(&big), Err(DecodeError::Overflow));
        // req above u32::MAX.
        let mut m = vec![TAG_ABSENT];
        put_varint(&mut m, u64::from(u32::MAX) + 1);
        assert_eq!(Message::decode(&m), Err(DecodeError::Overflow));
        // Delta sum above u64::MAX.
        let mut h = vec![TAG_HAVE, 0];
        put_varint(&mut h, 2);
        put_varint(&mut h, u64::MAX);
        put_varint(&mut h, 1);
        put_varint(&mut h, 0);
        assert_eq!(Message::decode(&h), Err(DecodeError::Overflow));
    }

    #[test]
    fn lying_counts_do_not_allocate() {
        let mut h = vec![TAG_HAVE, 0];
        put_varint(&mut h, MAX_HAVE_IDS as u64);
        assert_eq!(Message::decode(&h), Err(DecodeError::Truncated));
    }

    #[test]
    fn a_have_beyond_max_have_ids_is_refused_before_its_ids_are_read() {
        let over = |added: usize, removed: usize| {
            let m = Message::Have {
                stream: 1,
                added: (0..added as u64).collect(),
                removed: (1_000..1_000 + removed as u64).collect(),
            };
            Message::decode(&m.encode())
        };
        assert!(over(MAX_HAVE_IDS, 0).is_ok());
        assert!(over(MAX_HAVE_IDS / 2, MAX_HAVE_IDS / 2).is_ok());
        assert_eq!(over(MAX_HAVE_IDS + 1, 0), Err(DecodeError::TooManyIds));
        assert_eq!(over(MAX_HAVE_IDS, 1), Err(DecodeError::TooManyIds));
        // The count alone is refused: ~16K one-byte ids would fit 16 KiB.
        let mut h = vec![TAG_HAVE, 0];
        put_varint(&mut h, 16_000);
        h.extend([1u8; 16_000]);
        assert_eq!(Message::decode(&h), Err(DecodeError::TooManyIds));
    }

    #[test]
    fn oversize_and_unknown_messages_are_rejected() {
        assert_eq!(
            Message::decode(&vec![TAG_DATA; MAX_MESSAGE + 1]),
            Err(DecodeError::TooLarge)
        );
        assert_eq!(Message::decode(&[99]), Err(DecodeError::UnknownTag(99)));
        assert_eq!(
            Message::decode(&[TAG_CANCEL, 1, 0]),
            Err(DecodeError::Trailing)
        );
    }
}
