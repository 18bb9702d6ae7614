//! HLS playlists as hls.js sees them: variants in the master's order,
//! segment URLs are absolute, byte ranges resolved, and each segment's start
//! time is carried over from the previous load by sequence number (hls.js's
//! sliding-window alignment), so a live timeline never jumps on reload.

use std::collections::HashMap;

use m3u8_rs::{MediaPlaylist, Playlist as M3u8, VariantStream};
use swarmcast_loader::engine::{
    main_stream_name, ByteRange, Millis, Playlist, SegmentInfo, StreamKind, VariantAttributes,
};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum PlaylistError {
    #[error("{0} is not an M3U8 playlist")]
    Unparsable(Url),
    #[error("{0} names no playable variant")]
    NoVariant(Url),
    #[error("{url}: bad segment URI {uri:?}")]
    BadUri { url: Url, uri: String },
}

/// A variant of a master playlist.
pub struct Variant {
    /// Its media playlist.
    pub url: Url,
    /// What names it when a swarm id is set.
    pub attributes: VariantAttributes,
}

/// What a fetched manifest asks the player to do next.
pub enum Manifest {
    /// A master playlist: its variants, in listed order (hls.js starts on
    /// the first).
    Variants(Vec<Variant>),
    /// A media playlist: play it.
    Media(MediaPlaylist),
}

/// Parses a manifest fetched from `url`.
pub fn parse(url: &Url, body: &[u8]) -> Result<Manifest, PlaylistError> {
    match m3u8_rs::parse_playlist_res(body) {
        Ok(M3u8::MasterPlaylist(m)) => {
            let variants = m
                .variants
                .iter()
                .filter(|v| !v.is_i_frame)
                .map(|v| {
                    let uri = url.join(&v.uri).map_err(|_| PlaylistError::BadUri {
                        url: url.clone(),
                        uri: v.uri.clone(),
                    })?;
                    Ok(Variant {
                        url: uri,
                        attributes: attributes(v),
                    })
                })
                .collect::<Result<Vec<Variant>, _>>()?;
            if variants.is_empty() {
                return Err(PlaylistError::NoVariant(url.clone()));
            }
            Ok(Manifest::Variants(variants))
        }
        Ok(M3u8::MediaPlaylist(m)) => Ok(Manifest::Media(m)),
        Err(_) => Err(PlaylistError::Unparsable(url.clone())),
    }
}

/// A variant's attributes as hls.js reads them into a `Level`.
fn attributes(v: &VariantStream) -> VariantAttributes {
    let bitrate = match v.bandwidth {
        0 => v.average_bandwidth.unwrap_or(0),
        b => b,
    };
    let (width, height) = v
        .resolution
        .as_ref()
        .map_or((0, 0), |r| (r.width, r.height));
    VariantAttributes {
        bitrate,
        width,
        height,
        frame_rate: v.frame_rate.unwrap_or(0.0),
        video_range: v
            .other_attributes
            .as_ref()
            .and_then(|a| a.get("VIDEO-RANGE"))
            .map_or_else(String::new, |r| r.as_str().to_owned()),
        hdcp_level: v
            .hdcp_level
            .as_ref()
            .map_or_else(String::new, |h| h.to_string()),
        codecs: v.codecs.clone().unwrap_or_default(),
    }
}

/// One followed media playlist: its latest load on a stable timeline.
pub struct MediaStream {
    /// The manifest the player opened (names the swarm).
    manifest: Url,
    url: Url,
    /// The engine's name for it (`Playlist::stream`).
    name: String,
    /// Start time of every segment seen so far, by sequence number.
    starts: HashMap<u64, Millis>,
    pub live: bool,
    pub target_duration_ms: Millis,
    pub segments: Vec<SegmentInfo>,
}

impl MediaStream {
    /// A main rendition, named by its URL, or (with a swarm id) by its
    /// attributes.
    pub fn new(manifest: Url, url: Url, by_attributes: Option<&VariantAttributes>) -> Self {
        MediaStream {
            manifest,
            name: main_stream_name(url.as_str(), by_attributes),
            url,
            starts: HashMap::new(),
            live: true,
            target_duration_ms: 0,
            segments: Vec::new(),
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The stream's name for the engine, as the browser glue names a main
    /// rendition: any other name is another stream id, whose segments pages
    /// never ask for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes a (re)load; returns whether it listed a segment not seen before.
    pub fn update(&mut self, m: &MediaPlaylist) -> Result<bool, PlaylistError> {
        let first = m.media_sequence;
        // Where the new window starts on our timeline: a known segment keeps
        // its time; otherwise continue after the last segment we knew.
        let anchor = m
            .segments
            .iter()
            .zip(first..)
            .find_map(|(_, sn)| self.starts.get(&sn).map(|&t| (sn, t)));
        let mut t = match anchor {
            Some((sn, start)) => {
                let before: f64 = m.segments[..(sn - first) as usize]
                    .iter()
                    .map(|s| f64::from(s.duration) * 1000.0)
                    .sum();
                start as f64 - before
            }
            None => self
                .segments
                .last()
                .map_or(0.0, |s| (s.start_ms + s.duration_ms) as f64),
        };
        let mut segments = Vec::with_capacity(m.segments.len());
        let mut range_end: HashMap<&str, u64> = HashMap::new();
        for (seg, sn) in m.segments.iter().zip(first..) {
            let url = self.url.join(&seg.uri).map_err(|_| PlaylistError::BadUri {
                url: self.url.clone(),
                uri: seg.uri.clone(),
            })?;
            let range = seg.byte_range.as_ref().map(|r| {
                // No offset: the range follows the previous one of the same file.
                let start = r
                    .offset
                    .unwrap_or_else(|| range_end.get(seg.uri.as_str()).copied().unwrap_or(0));
                range_end.insert(&seg.uri, start + r.length);
                ByteRange {
                    start,
                    end: start + r.length,
                }
            });
            let duration = f64::from(seg.duration) * 1000.0;
            segments.push(SegmentInfo {
                sn,
                url: url.into(),
                range,
                start_ms: t.max(0.0).round() as Millis,
                duration_ms: duration.round() as Millis,
            });
            t += duration;
        }
        let newest_before = self.segments.last().map(|s| s.sn);
        let grew = segments
            .last()
            .is_some_and(|s| newest_before.is_none_or(|n| s.sn > n));
        for s in &segments {
            self.starts.insert(s.sn, s.start_ms);
        }
        self.starts.retain(|&sn, _| sn >= first);
        self.live = !m.end_list;
        self.target_duration_ms = m.target_duration * 1000;
        self.segments = segments;
        Ok(grew)
    }

    /// The engine's view of this playlist.
    pub fn engine_playlist(&self) -> Playlist {
        Playlist {
            manifest_url: self.manifest.to_string(),
            stream: self.name.clone(),
            kind: StreamKind::Main,
            live: self.live,
            segments: self.segments.clone(),
        }
    }

    /// Media time of the end of the newest listed segment (the live edge).
    pub fn end_ms(&self) -> Millis {
        self.segments
            .last()
            .map_or(0, |s| s.start_ms + s.duration_ms)
    }

    pub fn segment(&self, sn: u64) -> Option<&SegmentInfo> {
        let first = self.segments.first()?.sn;
        self.segments.get(sn.checked_sub(first)? as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(first: u64, n: u64, end: bool) -> MediaPlaylist {
        let mut text = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
        );
        for sn in first..first + n {
            text.push_str(&format!("#EXTINF:2.0,\nseg_{sn:05}.ts\n"));
        }
        if end {
            text.push_str("#EXT-X-ENDLIST\n");
        }
        match parse(
            &Url::parse("http://o/live/a/stream.m3u8").unwrap(),
            text.as_bytes(),
        ) {
            Ok(Manifest::Media(m)) => m,
            _ => panic!("not a media playlist"),
        }
    }

    fn stream() -> MediaStream {
        let url = Url::parse("http://o/live/a/stream.m3u8").unwrap();
        MediaStream::new(Url::parse("http://o/live/master.m3u8").unwrap(), url, None)
    }

    #[test]
    fn master_resolves_its_variants_in_order() {
        let text = b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\na/stream.m3u8\n\
                     #EXT-X-STREAM-INF:BANDWIDTH=0,AVERAGE-BANDWIDTH=1800,RESOLUTION=640x360,\
                     FRAME-RATE=29.970,VIDEO-RANGE=PQ,HDCP-LEVEL=TYPE-0,\
                     CODECS=\"avc1.64001e,mp4a.40.2\"\nb/stream.m3u8?t=1\n";
        let url = Url::parse("http://o/live/master.m3u8").unwrap();
        let Manifest::Variants(v) = parse(&url, text).unwrap() else {
            panic!("master read as media");
        };
        assert_eq!(
            v.iter().map(|v| v.url.as_str()).collect::<Vec<_>>(),
            [
                "http://o/live/a/stream.m3u8",
                "http://o/live/b/stream.m3u8?t=1"
            ]
        );
        // What hls.js's levels hold, so a swarm id names them as pages do.
        let named = |v: &Variant| main_stream_name(v.url.as_str(), Some(&v.attributes));
        assert_eq!(named(&v[0]), "main/1000/0x0/0///");
        assert_eq!(
            named(&v[1]),
            "main/1800/640x360/29.97/PQ/TYPE-0/avc1.64001e,mp4a.40.2"
        );
        assert!(parse(&url, b"<html>").is_err());
    }

    #[test]
    fn reloads_keep_segment_times_and_report_growth() {
        let mut s = stream();
        assert!(s.update(&media(10, 3, false)).unwrap());
        assert_eq!(s.segments[0].start_ms, 0);
        assert_eq!(s.segments[0].url, "http://o/live/a/seg_00010.ts");
        assert!(!s.update(&media(10, 3, false)).unwrap());
        assert!(s.update(&media(11, 3, false)).unwrap());
        assert_eq!(s.segment(12).unwrap().start_ms, 4_000);
        assert_eq!(s.segment(13).unwrap().start_ms, 6_000);
        assert_eq!(s.end_ms(), 8_000);
        // A reload that skipped past everything continues from the old end.
        s.update(&media(20, 2, false)).unwrap();
        assert_eq!(s.segment(20).unwrap().start_ms, 8_000);
        s.update(&media(20, 2, true)).unwrap();
        assert!(!s.live);
    }

    #[test]
    fn byte_ranges_without_offset_follow_the_previous_one() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-BYTERANGE:100@0\n#EXTINF:2,\nall.ts\n\
                    #EXT-X-BYTERANGE:50\n#EXTINF:2,\nall.ts\n#EXT-X-ENDLIST\n";
        let Ok(Manifest::Media(m)) =
            parse(&Url::parse("http://o/v.m3u8").unwrap(), text.as_bytes())
        else {
            panic!("not media");
        };
        let mut s = stream();
        s.update(&m).unwrap();
        assert_eq!(
            s.segments[1].range,
            Some(ByteRange {
                start: 100,
                end: 150
            })
        );
    }
}
