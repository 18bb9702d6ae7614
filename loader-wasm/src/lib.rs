//! swarmcast loader: a sans-IO engine (`engine`, native-testable) plus a thin
//! browser shell (`shell`, wasm32 only) that executes the engine's actions.

pub mod engine;
#[cfg(target_arch = "wasm32")]
mod shell;

// Talc instead of the default dlmalloc: a fraction of its code in the wasm,
// and faster for the loader's mix of small messages and large segments.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
