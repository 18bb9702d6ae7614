//! swarmcast loader: a sans-IO engine (`engine`, native-testable) plus a thin
//! browser shell (`shell`, wasm32 only) that executes the engine's actions.

pub mod engine;
#[cfg(target_arch = "wasm32")]
mod shell;
