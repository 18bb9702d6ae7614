//! Who we are and what we share: the swarm key (one swarm per content, all
//! its streams in it), its 20-byte tracker info_hash, stream ids and segment
//! fingerprints on the wire, our peer id, the seeded PRNG behind every random
//! choice, and the rendezvous hash that elects a segment's seeder.

use super::{ByteRange, PeerId};

/// splitmix64: tiny, seedable and good enough for peer selection and ids.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn id20(&mut self) -> [u8; 20] {
        let mut id = [0u8; 20];
        for chunk in id.chunks_mut(8) {
            let n = chunk.len();
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..n]);
        }
        id
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The client prefix of a seeder's peer id (a viewer's is `-SC0100-`): the
/// super-peer an operator runs beside the origin says what it is this way,
/// so viewers leave new segments to it (see [`rendezvous`]).
pub const SEEDER_PREFIX: &[u8; 8] = b"-SS0100-";

/// Client prefix in WebTorrent style (`-XXvvvv-`: a viewer's, or
/// [`SEEDER_PREFIX`]), then 12 printable chars.
pub fn new_peer_id(rng: &mut Rng, seeder: bool) -> PeerId {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = *b"-SC0100-000000000000";
    if seeder {
        id[..8].copy_from_slice(SEEDER_PREFIX);
    }
    for b in &mut id[8..] {
        *b = ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize];
    }
    id
}

/// The swarm key: the configured swarm id, else the whole manifest URL. Its
/// query stays: `play.m3u8?ch=7` and `?ch=9` are different content, and
/// guessing which parameters are mere tokens could mix them. Viewers with
/// per-viewer tokens set a swarm id instead.
pub fn swarm_key<'a>(manifest_url: &'a str, swarm_id: Option<&'a str>) -> &'a str {
    swarm_id.unwrap_or(manifest_url)
}

/// 64-bit FNV-1a over `bytes`, continuing from `h`.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// 20-byte info_hash of a swarm key: FNV-1a-64 over the key, widened with
/// splitmix under three lane seeds. Only swarmcast clients need to agree.
pub fn info_hash(key: &str) -> [u8; 20] {
    let h = fnv(FNV_START, key.as_bytes());
    let mut out = [0u8; 20];
    for (lane, chunk) in out.chunks_mut(8).enumerate() {
        let n = chunk.len();
        chunk.copy_from_slice(
            &mix(h ^ (lane as u64 + 1).wrapping_mul(0x9e37_79b9)).to_le_bytes()[..n],
        );
    }
    out
}

/// A main rendition's attributes in the master playlist, as hls.js reads
/// them (a `Level`): all zero or empty when the manifest is a media playlist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariantAttributes {
    /// `BANDWIDTH`, else `AVERAGE-BANDWIDTH`.
    pub bitrate: u64,
    /// `RESOLUTION`.
    pub width: u64,
    pub height: u64,
    /// `FRAME-RATE`.
    pub frame_rate: f64,
    /// `VIDEO-RANGE` and `HDCP-LEVEL`, as written: with the above, what
    /// makes hls.js take two variants for one content (redundant streams).
    pub video_range: String,
    pub hdcp_level: String,
    /// `CODECS`, as written.
    pub codecs: String,
}

/// A main rendition's name (`Playlist::stream`). Without a swarm id, its
/// media playlist URL. With one, URLs may differ between viewers (tokens,
/// several CDNs), so it is the rendition's attributes, which every viewer
/// reads alike. Not its index: browsers drop levels they cannot decode, so
/// indices differ between them. The browser glue builds the same strings
/// (`streamName` in js/swarmcast.js); floats print as JS prints numbers.
pub fn main_stream_name(media_url: &str, by_attributes: Option<&VariantAttributes>) -> String {
    match by_attributes {
        None => format!("main {media_url}"),
        Some(a) => format!(
            "main/{}/{}x{}/{}/{}/{}/{}",
            a.bitrate, a.width, a.height, a.frame_rate, a.video_range, a.hdcp_level, a.codecs
        ),
    }
}

/// The wire id of a stream, from its name (`Playlist::stream`).
pub fn stream_id(name: &str) -> u64 {
    mix(fnv(FNV_START, name.as_bytes()))
}

/// A segment's fingerprint: its URL identity and byte range. Without a swarm
/// id the URL identity is the whole URL; with one, URLs may carry per-viewer
/// tokens in the query or the path, so it is the file name alone (the
/// stream already tells renditions apart).
pub fn fingerprint(url: &str, range: Option<ByteRange>, by_file_name: bool) -> u64 {
    let url = url.as_bytes();
    let name = if by_file_name {
        // Bytes, not chars: the separators are ASCII.
        let path_end = url.iter().position(|&b| b == b'?' || b == b'#');
        let path = &url[..path_end.unwrap_or(url.len())];
        let name_start = path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        &path[name_start..]
    } else {
        url
    };
    let (start, end) = range.map_or((0, 0), |r| (r.start, r.end));
    let h = fnv(FNV_START, name);
    mix(fnv(fnv(h, &start.to_le_bytes()), &end.to_le_bytes()))
}

/// Rendezvous score: the lowest-scoring peer among those that know each
/// other is the segment's elected HTTP seeder. Every peer computes the same
/// ranking without messages. A seeder scores 0 for every segment: the
/// viewers beside it never rank first, so they leave new segments to it.
pub fn rendezvous(peer: &PeerId, segment: u64) -> u64 {
    if peer.starts_with(SEEDER_PREFIX) {
        return 0;
    }
    let mut h = mix(segment ^ 0x5eed);
    for chunk in peer.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(w));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_main_rendition_is_named_by_url_or_by_the_attributes_hls_js_reads() {
        let url = "http://cdn-a/live/360p/stream.m3u8?token=1";
        assert_eq!(main_stream_name(url, None), format!("main {url}"));
        let level = VariantAttributes {
            bitrate: 800_000,
            width: 640,
            height: 360,
            frame_rate: 29.97,
            video_range: "SDR".into(),
            hdcp_level: String::new(),
            codecs: "avc1.64001e,mp4a.40.2".into(),
        };
        assert_eq!(
            main_stream_name(url, Some(&level)),
            "main/800000/640x360/29.97/SDR//avc1.64001e,mp4a.40.2"
        );
        // As `${30}` prints in JS, and hls.js's level of a media playlist.
        let thirty = VariantAttributes {
            frame_rate: 30.0,
            ..level
        };
        assert!(main_stream_name(url, Some(&thirty)).contains("/30/"));
        assert_eq!(
            main_stream_name(url, Some(&VariantAttributes::default())),
            "main/0/0x0/0///"
        );
    }

    #[test]
    fn swarm_key_keeps_the_query_unless_a_swarm_id_is_set() {
        let seven = swarm_key("https://cdn/play.m3u8?ch=7", None);
        let nine = swarm_key("https://cdn/play.m3u8?ch=9", None);
        assert_ne!(info_hash(seven), info_hash(nine));
        assert_eq!(
            swarm_key("https://cdn/a.m3u8?token=1", Some("event-42")),
            swarm_key("https://cdn/a.m3u8?token=2", Some("event-42"))
        );
    }

    #[test]
    fn fingerprints_tell_urls_and_ranges_apart() {
        let r = |start, end| Some(ByteRange { start, end });
        let url = "https://cdn/720p/seg_1.ts?t=abc";
        assert_ne!(
            fingerprint(url, None, false),
            fingerprint(url, r(0, 10), false)
        );
        assert_ne!(
            fingerprint(url, r(0, 10), false),
            fingerprint(url, r(10, 20), false)
        );
        assert_ne!(
            fingerprint(url, None, false),
            fingerprint("https://cdn/720p/seg_1.ts?t=xyz", None, false)
        );
        // By file name, per-viewer tokens in the query or the path drop out.
        assert_eq!(
            fingerprint(url, None, true),
            fingerprint("https://edge/tok/9f/720p/seg_1.ts?t=xyz", None, true)
        );
        assert_ne!(
            fingerprint(url, None, true),
            fingerprint("https://cdn/720p/seg_2.ts", None, true)
        );
        assert_ne!(stream_id("main/0"), stream_id("main/1"));
    }

    #[test]
    fn peer_ids_are_printable_and_distinct() {
        let mut rng = Rng::new(7);
        let a = new_peer_id(&mut rng, false);
        let b = new_peer_id(&mut rng, false);
        assert_ne!(a, b);
        assert!(a.starts_with(b"-SC0100-"));
        assert!(a.iter().all(|c| c.is_ascii_graphic()));
    }

    #[test]
    fn rendezvous_spreads_seeding_across_peers() {
        let mut rng = Rng::new(1);
        let peers: Vec<PeerId> = (0..6).map(|_| new_peer_id(&mut rng, false)).collect();
        let mut wins = [0u32; 6];
        for seg in 0..600 {
            let best = (0..6).min_by_key(|&i| rendezvous(&peers[i], seg)).unwrap();
            wins[best] += 1;
        }
        // Fair share is 100 each; allow generous noise.
        assert!(wins.iter().all(|&w| (50..160).contains(&w)), "{wins:?}");
    }

    #[test]
    fn a_seeder_ranks_first_for_every_segment() {
        let mut rng = Rng::new(3);
        let seeder = new_peer_id(&mut rng, true);
        assert!(seeder.starts_with(SEEDER_PREFIX));
        let viewers: Vec<PeerId> = (0..20).map(|_| new_peer_id(&mut rng, false)).collect();
        for seg in 0..500 {
            let first = viewers.iter().map(|v| rendezvous(v, seg)).min().unwrap();
            assert!(rendezvous(&seeder, seg) < first, "segment {seg}");
        }
    }
}
