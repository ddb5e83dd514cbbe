//! An `AbortSignal` as a future that completes when the signal aborts.

use futures::channel::oneshot;
use futures::future::{FutureExt, LocalBoxFuture};
use std::cell::RefCell;
use std::rc::Rc;
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
    pub fn new(signal: AbortSignal) -> (AbortListener, LocalBoxFuture<'static, ()>) {
        let (tx, rx) = oneshot::channel::<()>();
        let tx = Rc::new(RefCell::new(Some(tx)));
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(());
            }
        });
        let _ = signal.add_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
        // A dropped sender (listener gone) must never look like an abort.
        let fired = rx.then(|r| async move {
            if r.is_err() {
                futures::future::pending::<()>().await;
            }
        });
        (AbortListener { signal, callback }, fired.boxed_local())
    }
}

impl Drop for AbortListener {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", self.callback.as_ref().unchecked_ref());
    }
}
