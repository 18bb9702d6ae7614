//! Settings changed while playing ([`Input::Configure`]): each change takes
//! effect at once, and only what depends on it is touched. Download off is
//! for `check_stalls`: it hands every transfer from a peer to HTTP.
//!
//! [`Input::Configure`]: super::Input::Configure

use super::{Config, Engine};

impl Engine {
    pub(super) fn configure(&mut self, mut new: Config) {
        // Fixed at start: they decide whether and where to meet peers and
        // whether to serve them, name the swarm, say how peers' data is
        // checked and what kind of peer this is. (The JS glue changes p2p,
        // upload and trackers by starting a new engine.)
        new.p2p = self.cfg.p2p;
        new.trackers = std::mem::take(&mut self.cfg.trackers);
        new.swarm_id = self.cfg.swarm_id.take();
        new.validate_p2p = self.cfg.validate_p2p;
        new.corrupt_uploads = self.cfg.corrupt_uploads;
        new.seeder = self.cfg.seeder;
        new.upload = self.cfg.upload;
        self.cfg = new;
        self.store.set_cap(self.cfg.memory_cap);
        self.make_room();
    }
}
