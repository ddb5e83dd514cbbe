//! The caller's `AbortSignal` as a future that completes when the signal aborts.
//!
//! A gloo-events `EventListener` for `abort` sends on a `futures::channel::oneshot`; the
//! receiving end is the future. Node's `AbortSignal` is an `EventTarget` like a browser's,
//! so the same listener works in pages, workers and Node.

use crate::engine::transport::BoxFuture;
use futures::channel::oneshot;
use gloo_events::EventListener;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
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
        // Once aborted, it stays so: the engine may look at the future again after it
        // completed (a spent oneshot would then say the sender was dropped).
        let mut waiting = Some(aborted);
        let aborted = Box::pin(std::future::poll_fn(move |cx| {
            if let Some(receiver) = waiting.as_mut() {
                match Pin::new(receiver).poll(cx) {
                    Poll::Ready(Ok(())) => waiting = None,
                    // The listener is gone without an abort: none will come.
                    Poll::Ready(Err(oneshot::Canceled)) | Poll::Pending => return Poll::Pending,
                }
            }
            Poll::Ready(())
        }));
        (
            AbortListener {
                _listener: listener,
            },
            aborted,
        )
    }
}

// In Node only (`wasm-pack test --node` runs the library's unit tests); the suite in
// tests/common/platform.rs covers the browsers through `compose`.
#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::AbortListener;
    use futures::FutureExt;
    use wasm_bindgen_test::wasm_bindgen_test;
    use web_sys::AbortController;

    #[wasm_bindgen_test]
    fn completes_on_abort_and_stays_complete() {
        let controller = AbortController::new().unwrap();
        let (_listener, mut aborted) = AbortListener::new(controller.signal());
        assert_eq!(aborted.as_mut().now_or_never(), None);
        controller.abort();
        assert_eq!(aborted.as_mut().now_or_never(), Some(()));
        assert_eq!(aborted.as_mut().now_or_never(), Some(()), "polled again");
    }

    #[wasm_bindgen_test]
    fn never_completes_once_the_listener_is_gone() {
        let controller = AbortController::new().unwrap();
        let (listener, mut aborted) = AbortListener::new(controller.signal());
        drop(listener);
        controller.abort();
        assert_eq!(aborted.as_mut().now_or_never(), None);
    }
}
