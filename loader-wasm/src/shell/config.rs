//! The page's `Swarmcast.attach` (and `configure`) options as the engine's
//! typed `Config`. The JS glue (`js/swarmcast.js`) has already checked their
//! types and flattened them, so the wasm needs no property lookups by name.
//! Number lists cross as plain JS arrays, read element by element: a
//! `Vec<f64>` argument would add wasm-bindgen's copy helpers to the glue.

use js_sys::Array;

use super::js::strings;
use crate::engine::{Config, Millis};

/// `settings` holds, in this order, each -1 when the page left it unset (or
/// mistyped), so that the engine's default stays: the flags `p2p`, `upload`,
/// `testOnlyCorruptUploads`, `validateP2p`, `download` (1 or 0); the counts `maxPeers`,
/// `maxHttpDownloads`, `maxP2PDownloads`, `memoryCapBytes`; the windows
/// `httpWindowSeconds`, `p2pWindowSeconds`, `seedWindowSeconds` (seconds); the
/// times `p2pTimeoutMs`, `httpTimeoutMs`, `startupPeerWaitMs`. `trackers` are
/// the tracker URLs.
pub fn engine_config(settings: &Array, trackers: &Array, swarm_id: Option<String>) -> Config {
    let mut c = Config::default();
    let mut given = settings.iter().map(|v| v.as_f64().filter(|v| *v >= 0.0));
    let mut next = || given.next().flatten();
    for flag in [
        &mut c.p2p,
        &mut c.upload,
        &mut c.corrupt_uploads,
        &mut c.validate_p2p,
        &mut c.download,
    ] {
        if let Some(v) = next() {
            *flag = v != 0.0;
        }
    }
    for count in [
        &mut c.max_peers,
        &mut c.http_downloads,
        &mut c.p2p_downloads,
        &mut c.memory_cap,
    ] {
        if let Some(v) = next() {
            *count = v as usize;
        }
    }
    for (ms, scale) in [
        (&mut c.http_window_ms, 1000.0),
        (&mut c.p2p_window_ms, 1000.0),
        (&mut c.seed_window_ms, 1000.0),
        (&mut c.peer_timeout_ms, 1.0),
        (&mut c.http_timeout_ms, 1.0),
        (&mut c.startup_peer_wait_ms, 1.0),
    ] {
        if let Some(v) = next() {
            *ms = (v * scale) as Millis;
        }
    }
    c.trackers.extend(strings(trackers));
    c.swarm_id = swarm_id;
    c
}
