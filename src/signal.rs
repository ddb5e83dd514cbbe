//! An `AbortSignal` as a future that completes when the signal aborts.

use crate::in_flight::BoxFuture;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

/// Whether the signal fired, and the task to wake when it does.
#[derive(Default)]
struct Fired {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// Completes when the listener's `abort` event fires.
struct Aborted(Rc<Fired>);

impl Future for Aborted {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.fired.get() {
            Poll::Ready(())
        } else {
            *self.0.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

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
        let state = Rc::new(Fired::default());
        let fired = state.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            fired.fired.set(true);
            if let Some(waker) = fired.waker.borrow_mut().take() {
                waker.wake();
            }
        });
        let _ = signal.add_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
        (AbortListener { signal, callback }, Box::pin(Aborted(state)))
    }
}

impl Drop for AbortListener {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", self.callback.as_ref().unchecked_ref());
    }
}
