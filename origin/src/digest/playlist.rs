//! Finds what a media playlist's digests are of, and writes the playlist
//! back with one digest tag per resource. Pure text work, so every HLS rule
//! it follows (byte ranges with and without offsets, `EXT-X-MAP`, old tags)
//! is unit-tested.
//!
//! Where the tag goes follows how hls.js attaches tags to fragments: every
//! unknown tag lands on the fragment being built, which ends at the next URI
//! line; a tag before an `EXT-X-MAP` that comes before the segment's
//! `#EXTINF` lands on the init segment instead.

use std::ops::Range;

use super::tag;

/// Whose digest a tag carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Segment,
    /// The `EXT-X-MAP` init segment.
    Init,
}

/// One resource that gets a digest: a URI as written in the playlist, and
/// the byte range of it that a client fetches (`None`: all of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub role: Role,
    pub uri: String,
    pub range: Option<Range<u64>>,
}

/// A playlist split into its lines (old digest tags dropped) and the places
/// where new tags go.
#[derive(Debug)]
pub struct Playlist<'a> {
    lines: Vec<&'a str>,
    /// The line each target's tag goes before, in playlist order.
    slots: Vec<(usize, Target)>,
}

impl<'a> Playlist<'a> {
    pub fn parse(text: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut slots = Vec::new();
        // State of the segment being read, as hls.js keeps it.
        let mut in_segment = false;
        // `Some(None)`: the segment's EXT-X-BYTERANGE was malformed.
        let mut pending_range: Option<Option<(u64, Option<u64>)>> = None;
        // Where the previous segment's byte range ended, for ranges without an offset.
        let mut previous_end: Option<(&str, u64)> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if tag::is_tag(trimmed) {
                continue;
            }
            if let Some(attributes) = trimmed.strip_prefix("#EXT-X-MAP:") {
                if let (false, Some(target)) = (in_segment, init_target(attributes)) {
                    slots.push((lines.len(), target));
                }
            } else if trimmed.starts_with("#EXTINF:") {
                in_segment = true;
            } else if let Some(value) = trimmed.strip_prefix("#EXT-X-BYTERANGE:") {
                pending_range = Some(parse_byterange(value));
            } else if !trimmed.is_empty() && !trimmed.starts_with('#') && in_segment {
                // `None`: no digest (a malformed or unanchored range).
                let range = match pending_range.take() {
                    None => Some(None),
                    Some(None) => None,
                    Some(Some((len, offset))) => offset
                        .or_else(|| previous_end.filter(|(u, _)| *u == trimmed).map(|(_, e)| e))
                        .and_then(|start| Some(Some(start..start.checked_add(len)?))),
                };
                previous_end = match &range {
                    Some(Some(r)) => Some((trimmed, r.end)),
                    _ => None,
                };
                if let Some(range) = range {
                    let target = Target {
                        role: Role::Segment,
                        uri: trimmed.to_string(),
                        range,
                    };
                    slots.push((lines.len(), target));
                }
                in_segment = false;
            }
            lines.push(line);
        }
        Self { lines, slots }
    }

    /// In playlist order; empty for a multivariant playlist.
    pub fn targets(&self) -> impl ExactSizeIterator<Item = &Target> {
        self.slots.iter().map(|(_, t)| t)
    }

    /// The playlist with `digests[i]` (if known) before the line of target `i`.
    pub fn render(&self, digests: &[Option<[u8; 32]>]) -> String {
        let size = self.lines.iter().map(|l| l.len() + 1).sum::<usize>()
            + digests.iter().flatten().count() * (tag::TAG.len() + 72);
        let mut out = String::with_capacity(size);
        let mut slots = self.slots.iter().zip(digests).peekable();
        for (i, line) in self.lines.iter().enumerate() {
            while let Some(((_, _), digest)) = slots.next_if(|((at, _), _)| *at == i) {
                if let Some(digest) = digest {
                    out.push_str(&tag::line(digest));
                    out.push('\n');
                }
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// `n` or `n@o` (RFC 8216 §4.3.2.2).
fn parse_byterange(value: &str) -> Option<(u64, Option<u64>)> {
    match value.trim().split_once('@') {
        Some((len, offset)) => Some((len.parse().ok()?, Some(offset.parse().ok()?))),
        None => Some((value.trim().parse().ok()?, None)),
    }
}

fn init_target(attributes: &str) -> Option<Target> {
    let uri = attribute(attributes, "URI")?;
    let range = match attribute(attributes, "BYTERANGE") {
        // An init range without an offset starts at 0, as hls.js reads it.
        Some(value) => {
            let (len, offset) = parse_byterange(value)?;
            let start = offset.unwrap_or(0);
            Some(start..start.checked_add(len)?)
        }
        None => None,
    };
    Some(Target {
        role: Role::Init,
        uri: uri.to_string(),
        range,
    })
}

/// The value of one attribute of an attribute list, without its quotes.
fn attribute<'a>(list: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = list;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let (value, tail) = quoted.split_once('"')?;
                (value, tail.trim_start_matches(|c| c != ','))
            }
            None => after.split_once(',').map_or((after, ""), |(v, t)| (v, t)),
        };
        if key.trim() == name {
            return Some(value);
        }
        rest = next.strip_prefix(',').unwrap_or(next);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(text: &str) -> Vec<Target> {
        Playlist::parse(text).targets().cloned().collect()
    }

    fn segment(uri: &str, range: Option<Range<u64>>) -> Target {
        Target {
            role: Role::Segment,
            uri: uri.into(),
            range,
        }
    }

    #[test]
    fn whole_segments_get_a_tag_before_their_uri() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_1.ts\n\
                    #EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00Z\n#EXTINF:2.0,\nseg_2.ts\n";
        let p = Playlist::parse(text);
        assert_eq!(
            p.targets().cloned().collect::<Vec<_>>(),
            [segment("seg_1.ts", None), segment("seg_2.ts", None)]
        );
        let out = p.render(&[Some([1; 32]), None]);
        let expected = format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{}\nseg_1.ts\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00Z\n#EXTINF:2.0,\nseg_2.ts\n",
            tag::line(&[1; 32])
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn old_tags_are_replaced_so_rewriting_is_idempotent() {
        let text = "#EXTM3U\n#EXTINF:2,\nseg_1.ts\n";
        let once = Playlist::parse(text).render(&[Some([7; 32])]);
        let twice = Playlist::parse(&once).render(&[Some([7; 32])]);
        assert_eq!(once, twice);
        let changed = Playlist::parse(&once).render(&[Some([8; 32])]);
        assert!(changed.contains(&tag::line(&[8; 32])));
        assert!(!changed.contains(&tag::line(&[7; 32])));
        assert_eq!(Playlist::parse(&once).render(&[None]), text);
    }

    #[test]
    fn byte_ranges_with_and_without_offsets() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"main.mp4\",BYTERANGE=\"720@0\"\n\
                    #EXTINF:2,\n#EXT-X-BYTERANGE:1000@720\nmain.mp4\n\
                    #EXTINF:2,\n#EXT-X-BYTERANGE:500\nmain.mp4\n\
                    #EXTINF:2,\n#EXT-X-BYTERANGE:10\nother.mp4\n\
                    #EXTINF:2,\n#EXT-X-BYTERANGE:20@5\nother.mp4\n";
        assert_eq!(
            targets(text),
            [
                Target {
                    role: Role::Init,
                    uri: "main.mp4".into(),
                    range: Some(0..720)
                },
                segment("main.mp4", Some(720..1720)),
                segment("main.mp4", Some(1720..2220)),
                // `other.mp4` has no previous range to continue: no digest.
                segment("other.mp4", Some(5..25)),
            ]
        );
    }

    #[test]
    fn init_segments_before_extinf_only() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\nseg_1.m4s\n\
                    #EXTINF:2,\n#EXT-X-MAP:URI=\"init2.mp4\"\nseg_2.m4s\n";
        let p = Playlist::parse(text);
        let t: Vec<_> = p.targets().cloned().collect();
        assert_eq!(t[0].role, Role::Init);
        assert_eq!(t[0].uri, "init.mp4");
        // A MAP inside a segment's tags would put its tag on the media fragment.
        assert_eq!(
            t[1..],
            [segment("seg_1.m4s", None), segment("seg_2.m4s", None)]
        );
        let out = p.render(&[Some([1; 32]), Some([2; 32]), Some([3; 32])]);
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines[1], tag::line(&[1; 32]));
        assert_eq!(lines[2], "#EXT-X-MAP:URI=\"init.mp4\"");
    }

    #[test]
    fn multivariant_playlists_have_no_targets() {
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow/stream.m3u8\n\
                    #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",URI=\"audio/stream.m3u8\"\n";
        assert!(targets(text).is_empty());
    }

    #[test]
    fn crlf_and_bad_ranges() {
        let text = "#EXTM3U\r\n#EXTINF:2,\r\n#EXT-X-BYTERANGE:x@1\r\nseg.ts\r\n\
                    #EXTINF:2,\r\n#EXT-X-BYTERANGE:18446744073709551615@1\r\nseg.ts\r\n\
                    #EXTINF:2,\r\n seg2.ts \r\n";
        // Malformed or overflowing ranges get no digest.
        assert_eq!(targets(text), [segment("seg2.ts", None)]);
    }

    #[test]
    fn attribute_lists() {
        let list = "URI=\"a,b.mp4\",BYTERANGE=\"10@0\",X=1";
        assert_eq!(attribute(list, "URI"), Some("a,b.mp4"));
        assert_eq!(attribute(list, "BYTERANGE"), Some("10@0"));
        assert_eq!(attribute(list, "X"), Some("1"));
        assert_eq!(attribute(list, "Y"), None);
        assert_eq!(attribute("URI=\"open", "URI"), None);
    }
}
