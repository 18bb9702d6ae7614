//! swarmcast's HLS origin: serves HLS folders over HTTP with the headers
//! players, CDNs and P2P loaders need (MIME types, CORS, byte ranges,
//! validators, cache lifetimes), plus `/health` and Prometheus `/metrics`.
//! With `--testcard` it also runs the live test card and serves it at /live.

mod cache;
pub mod cli;
mod conditional;
mod cors;
mod files;
mod handler;
mod media;
mod metrics;
mod mounts;
mod server;
pub mod shutdown;
mod version;
mod workers;

pub use server::run;
