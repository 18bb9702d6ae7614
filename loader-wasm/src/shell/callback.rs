//! Browser callbacks without an async runtime. Promises settle into plain
//! callbacks, which keeps wasm-bindgen-futures' executor out of the wasm.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Any promise, as seen by `then_or`.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then(this: &Thenable, ok: &JsValue, err: &JsValue) -> JsValue;
}

/// `promise.then(ok, err)`, itself a promise; either may be `undefined`.
pub fn then_or(promise: &JsValue, ok: &JsValue, err: &JsValue) -> JsValue {
    promise.unchecked_ref::<Thenable>().then(ok, err)
}

/// A JS function running `f`. JS owns it and its garbage collector frees it,
/// so a callback may safely fire after its socket, peer or fetch is gone
/// (the driver drops such stale events). All share one signature, so
/// wasm-bindgen emits one JS wrapper for them.
pub fn callback(f: impl FnMut(JsValue) + 'static) -> JsValue {
    Closure::<dyn FnMut(JsValue)>::new(f).into_js_value()
}
