//! Feeds arbitrary scripts of peer messages, tracker replies, hls.js
//! requests and time to the loader engine (the script format and the checks
//! are in `loader-wasm/tests/fuzz/mod.rs`, shared with the stable proptest).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz/mod.rs"]
mod fuzz;

fuzz_target!(|data: &[u8]| {
    fuzz::run(data);
});
