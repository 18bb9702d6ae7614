//! Reads the page's `Swarmcast.attach` options (a plain JS object) into the
//! engine's typed `Config`. Absent or mistyped fields keep the engine's
//! defaults, so a typo never breaks playback.

use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;

use crate::engine::{Config, Millis};

fn get(options: &JsValue, key: &str) -> JsValue {
    Reflect::get(options, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn set_bool(options: &JsValue, key: &str, field: &mut bool) {
    if let Some(v) = get(options, key).as_bool() {
        *field = v;
    }
}

/// A non-negative number, scaled (e.g. seconds to ms).
fn number(options: &JsValue, key: &str, scale: f64) -> Option<f64> {
    get(options, key)
        .as_f64()
        .filter(|v| *v >= 0.0)
        .map(|v| v * scale)
}

fn set_ms(options: &JsValue, key: &str, scale: f64, field: &mut Millis) {
    if let Some(v) = number(options, key, scale) {
        *field = v as Millis;
    }
}

fn set_count(options: &JsValue, key: &str, field: &mut usize) {
    if let Some(v) = number(options, key, 1.0) {
        *field = v as usize;
    }
}

/// The engine configuration described by `options`.
pub fn engine_config(options: &JsValue) -> Config {
    let mut c = Config::default();
    let trackers = get(options, "trackers");
    if Array::is_array(&trackers) {
        c.trackers = Array::from(&trackers)
            .iter()
            .filter_map(|t| t.as_string())
            .collect();
    }
    c.swarm_id = get(options, "swarmId").as_string();
    set_bool(options, "p2p", &mut c.p2p);
    set_bool(options, "upload", &mut c.upload);
    set_bool(options, "testOnlyCorruptUploads", &mut c.corrupt_uploads);
    set_bool(options, "validateP2p", &mut c.validate_p2p);
    set_count(options, "maxPeers", &mut c.max_peers);
    set_count(options, "maxHttpDownloads", &mut c.http_downloads);
    set_count(options, "maxP2PDownloads", &mut c.p2p_downloads);
    set_count(options, "memoryCapBytes", &mut c.memory_cap);
    set_ms(options, "httpWindowSeconds", 1000.0, &mut c.http_window_ms);
    set_ms(options, "p2pWindowSeconds", 1000.0, &mut c.p2p_window_ms);
    set_ms(options, "seedWindowSeconds", 1000.0, &mut c.seed_window_ms);
    set_ms(options, "p2pTimeoutMs", 1.0, &mut c.peer_timeout_ms);
    set_ms(options, "httpTimeoutMs", 1.0, &mut c.http_timeout_ms);
    c
}

/// The RTCConfiguration for every peer connection: the page's, or a public
/// STUN server so that viewers behind NAT find each other.
pub fn rtc_config(options: &JsValue) -> JsValue {
    let v = get(options, "rtcConfig");
    if v.is_object() {
        return v;
    }
    let server = js_sys::Object::new();
    let _ = Reflect::set(
        &server,
        &"urls".into(),
        &"stun:stun.l.google.com:19302".into(),
    );
    let config = js_sys::Object::new();
    let _ = Reflect::set(&config, &"iceServers".into(), &Array::of1(&server));
    config.into()
}
