//! Who we are and what we share: the swarm key (one swarm per rendition),
//! its 20-byte tracker info_hash, our peer id, the seeded PRNG behind every
//! random choice, and the rendezvous hash that elects a segment's seeder.

use super::PeerId;

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

/// Client prefix in WebTorrent style (`-XXvvvv-`), then 12 printable chars.
pub fn new_peer_id(rng: &mut Rng) -> PeerId {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = *b"-SC0100-000000000000";
    for b in &mut id[8..] {
        *b = ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize];
    }
    id
}

/// The swarm key: configured swarm id, else the manifest URL without its
/// query or fragment (tokens differ per viewer), plus the rendition key.
pub fn swarm_key(manifest_url: &str, swarm_id: Option<&str>, rendition: &str) -> String {
    // `split` rather than slicing at `find`: no char-boundary panic path,
    // which would drag Unicode tables into the wasm.
    let base = swarm_id
        .or_else(|| manifest_url.split(['?', '#']).next())
        .unwrap_or_default();
    let mut key = String::with_capacity(base.len() + rendition.len() + 1);
    key.push_str(base);
    key.push('|');
    key.push_str(rendition);
    key
}

/// 20-byte info_hash of a swarm key: FNV-1a-64 over the key, widened with
/// splitmix under three lane seeds. Only swarmcast clients need to agree.
pub fn info_hash(key: &str) -> [u8; 20] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut out = [0u8; 20];
    for (lane, chunk) in out.chunks_mut(8).enumerate() {
        let n = chunk.len();
        chunk.copy_from_slice(
            &mix(h ^ (lane as u64 + 1).wrapping_mul(0x9e37_79b9)).to_le_bytes()[..n],
        );
    }
    out
}

/// Rendezvous score: the lowest-scoring peer among those that know each
/// other is the segment's elected HTTP seeder. Every peer computes the same
/// ranking without messages.
pub fn rendezvous(peer: &PeerId, segment: u64) -> u64 {
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
    fn swarm_key_ignores_query_but_not_rendition() {
        let a = swarm_key("https://cdn/x/master.m3u8?token=1", None, "720p");
        let b = swarm_key("https://cdn/x/master.m3u8?token=2#t", None, "720p");
        let c = swarm_key("https://cdn/x/master.m3u8", None, "360p");
        assert_eq!(a, b);
        assert_ne!(info_hash(&a), info_hash(&c));
        assert_eq!(
            swarm_key("https://other/", Some("event-42"), "720p"),
            "event-42|720p"
        );
    }

    #[test]
    fn peer_ids_are_printable_and_distinct() {
        let mut rng = Rng::new(7);
        let a = new_peer_id(&mut rng);
        let b = new_peer_id(&mut rng);
        assert_ne!(a, b);
        assert!(a.starts_with(b"-SC0100-"));
        assert!(a.iter().all(|c| c.is_ascii_graphic()));
    }

    #[test]
    fn rendezvous_spreads_seeding_across_peers() {
        let mut rng = Rng::new(1);
        let peers: Vec<PeerId> = (0..6).map(|_| new_peer_id(&mut rng)).collect();
        let mut wins = [0u32; 6];
        for seg in 0..600 {
            let best = (0..6).min_by_key(|&i| rendezvous(&peers[i], seg)).unwrap();
            wins[best] += 1;
        }
        // Fair share is 100 each; allow generous noise.
        assert!(wins.iter().all(|&w| (50..160).contains(&w)), "{wins:?}");
    }
}
