//! `Flag`: a one-shot event that a JavaScript callback raises and a future awaits.
//! Shared by the abort listener and the timers.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct State {
    raised: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// The raising side; cheap to clone into a callback.
#[derive(Clone, Default)]
pub struct Flag(Rc<State>);

impl Flag {
    /// Raises the flag and wakes the task awaiting it.
    pub fn raise(&self) {
        self.0.raised.set(true);
        if let Some(waker) = self.0.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// A future that completes once the flag is raised.
    pub fn raised(&self) -> Raised {
        Raised(self.0.clone())
    }
}

/// Completes when its [`Flag`] is raised.
pub struct Raised(Rc<State>);

impl Future for Raised {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.raised.get() {
            Poll::Ready(())
        } else {
            *self.0.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}
