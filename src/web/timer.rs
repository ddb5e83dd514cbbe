//! `Timer`: a `setTimeout` as a future; dropping it clears the timeout.
//!
//! Works in pages, workers and Node, which all have global `setTimeout`/`clearTimeout`.

use crate::web::flag::{Flag, Raised};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: f64) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Completes `ms` milliseconds after it was made.
pub struct Timer {
    raised: Raised,
    handle: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    /// Starts a timer of `ms` milliseconds.
    pub fn new(ms: f64) -> Timer {
        let flag = Flag::default();
        let raise = flag.clone();
        let callback = Closure::<dyn FnMut()>::new(move || raise.raise());
        let handle = set_timeout(callback.as_ref().unchecked_ref(), ms);
        Timer {
            raised: flag.raised(),
            handle,
            _callback: callback,
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.raised).poll(cx)
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.handle);
    }
}
