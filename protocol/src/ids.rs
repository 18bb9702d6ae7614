//! 20-byte identifiers (info_hash, peer_id, offer_id) and their latin1 JSON form.
//!
//! WebTorrent clients put raw bytes into JSON strings one char per byte
//! (code points U+0000..=U+00FF). Keeping ids as plain `[u8; 20]` makes them
//! cheap to hash, copy and store; this module is the only place that converts.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A 20-byte id as carried by the WebTorrent tracker protocol.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Id20(pub [u8; 20]);

/// The swarm (torrent / stream) an announce belongs to.
pub type InfoHash = Id20;
/// A peer's self-chosen id; one per client, shared by all its swarms.
pub type PeerId = Id20;
/// Pairs a relayed offer with its answer.
pub type OfferId = Id20;

/// Why a string is not a latin1-encoded 20-byte id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id must be 20 characters, got {0}")]
    WrongLength(usize),
    #[error("id character U+{0:04X} is above U+00FF")]
    NotLatin1(u32),
}

impl Id20 {
    /// Decodes a JSON string value of 20 chars, each one byte.
    pub fn from_latin1(text: &str) -> Result<Self, IdError> {
        // Most ids are ASCII: 20 bytes that are all ASCII are 20 chars.
        if let Ok(bytes) = <[u8; 20]>::try_from(text.as_bytes()) {
            if bytes.is_ascii() {
                return Ok(Self(bytes));
            }
        }
        let mut bytes = [0u8; 20];
        let mut len = 0;
        for c in text.chars() {
            let code = u32::from(c);
            let byte = u8::try_from(code).map_err(|_| IdError::NotLatin1(code))?;
            if len < 20 {
                bytes[len] = byte;
            }
            len += 1;
        }
        if len != 20 {
            return Err(IdError::WrongLength(len));
        }
        Ok(Self(bytes))
    }

    /// Encodes as the 20-char string clients expect.
    pub fn to_latin1(&self) -> String {
        self.0.iter().map(|&b| char::from(b)).collect()
    }

    /// Appends the id as a quoted JSON string, escaped as serde_json does.
    ///
    /// Going through serde would encode to UTF-8, validate it, then scan it
    /// again for escapes; relaying offers writes ids often enough to matter.
    pub fn write_json(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.reserve(42);
        out.push('"');
        for &b in &self.0 {
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                0..0x20 => {
                    out.push_str("\\u00");
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0xf)]));
                }
                _ => out.push(char::from(b)),
            }
        }
        out.push('"');
    }
}

impl From<[u8; 20]> for Id20 {
    fn from(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Id20 {
    // Hex is what operators and test failures can read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for Id20 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // At most 40 UTF-8 bytes; a stack buffer avoids a heap String per id.
        let mut buf = [0u8; 40];
        let mut len = 0;
        for &b in &self.0 {
            len += char::from(b).encode_utf8(&mut buf[len..]).len();
        }
        let text = std::str::from_utf8(&buf[..len]).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for Id20 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Latin1Visitor;
        impl Visitor<'_> for Latin1Visitor {
            type Value = Id20;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of 20 latin1 characters")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id20, E> {
                Id20::from_latin1(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Latin1Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_wrong_length_and_wide_chars() {
        assert_eq!(Id20::from_latin1("short"), Err(IdError::WrongLength(5)));
        assert_eq!(
            Id20::from_latin1(&"a".repeat(21)),
            Err(IdError::WrongLength(21))
        );
        let wide = format!("{}\u{100}", "a".repeat(19));
        assert_eq!(Id20::from_latin1(&wide), Err(IdError::NotLatin1(0x100)));
    }

    #[test]
    fn high_bytes_take_two_utf8_bytes_on_the_wire() {
        let id = Id20([0xff; 20]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json.len(), 2 + 40);
        assert_eq!(serde_json::from_str::<Id20>(&json).unwrap(), id);
    }

    #[test]
    fn write_json_matches_serde_for_every_byte() {
        for b in 0..=255u8 {
            let id = Id20([b; 20]);
            let mut fast = String::new();
            id.write_json(&mut fast);
            assert_eq!(fast, serde_json::to_string(&id).unwrap(), "byte {b:#04x}");
        }
    }

    #[test]
    fn escaped_control_chars_decode() {
        let json = format!("\"\\u0000{}\"", "b".repeat(19));
        let id: Id20 = serde_json::from_str(&json).unwrap();
        assert_eq!(id.0[0], 0);
        assert_eq!(id.0[1], b'b');
    }

    proptest! {
        #[test]
        fn latin1_round_trip(bytes in any::<[u8; 20]>()) {
            let id = Id20(bytes);
            prop_assert_eq!(Id20::from_latin1(&id.to_latin1()), Ok(id));
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<Id20>(&json).unwrap(), id);
            let mut fast = String::new();
            id.write_json(&mut fast);
            prop_assert_eq!(fast, json);
        }
    }
}
