//! The caller's abort, shared by everything in a composition that waits for it: the
//! schedule, the compensations, and the probe each request asks just before it is sent.
//!
//! Not `futures`' `Shared`: it keeps a waker per clone behind a `Mutex` and an `Arc`, for
//! clones polled from any thread and any task. A composition is one task on one thread,
//! and its waiters wait one after the other (the schedule, then the compensations), so
//! one waker is enough: 3.0 KB of .wasm code and 0.7 KB of its data left, 1,593 bytes
//! gzip (docs/performance.md).

use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A clone of the abort: ready once the caller's future has completed, for every clone.
#[derive(Clone)]
pub(crate) struct Abort<'a>(Rc<Inner<'a>>);

struct Inner<'a> {
    /// The caller's future, until it completes.
    future: RefCell<Option<LocalBoxFuture<'a, ()>>>,
    /// The waker of the last poll that waits for the abort: the composition's task.
    waker: RefCell<Option<Waker>>,
}

impl<'a> Abort<'a> {
    /// Shares `cancel`, which is polled only when a clone is.
    pub(crate) fn new(cancel: impl Future<Output = ()> + 'a) -> Self {
        Abort(Rc::new(Inner {
            future: RefCell::new(Some(Box::pin(cancel))),
            waker: RefCell::new(None),
        }))
    }

    /// Whether the abort has come, asked without waiting for it. When it has just come,
    /// the task that waits for it is woken, so that it sees the abort too.
    pub(crate) fn happened(&self) -> bool {
        let waker = self.0.waker.borrow().clone();
        let waker = waker.unwrap_or_else(|| futures::task::noop_waker_ref().clone());
        let was_pending = self.0.future.borrow().is_some();
        let ready = self
            .0
            .poll_with(&mut Context::from_waker(&waker))
            .is_ready();
        if ready && was_pending {
            waker.wake();
        }
        ready
    }
}

impl Inner<'_> {
    /// Polls the caller's future with `cx`, unless it has completed already.
    fn poll_with(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut future = self.future.borrow_mut();
        let Some(pending) = future.as_mut() else {
            return Poll::Ready(());
        };
        let poll = pending.as_mut().poll(cx);
        if poll.is_ready() {
            *future = None;
        }
        poll
    }
}

impl Future for Abort<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.waker.borrow_mut() = Some(cx.waker().clone());
        self.0.poll_with(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::oneshot;
    use futures::task::noop_waker_ref;
    use futures::FutureExt;

    #[test]
    fn every_clone_and_the_probe_see_the_abort_once_it_comes() {
        let (send, receive) = oneshot::channel::<()>();
        let abort = Abort::new(receive.map(|_| ()));
        let mut waiting = abort.clone();
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(waiting.poll_unpin(&mut cx).is_pending());
        assert!(!abort.happened());
        send.send(()).unwrap();
        assert!(abort.happened());
        assert!(waiting.poll_unpin(&mut cx).is_ready());
        assert!(abort.clone().poll_unpin(&mut cx).is_ready());
        assert!(abort.happened());
    }

    #[test]
    fn the_probe_wakes_the_task_that_waits() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        struct Count(AtomicUsize);
        impl futures::task::ArcWake for Count {
            fn wake_by_ref(this: &Arc<Self>) {
                this.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = futures::task::waker(count.clone());
        let (send, receive) = oneshot::channel::<()>();
        let abort = Abort::new(receive.map(|_| ()));
        let mut waiting = abort.clone();
        assert!(waiting
            .poll_unpin(&mut Context::from_waker(&waker))
            .is_pending());
        // The probe polls with the waiting task's waker, never replacing it with another.
        assert!(!abort.happened());
        send.send(()).unwrap();
        let woken = count.0.load(Ordering::SeqCst);
        assert!(woken >= 1, "the sender wakes the task that waits");
        assert!(abort.happened());
        assert!(
            count.0.load(Ordering::SeqCst) > woken,
            "and so does the probe"
        );
    }
}
