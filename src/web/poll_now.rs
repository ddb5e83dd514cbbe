//! A composition polled the moment the last request it waits for settles, not a turn later.
//!
//! wasm-bindgen-futures drives every export's future: a wake queues the future's task and
//! a microtask polls it (`queueMicrotask`). When a request's outcome arrives, that is one
//! more turn of the microtask queue between the reply and the dependent call it releases,
//! and in a chain of dependent calls nothing else shares the turn: bench B's chain runs
//! x0.66-0.79 per call without it (docs/performance.md).
//!
//! So a composition runs inside [`polled_on_settle`]: wasm-bindgen-futures still drives
//! it, through the outer future this returns, and the outcome callback of `fetch.rs`
//! hands an outcome over inside [`settling`], which polls at once the composition it
//! woke. The callback is called by JavaScript at the top of a microtask, never from
//! inside a poll, so polling there is safe; a wake anywhere else (a timer, the caller's
//! abort) resumes the outer future, as without this module.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// How many polls one outcome may cause before the rest is left to the microtask queue:
/// a future that keeps waking itself must not hold the page.
const MAX_POLLS: usize = 64;

/// A composition's future and what its outer future needs.
struct Slot<T> {
    body: RefCell<Option<Pin<Box<dyn Future<Output = T>>>>>,
    output: RefCell<Option<T>>,
    /// wasm-bindgen-futures' task: resumed when the body ends, or is woken outside
    /// [`settling`].
    outer: RefCell<Option<Waker>>,
    /// The body's waker, made once: it holds the slot, so it is let go with the body.
    inner: RefCell<Option<Waker>>,
}

/// A slot with its output's type erased, as the waker and [`settling`] hold it.
trait PollNow {
    fn poll_now(self: Rc<Self>);
    fn resume(&self);
}

thread_local! {
    /// Inside [`settling`]: a composition woken now is polled before it returns.
    static SETTLING: Cell<bool> = const { Cell::new(false) };
    static WOKEN: RefCell<Vec<Rc<dyn PollNow>>> = const { RefCell::new(Vec::new()) };
}

impl<T: 'static> PollNow for Slot<T> {
    fn poll_now(self: Rc<Self>) {
        // Already being polled (a wake from inside its own poll): the outer task polls
        // it again.
        let Ok(mut body) = self.body.try_borrow_mut() else {
            return self.resume();
        };
        let Some(future) = body.as_mut() else { return };
        if self.inner.borrow().is_none() {
            *self.inner.borrow_mut() = Some(waker(self.clone()));
        }
        // Lent, not cloned: a clone allocates, and this runs at every wake (bench B's deep
        // plan counted x0.99 of the instructions per call without it). Nothing in the poll
        // takes the waker out: only the owner's drop and the end below do.
        let polled = match self.inner.borrow().as_ref() {
            Some(waker) => future.as_mut().poll(&mut Context::from_waker(waker)),
            None => Poll::Pending,
        };
        if let Poll::Ready(output) = polled {
            *body = None;
            *self.output.borrow_mut() = Some(output);
            self.inner.borrow_mut().take();
            self.resume();
        }
    }

    fn resume(&self) {
        if let Some(outer) = self.outer.borrow().as_ref() {
            outer.wake_by_ref();
        }
    }
}

/// The body's waker. A `Waker` built on an `Rc` rather than an `Arc` (which `Wake` and
/// futures' `ArcWake` ask for, being `Send`): the slot holds JavaScript values, and a
/// wasm instance without threads never moves a waker to another thread.
fn waker(slot: Rc<dyn PollNow>) -> Waker {
    let raw = RawWaker::new(Box::into_raw(Box::new(slot)).cast(), &VTABLE);
    // SAFETY: the vtable's functions below take the pointer as the boxed `Rc` made here,
    // and the instance is single-threaded (no `atomics` target feature).
    unsafe { Waker::from_raw(raw) }
}

// The waker below is not `Send`: it must never be built for a wasm instance with threads.
#[cfg(target_feature = "atomics")]
compile_error!("src/web/poll_now.rs: its waker is single-threaded");

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// The `Rc` a waker's pointer holds, borrowed.
///
/// SAFETY (callers): `data` comes from [`waker`] and was not dropped.
unsafe fn slot_of(data: *const ()) -> ManuallyDrop<Box<Rc<dyn PollNow>>> {
    ManuallyDrop::new(unsafe { Box::from_raw(data as *mut Rc<dyn PollNow>) })
}

unsafe fn clone(data: *const ()) -> RawWaker {
    let slot = unsafe { slot_of(data) };
    RawWaker::new(Box::into_raw(Box::new(Rc::clone(&slot))).cast(), &VTABLE)
}

unsafe fn wake(data: *const ()) {
    unsafe {
        wake_by_ref(data);
        drop_waker(data);
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    let slot = unsafe { slot_of(data) };
    if SETTLING.get() {
        WOKEN.with_borrow_mut(|w| w.push(Rc::clone(&slot)));
    } else {
        slot.resume();
    }
}

unsafe fn drop_waker(data: *const ()) {
    drop(unsafe { Box::from_raw(data as *mut Rc<dyn PollNow>) });
}

/// `future`, polled at once when a request's outcome wakes it (see the module's docs).
pub(crate) fn polled_on_settle<T: 'static>(
    future: impl Future<Output = T> + 'static,
) -> impl Future<Output = T> {
    let slot = Rc::new(Slot {
        body: RefCell::new(Some(Box::pin(future) as Pin<Box<dyn Future<Output = T>>>)),
        output: RefCell::new(None),
        outer: RefCell::new(None),
        inner: RefCell::new(None),
    });
    let owner = Owner(slot.clone());
    std::future::poll_fn(move |cx| {
        let _ = &owner;
        let mut outer = slot.outer.borrow_mut();
        if !outer.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *outer = Some(cx.waker().clone());
        }
        drop(outer);
        if slot.output.borrow().is_none() {
            slot.clone().poll_now();
        }
        match slot.output.borrow_mut().take() {
            Some(output) => Poll::Ready(output),
            None => Poll::Pending,
        }
    })
}

/// Drops a composition's future with its outer future (its promise's task ended early):
/// the wakers inside it hold the slot.
struct Owner<T>(Rc<Slot<T>>);

impl<T> Drop for Owner<T> {
    fn drop(&mut self) {
        if let Ok(mut body) = self.0.body.try_borrow_mut() {
            body.take();
        }
        self.0.inner.borrow_mut().take();
    }
}

/// Runs `hand_over` (which hands a request's outcome to the future waiting for it), then
/// polls the compositions it woke.
pub(crate) fn settling(hand_over: impl FnOnce()) {
    if SETTLING.replace(true) {
        return hand_over(); // nested: the outer call polls
    }
    hand_over();
    let mut polls = 0;
    while let Some(slot) = WOKEN.with_borrow_mut(Vec::pop) {
        if polls < MAX_POLLS {
            polls += 1;
            slot.poll_now();
        } else {
            slot.resume();
        }
    }
    SETTLING.set(false);
}
