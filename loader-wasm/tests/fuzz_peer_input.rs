//! Stable-toolchain fuzzing of everything peers and trackers can send the
//! engine (`fuzz/mod.rs`): random scripts under proptest in every `cargo
//! test`, and a timed run for longer sessions:
//!
//!   SWARMCAST_FUZZ_SECS=600 cargo test --release -p swarmcast-loader \
//!     --test fuzz_peer_input -- --nocapture
//!
//! (`bench/loader/fuzz.sh` runs the same cases under libFuzzer with coverage
//! guidance, which needs nightly flags.)

mod fuzz;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

fn script() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..4_096)
}

proptest! {
    #![proptest_config(Config { cases: 64, ..Config::default() })]
    #[test]
    fn the_engine_survives_any_peer_and_tracker_input(data in script()) {
        fuzz::run(&data);
    }
}

#[test]
fn timed_fuzz_run() {
    let Some(secs) = std::env::var("SWARMCAST_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return;
    };
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let (mut cases, mut inputs) = (0u64, 0u64);
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    while std::time::Instant::now() < end {
        let data = script().new_tree(&mut runner).expect("a script").current();
        match std::panic::catch_unwind(|| fuzz::run(&data)) {
            Ok(n) => inputs += n,
            Err(panic) => {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                eprintln!("fuzz: failing script after {cases} cases: {hex}");
                std::panic::resume_unwind(panic);
            }
        }
        cases += 1;
    }
    eprintln!("fuzz: {cases} cases, {inputs} engine inputs in {secs} s, no failure");
}
