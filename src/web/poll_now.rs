//! A composition polled the moment one of its requests settles, not a turn later.
//!
//! wasm-bindgen-futures drives every export's future: a wake queues the future's task and
//! a microtask polls it (`queueMicrotask`). When a request's outcome arrives, that is one
//! more turn of the microtask queue between the reply and the dependent call it releases,
//! and in a chain of dependent calls nothing else shares the turn: bench B measured the
//! queueing at about 8% of a dependent call (the figure is in docs/performance.md).
//!
//! So a composition runs inside [`polled_on_settle`]: wasm-bindgen-futures still drives
//! it, through the outer future this returns, and the outcome callback of `fetch.rs`
//! hands its outcome over inside [`settling`], which polls at once every composition the
//! outcome woke. The callback is called by JavaScript at the top of a microtask, never
//! from inside a poll, so polling there is safe; a wake anywhere else (a timer, the
//! caller's abort) resumes the outer future as before.

use futures::task::{waker, ArcWake};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// How many polls one outcome may cause before the rest is left to the microtask queue:
/// a future that keeps waking itself must not hold the page.
const MAX_POLLS: usize = 64;

/// A composition that can be polled from the outcome callback.
trait PollNow {
    fn poll_now(&self);
    fn resume(&self);
}

struct Slot<T> {
    id: u32,
    body: RefCell<Option<Pin<Box<dyn Future<Output = T>>>>>,
    output: RefCell<Option<T>>,
    /// wasm-bindgen-futures' task, which is resumed when the body ends, or is woken
    /// outside [`settling`].
    outer: RefCell<Option<Waker>>,
    /// The body's waker: a [`Wake`] with this slot's id.
    inner: Waker,
}

thread_local! {
    static SLOTS: RefCell<HashMap<u32, Rc<dyn PollNow>>> = RefCell::new(HashMap::new());
    static NEXT: Cell<u32> = const { Cell::new(0) };
    /// Inside [`settling`]: a composition woken now is polled before it returns.
    static SETTLING: Cell<bool> = const { Cell::new(false) };
    static WOKEN: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// The body's waker. An id rather than the slot itself: a `Waker` must be `Send`, and the
/// slot holds JavaScript values.
struct Wake(u32);

impl ArcWake for Wake {
    fn wake_by_ref(this: &Arc<Self>) {
        if SETTLING.get() {
            WOKEN.with_borrow_mut(|w| w.push(this.0));
        } else if let Some(slot) = slot(this.0) {
            slot.resume();
        }
    }
}

fn slot(id: u32) -> Option<Rc<dyn PollNow>> {
    SLOTS.with_borrow(|s| s.get(&id).cloned())
}

impl<T> PollNow for Slot<T> {
    fn poll_now(&self) {
        // Already being polled (a wake from inside its own poll): the outer task polls
        // it again.
        let Ok(mut body) = self.body.try_borrow_mut() else {
            return self.resume();
        };
        let Some(future) = body.as_mut() else { return };
        let mut cx = Context::from_waker(&self.inner);
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            *body = None;
            *self.output.borrow_mut() = Some(output);
            SLOTS.with_borrow_mut(|s| s.remove(&self.id));
            self.resume();
        }
    }

    fn resume(&self) {
        if let Some(outer) = self.outer.borrow().as_ref() {
            outer.wake_by_ref();
        }
    }
}

/// `future`, polled at once when a request's outcome wakes it (see the module's docs).
pub(crate) fn polled_on_settle<T: 'static>(
    future: impl Future<Output = T> + 'static,
) -> impl Future<Output = T> {
    let id = NEXT.get();
    NEXT.set(id.wrapping_add(1));
    let slot = Rc::new(Slot {
        id,
        body: RefCell::new(Some(Box::pin(future))),
        output: RefCell::new(None),
        outer: RefCell::new(None),
        inner: waker(Arc::new(Wake(id))),
    });
    SLOTS.with_borrow_mut(|s| s.insert(id, slot.clone() as Rc<dyn PollNow>));
    let guard = Unregister(id);
    std::future::poll_fn(move |cx| {
        let _ = &guard;
        let mut outer = slot.outer.borrow_mut();
        if !outer.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *outer = Some(cx.waker().clone());
        }
        drop(outer);
        if slot.output.borrow().is_none() {
            slot.poll_now();
        }
        match slot.output.borrow_mut().take() {
            Some(output) => Poll::Ready(output),
            None => Poll::Pending,
        }
    })
}

/// Removes a composition dropped before its end (its promise's task is gone).
struct Unregister(u32);

impl Drop for Unregister {
    fn drop(&mut self) {
        let id = self.0;
        let _ = SLOTS.try_with(|s| s.borrow_mut().remove(&id));
    }
}

/// Runs `hand_over` (which hands a request's outcome to the future waiting for it), then
/// polls every composition it woke.
pub(crate) fn settling(hand_over: impl FnOnce()) {
    if SETTLING.replace(true) {
        return hand_over(); // nested: the outer call polls
    }
    hand_over();
    let mut polls = 0;
    while let Some(id) = WOKEN.with_borrow_mut(Vec::pop) {
        if let Some(slot) = slot(id) {
            if polls < MAX_POLLS {
                polls += 1;
                slot.poll_now();
            } else {
                slot.resume();
            }
        }
    }
    SETTLING.set(false);
}
