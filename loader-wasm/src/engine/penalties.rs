//! Penalties for a peer whose data failed the page's check: its id is
//! banned, and its remote address (as the shell saw the connection, see
//! [`Input::PeerAddress`](super::Input::PeerAddress)) gets a strike, so a
//! fresh id does not wipe the slate. Everyone behind one NAT shares an
//! address, so a strike does not shut it out: peers from it start on
//! probation (more segments checked one at a time, see `peers`), and only
//! repeated strikes close new connections from it, for a time that doubles
//! with each strike. A liar that reconnects under fresh ids thus gets at
//! most one segment per back-off, while an honest neighbour waits out the
//! back-off once. Without a known address (an mDNS name, a driver that
//! cannot tell) only the id ban applies.

use super::{ConnId, Engine, Millis, PeerId, Source};

/// Banned peer ids remembered; the oldest ban is forgotten first.
pub const MAX_BANNED: usize = 256;
/// Addresses with strikes remembered; the one struck longest ago is
/// forgotten first.
pub const MAX_STRUCK_ADDRESSES: usize = 256;
/// The second strike on an address refuses new connections from it for this
/// long; each further strike doubles it, up to [`MAX_BACKOFF_MS`].
pub const BACKOFF_MS: Millis = 30_000;
pub const MAX_BACKOFF_MS: Millis = 480_000;

struct Strikes {
    address: u32,
    count: u32,
    /// When the last strike came.
    at: Millis,
}

impl Strikes {
    /// New connections from the address are refused until then.
    fn until(&self) -> Millis {
        let backoff = match self.count {
            1 => 0,
            n => (BACKOFF_MS << (n - 2).min(16)).min(MAX_BACKOFF_MS),
        };
        self.at + backoff
    }
}

/// How a new connection from an address is treated.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    Clean,
    /// Struck before: the peer must pass more segments to be trusted.
    Probation,
    /// Backing off: the connection is closed.
    Refused,
}

#[derive(Default)]
pub struct Penalties {
    banned: Vec<PeerId>,
    struck: Vec<Strikes>,
}

impl Penalties {
    pub fn banned(&self, id: &PeerId) -> bool {
        self.banned.contains(id)
    }

    /// Bans `id` and adds a strike to `address`, as far as they are known.
    pub fn punish(&mut self, id: Option<PeerId>, address: Option<u32>, now: Millis) {
        if let Some(id) = id {
            if self.banned.len() >= MAX_BANNED {
                self.banned.remove(0);
            }
            self.banned.push(id);
        }
        let Some(address) = address else { return };
        let fresh = Strikes {
            address,
            count: 0,
            at: now,
        };
        let i = match self.struck.iter().position(|s| s.address == address) {
            Some(i) => i,
            None if self.struck.len() < MAX_STRUCK_ADDRESSES => {
                self.struck.push(fresh);
                self.struck.len() - 1
            }
            // Full: the address struck longest ago is forgotten.
            None => {
                let oldest = (0..self.struck.len()).min_by_key(|&i| self.struck[i].at);
                let i = oldest.unwrap_or(0);
                self.struck[i] = fresh;
                i
            }
        };
        let s = &mut self.struck[i];
        s.count += 1;
        s.at = now;
    }

    pub fn standing(&self, address: u32, now: Millis) -> Standing {
        match self.struck.iter().find(|s| s.address == address) {
            None => Standing::Clean,
            Some(s) if now < s.until() => Standing::Refused,
            Some(_) => Standing::Probation,
        }
    }
}

impl Engine {
    /// The shell learnt where `conn` connects from: a connection from an
    /// address backing off is closed, one from a struck address is on probation.
    pub(super) fn on_peer_address(&mut self, conn: ConnId, address: u32) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        peer.address = Some(address);
        match self.penalties.standing(address, self.now) {
            Standing::Refused => self.drop_peer(conn, true),
            Standing::Probation => peer.on_probation(),
            Standing::Clean => {}
        }
    }

    /// `conn` sent data that failed the page's check: banned, struck,
    /// dropped, and every other segment it sent thrown away (a peer trusted
    /// after one unchecked segment may have sent several ahead).
    pub(super) fn punish(&mut self, conn: ConnId) {
        if let Some(p) = self.peers.get(&conn) {
            self.penalties.punish(p.peer_id, p.address, self.now);
        }
        // What it was still sending is refused with the rest.
        let in_flight: usize = self
            .downloads
            .values()
            .filter(|d| d.peer() == Some(conn))
            .map(|d| d.buf.len())
            .sum();
        self.stats.p2p_rejected += in_flight as u64;
        self.drop_peer(conn, true);
        let mut offered = Vec::new();
        for (key, segment) in self.store.remove_from(Source::P2p(conn)) {
            // Its bytes did not help playback: keep the P2P ratio honest.
            let len = segment.data.len() as u64;
            self.stats.p2p_down = self.stats.p2p_down.saturating_sub(len);
            self.stats.p2p_rejected += len;
            self.stats.segments_p2p = self.stats.segments_p2p.saturating_sub(1);
            if segment.shared {
                offered.push(key);
            }
        }
        self.broadcast_have(&[], &offered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_strike_is_probation_and_more_back_off_for_a_doubling_time() {
        let mut p = Penalties::default();
        let (a, b) = (7, 8);
        assert_eq!(p.standing(a, 0), Standing::Clean);
        p.punish(None, Some(a), 0);
        assert_eq!(p.standing(a, 0), Standing::Probation);
        assert_eq!(p.standing(b, 0), Standing::Clean, "per address");
        p.punish(None, Some(a), 1_000);
        assert_eq!(p.standing(a, 1_000 + BACKOFF_MS - 1), Standing::Refused);
        assert_eq!(p.standing(a, 1_000 + BACKOFF_MS), Standing::Probation);
        p.punish(None, Some(a), 100_000);
        assert_eq!(
            p.standing(a, 100_000 + 2 * BACKOFF_MS - 1),
            Standing::Refused
        );
        assert_eq!(p.standing(a, 100_000 + 2 * BACKOFF_MS), Standing::Probation);
        for _ in 0..40 {
            p.punish(None, Some(a), 200_000);
        }
        assert_eq!(p.standing(a, 200_000 + MAX_BACKOFF_MS), Standing::Probation);
    }

    #[test]
    fn ids_and_addresses_are_bounded_tables() {
        let mut p = Penalties::default();
        for n in 0..1_000u32 {
            let mut id = [0; 20];
            id[..4].copy_from_slice(&n.to_le_bytes());
            p.punish(Some(id), Some(n + 1), n.into());
        }
        assert_eq!(
            (p.banned.len(), p.struck.len()),
            (MAX_BANNED, MAX_STRUCK_ADDRESSES)
        );
        assert_eq!(
            p.standing(1, 0),
            Standing::Clean,
            "the oldest strike is forgotten"
        );
        assert_eq!(p.standing(1_000, 1_000), Standing::Probation);
    }

    #[test]
    fn an_unknown_address_leaves_the_id_ban() {
        let mut p = Penalties::default();
        p.punish(Some([1; 20]), None, 0);
        assert!(p.banned(&[1; 20]) && !p.banned(&[2; 20]));
        assert!(p.struck.is_empty());
    }
}
