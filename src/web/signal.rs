//! An `AbortSignal` as a future that completes when the signal aborts.

use crate::engine::transport::BoxFuture;
use crate::web::flag::Flag;
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

/// Listens for `abort` on a signal; stops listening when dropped, so a finished
/// composition leaves nothing attached to the caller's signal.
pub struct AbortListener {
    signal: AbortSignal,
    callback: Closure<dyn FnMut()>,
}

impl std::fmt::Debug for AbortListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AbortListener")
            .field("aborted", &self.signal.aborted())
            .finish()
    }
}

impl AbortListener {
    /// Starts listening on `signal`; the returned future completes on abort.
    pub fn new(signal: AbortSignal) -> (AbortListener, BoxFuture<()>) {
        let flag = Flag::default();
        let raise = flag.clone();
        let callback = Closure::<dyn FnMut()>::new(move || raise.raise());
        let _ = signal.add_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
        (AbortListener { signal, callback }, Box::pin(flag.raised()))
    }
}

impl Drop for AbortListener {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", self.callback.as_ref().unchecked_ref());
    }
}
