//! The swarm at scale, in simulation: N viewers of a live stream (~400 kbit/s,
//! 2 s segments) joining over 30 s, under the conditions real audiences
//! bring: 30 % of viewers upload below the stream's bitrate, 20 % of pairs
//! can never connect (strict NATs), one-way link latency of 25–125 ms, and
//! churn (10 % of the audience replaced per minute). Every segment a player
//! gets is checked against the origin's bytes by the simulation itself.
//!
//! Prints one Markdown row per N (default 10, 100, 300, 1000):
//!   cargo bench -p swarmcast-loader --bench swarm_scale [-- 100 1000]
//! `SIM_CONDITIONS` picks the conditions (default `slow,nat,latency,churn`;
//! `none` for ideal links), to see what each one costs.

// Shared with tests/swarm_sim.rs, which uses other parts of it.
#[allow(dead_code)]
#[path = "../tests/sim/mod.rs"]
mod sim;

use std::time::Instant;

use sim::{Sim, SimConfig};

const WARMUP_MS: u64 = 60_000;
const MEASURE_S: u64 = 120;

fn main() {
    let args: Vec<usize> = std::env::args().filter_map(|a| a.parse().ok()).collect();
    let ns = if args.is_empty() {
        vec![10, 100, 300, 1000]
    } else {
        args
    };
    println!(
        "| viewers | P2P ratio | (N-1)/N | ratio ÷ (N-1)/N | origin amplification | deadline misses | \
         behind live mean / max (s) | tracker messages/s | engine inputs/s (simulated) | \
         wall µs per viewer-second | run (s) | origin bytes handed to hls.js |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for n in ns {
        run(n);
    }
}

fn config(n: usize) -> SimConfig {
    let conditions = std::env::var("SIM_CONDITIONS").unwrap_or("slow,nat,latency,churn".into());
    let on = |c: &str| conditions.split(',').any(|x| x == c);
    let churn_per_min = (n / 10).max(1);
    let spares = churn_per_min * (WARMUP_MS as usize / 60_000 + MEASURE_S as usize / 60 + 1);
    let mut cfg = SimConfig::live(n + spares);
    cfg.viewers = Some(n);
    cfg.join_spread_ms = 30_000;
    // 2 Mbit/s uplinks; the slow 30 % at 240 kbit/s, below the stream's ~400.
    cfg.uplink = std::env::var("SIM_UPLINK").map_or(250, |v| v.parse().unwrap());
    if on("slow") {
        cfg.slow_share = 0.3;
        cfg.slow_uplink = 30;
    }
    if on("nat") {
        cfg.blocked_pairs = 0.2;
    }
    if on("latency") {
        cfg.latency_spread_ms = 100;
    }
    if on("churn") {
        cfg.churn_every_ms = Some(60_000 / churn_per_min as u64);
    }
    cfg
}

/// HTTP and P2P bytes downloaded by every node, including those that left.
fn downloaded(sim: &Sim) -> (u64, u64) {
    (0..sim.node_count()).fold((0, 0), |(h, p), i| {
        let s = sim.stats(i);
        (h + s.http_down, p + s.p2p_down)
    })
}

fn run(n: usize) {
    let started = Instant::now();
    let mut sim = Sim::new(config(n));
    sim.run_until(WARMUP_MS);
    let (h0, p0) = downloaded(&sim);
    let (t0, i0) = (sim.tracker_messages, sim.inputs);
    // Joining viewers fetch their first segments over HTTP before they have
    // peers: amplification counts the measured window only.
    let (o0, d0, handed0) = (sim.origin_bytes, sim.distinct_bytes(), sim.handed_bytes);
    let (mut behind_sum, mut behind_n, mut behind_max) = (0u64, 0u64, 0u64);
    for s in 1..=MEASURE_S {
        sim.run_until(WARMUP_MS + s * 1_000);
        let behind: Vec<u64> = sim.watching().filter_map(|i| sim.behind_live(i)).collect();
        behind_sum += behind.iter().sum::<u64>();
        behind_n += behind.len() as u64;
        behind_max = behind_max.max(behind.iter().copied().max().unwrap_or(0));
    }
    let wall = started.elapsed().as_secs_f64();
    let (h1, p1) = downloaded(&sim);
    let ratio = (p1 - p0) as f64 / ((h1 - h0) + (p1 - p0)).max(1) as f64;
    let ceiling = (n as f64 - 1.0) / n as f64;
    let sim_s = (WARMUP_MS / 1_000 + MEASURE_S) as f64;
    println!(
        "| {n} | {ratio:.3} | {ceiling:.3} | {:.2} | {:.2} | {} | {:.1} / {:.1} | {:.1} | {:.0} | {:.0} | {wall:.0} | {:.2} |",
        ratio / ceiling,
        (sim.origin_bytes - o0) as f64 / (sim.distinct_bytes() - d0).max(1) as f64,
        sim.miss_count(),
        behind_sum as f64 / behind_n.max(1) as f64 / 1_000.0,
        behind_max as f64 / 1_000.0,
        (sim.tracker_messages - t0) as f64 / MEASURE_S as f64,
        (sim.inputs - i0) as f64 / wall,
        wall * 1e6 / (n as f64 * sim_s),
        (sim.handed_bytes - handed0) as f64 / (sim.origin_bytes - o0).max(1) as f64,
    );
}
