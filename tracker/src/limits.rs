//! Admission control: caps on open connections, in total and per IP address.
//!
//! A permit is taken at accept time and released when the connection's task
//! ends, however it ends, because the permit frees its slot on drop.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::stats::Stats;

pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    stats: Arc<Stats>,
}

/// Proof that a connection was admitted; frees its slot when dropped.
pub struct Permit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize, stats: Arc<Stats>) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_ip,
            per_ip: Mutex::default(),
            stats,
        })
    }

    /// Admits a connection from `ip`, or refuses it when a cap is reached.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Permit> {
        let mut per_ip = self.per_ip.lock();
        let total = self.stats.connections.load(Ordering::Relaxed) as usize;
        let from_ip = per_ip.get(&ip).copied().unwrap_or(0);
        if total >= self.max_total || from_ip >= self.max_per_ip {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        per_ip.insert(ip, from_ip + 1);
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        Some(Permit {
            limits: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut per_ip = self.limits.per_ip.lock();
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.limits
            .stats
            .connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_ip_and_in_total_and_frees_on_drop() {
        let limits = ConnectionLimits::new(3, 2, Arc::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limits.admit(a).unwrap();
        let _second = limits.admit(a).unwrap();
        assert!(limits.admit(a).is_none(), "per-IP cap");
        let _third = limits.admit(b).unwrap();
        assert!(limits.admit(b).is_none(), "total cap");
        drop(first);
        assert!(limits.admit(a).is_some(), "slot freed");
    }
}
