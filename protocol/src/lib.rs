//! Wire types shared by every swarmcast component: the WebTorrent tracker's
//! JSON messages and the binary peer-to-peer protocol. No I/O lives here, so
//! the crate compiles for native targets and for wasm32 alike.

pub mod ids;
pub mod peer;
pub mod tracker;
