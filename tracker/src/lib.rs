//! swarmcast-tracker: a WebTorrent-compatible WebSocket tracker.
//!
//! The binary is a thin wrapper over [`server::start`], which integration
//! tests also call to run real servers on 127.0.0.1.

pub mod config;
mod connection;
mod http;
mod limits;
mod offload;
mod outbox;
mod relay;
pub mod server;
mod stats;
mod swarm;
mod tls;
