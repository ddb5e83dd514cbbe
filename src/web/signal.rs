//! The caller's `AbortSignal` as a future that completes when the signal aborts.
//!
//! A gloo-events `EventListener` for `abort` sends on a `futures::channel::oneshot`; the
//! receiving end is the future. Node's `AbortSignal` is an `EventTarget` like a browser's,
//! so the same listener works in pages, workers and Node.

use crate::engine::transport::BoxFuture;
use futures::channel::oneshot;
use gloo_events::EventListener;
use web_sys::AbortSignal;

/// Listens for `abort` on a signal. Dropping it removes the listener, so a finished
/// composition leaves nothing attached to the caller's signal.
#[derive(Debug)]
#[must_use = "the signal is no longer listened to once this is dropped"]
pub struct AbortListener {
    // Held only for its `Drop`, which removes the listener.
    _listener: EventListener,
}

impl AbortListener {
    /// Starts listening on `signal`; the returned future completes when it aborts.
    ///
    /// The future never completes without an abort: once the listener is dropped (and
    /// with it the sending end), it stays pending rather than report an abort that did
    /// not happen.
    pub fn new(signal: AbortSignal) -> (AbortListener, BoxFuture<()>) {
        let (sent, aborted) = oneshot::channel::<()>();
        // `once`: the browser drops the listener after the one `abort` a signal can fire.
        let listener = EventListener::once(&signal, "abort", move |_| {
            // The receiver may be gone already (the composition ended): nothing to tell.
            let _ = sent.send(());
        });
        let aborted = Box::pin(async move {
            if aborted.await.is_err() {
                std::future::pending::<()>().await;
            }
        });
        (
            AbortListener {
                _listener: listener,
            },
            aborted,
        )
    }
}
