//! swarmcast's HLS origin: serves HLS folders over HTTP with the headers
//! players, CDNs and P2P loaders need (MIME types, CORS, byte ranges,
//! validators, cache lifetimes), plus `/health` and Prometheus `/metrics`.
//! With `--testcard` it also runs the live test card and serves it at /live.
//! Mounts can publish segment digests in their media playlists ([`digest`]);
//! [`folder`] writes the same digests into a folder for any other server.

mod annotate;
mod cache;
pub mod cli;
mod conditional;
mod cors;
pub mod digest;
mod digest_store;
mod files;
pub mod folder;
mod handler;
mod media;
mod metrics;
mod mounts;
mod publish;
mod server;
pub mod shutdown;
mod version;
mod workers;

pub use server::run;
