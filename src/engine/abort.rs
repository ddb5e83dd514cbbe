//! The caller's abort, as the parts of one composition share it: the schedule waits on
//! it, then the compensations do, and every request asks, just before it is sent,
//! whether it has happened.
//!
//! Not `futures`' `Shared`, measured: `Shared` keeps a table of wakers for any number of
//! clones waiting at once, and the schedule polled it at every wake of the composition,
//! and cloned, polled and dropped it for every request: about 0.3 µs per call of bench
//! B's plans (Chromium's profile), and 1.6 KB of .wasm. Here one task at a time waits
//! (the schedule, and once it has ended the compensations, one after another), so one
//! waker is kept, and a request's question is one poll of the caller's future.

use futures::future::{FutureExt, LocalBoxFuture};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The caller's abort future, polled by one waiting task at a time and asked without
/// waiting by anyone.
pub(crate) struct CallerAbort<'f> {
    /// `None` once it has completed: it stays complete, and is not polled again.
    future: RefCell<Option<LocalBoxFuture<'f, ()>>>,
    /// The task that waits on it last: a question polls the caller's future with this
    /// waker, so the future goes on waking the task that waits (it keeps the last waker
    /// it was polled with).
    waiting: RefCell<Option<Waker>>,
}

impl<'f> CallerAbort<'f> {
    pub fn new(future: impl Future<Output = ()> + 'f) -> Self {
        CallerAbort {
            future: RefCell::new(Some(future.boxed_local())),
            waiting: RefCell::new(None),
        }
    }

    /// Whether the caller has aborted, asked without waiting.
    pub fn happened(&self) -> bool {
        let waiting = self.waiting.borrow();
        let waker = waiting.as_ref().unwrap_or(futures::task::noop_waker_ref());
        self.poll_with(&mut Context::from_waker(waker)).is_ready()
    }

    /// A future that completes when the caller aborts (at once if it has). One task at
    /// a time may wait on it: the last to poll is the one woken.
    pub fn wait(&self) -> Wait<'_, 'f> {
        Wait(self)
    }

    fn poll_with(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Ok(mut future) = self.future.try_borrow_mut() else {
            return Poll::Pending; // asked from inside its own poll: not yet, then
        };
        let Some(pending) = future.as_mut() else {
            return Poll::Ready(());
        };
        let polled = pending.poll_unpin(cx);
        if polled.is_ready() {
            *future = None;
        }
        polled
    }
}

/// [`CallerAbort::wait`]'s future.
#[derive(Clone, Copy)]
pub(crate) struct Wait<'a, 'f>(&'a CallerAbort<'f>);

impl Future for Wait<'_, '_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let abort = self.0;
        if let Ok(mut waiting) = abort.waiting.try_borrow_mut() {
            if !waiting.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waiting = Some(cx.waker().clone());
            }
        }
        abort.poll_with(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::CallerAbort;
    use futures::channel::oneshot;
    use futures::task::{waker, ArcWake};
    use futures::FutureExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Context;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl ArcWake for Count {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_question_does_not_take_the_wake_from_the_task_that_waits() {
        let (send, receive) = oneshot::channel::<()>();
        let abort = CallerAbort::new(receive.map(|_| ()));
        let count = Arc::new(Count::default());
        let task = waker(count.clone());
        let mut wait = abort.wait();
        assert!(wait
            .poll_unpin(&mut Context::from_waker(&task))
            .is_pending());
        assert!(!abort.happened());
        send.send(()).unwrap();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "the waiting task was woken"
        );
        assert!(abort.happened());
        assert!(abort.happened(), "and it stays so");
        assert!(wait.poll_unpin(&mut Context::from_waker(&task)).is_ready());
        assert!(abort.wait().now_or_never().is_some());
    }

    #[test]
    fn a_question_before_anyone_waits_answers_too() {
        let (send, receive) = oneshot::channel::<()>();
        let abort = CallerAbort::new(receive.map(|_| ()));
        assert!(!abort.happened());
        send.send(()).unwrap();
        assert!(abort.happened());
    }
}
