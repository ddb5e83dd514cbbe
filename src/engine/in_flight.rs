//! `InFlight`: the requests of a composition that are under way, polled only when woken.
//!
//! This is the job `FuturesUnordered` does, in a fraction of its code: every call gets a
//! slot and a waker that records the slot's index, so each wake-up polls exactly the
//! request whose promise settled. Removing a slot drops its future, which aborts the
//! request (see `fetch.rs`). Single-threaded, like the browser's event loop.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::engine::transport::BoxFuture;

/// What the slots' wakers share: which slots to poll, and the task to wake.
#[derive(Default)]
struct Shared {
    woken: Mutex<Vec<usize>>,
    task: Mutex<Option<Waker>>,
}

struct SlotWaker {
    index: usize,
    shared: Arc<Shared>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Ok(mut woken) = self.shared.woken.lock() {
            woken.push(self.index);
        }
        if let Some(task) = self.shared.task.lock().ok().and_then(|t| t.clone()) {
            task.wake();
        }
    }
}

/// The in-flight set, one slot per call index.
pub struct InFlight<T> {
    slots: Vec<Option<(BoxFuture<T>, Waker)>>,
    shared: Arc<Shared>,
    len: usize,
}

impl<T> InFlight<T> {
    /// An empty set with room for calls `0..capacity`.
    pub fn new(capacity: usize) -> Self {
        InFlight {
            slots: (0..capacity).map(|_| None).collect(),
            shared: Arc::default(),
            len: 0,
        }
    }

    /// How many futures are in flight.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether slot `index` is in flight.
    pub fn contains(&self, index: usize) -> bool {
        self.slots[index].is_some()
    }

    /// Adds `future` in slot `index`; it is polled at the next [`poll_next`](Self::poll_next).
    pub fn insert(&mut self, index: usize, future: BoxFuture<T>) {
        let waker = Waker::from(Arc::new(SlotWaker {
            index,
            shared: self.shared.clone(),
        }));
        if self.slots[index].replace((future, waker)).is_none() {
            self.len += 1;
        }
        if let Ok(mut woken) = self.shared.woken.lock() {
            woken.push(index);
        }
    }

    /// Drops the future in slot `index` (aborting its request). True if there was one.
    pub fn remove(&mut self, index: usize) -> bool {
        let removed = self.slots[index].take().is_some();
        if removed {
            self.len -= 1;
        }
        removed
    }

    /// Polls the woken slots until one completes: `Ready(Some((index, output)))`, or
    /// `Ready(None)` when nothing is in flight.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, T)>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        if let Ok(mut task) = self.shared.task.lock() {
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        loop {
            let next = self.shared.woken.lock().ok().and_then(|mut w| w.pop());
            let Some(index) = next else {
                return Poll::Pending;
            };
            let Some((future, waker)) = self.slots[index].as_mut() else {
                continue; // removed after it was woken
            };
            let mut slot_cx = Context::from_waker(waker);
            if let Poll::Ready(output) = future.as_mut().poll(&mut slot_cx) {
                self.slots[index] = None;
                self.len -= 1;
                return Poll::Ready(Some((index, output)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::Pin;
    use std::rc::Rc;

    /// A future that completes once its flag is set, counting its polls.
    struct Gate {
        open: Rc<Cell<bool>>,
        polls: Rc<Cell<u32>>,
        waker: Rc<std::cell::RefCell<Option<Waker>>>,
    }

    impl Future for Gate {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            self.polls.set(self.polls.get() + 1);
            if self.open.get() {
                Poll::Ready(self.polls.get())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    #[test]
    fn polls_only_woken_slots_and_yields_completions() {
        let mut set: InFlight<u32> = InFlight::new(3);
        let gates: Vec<_> = (0..3)
            .map(|_| {
                (
                    Rc::new(Cell::new(false)),
                    Rc::new(Cell::new(0)),
                    Rc::new(std::cell::RefCell::new(None)),
                )
            })
            .collect();
        for (i, (open, polls, waker)) in gates.iter().enumerate() {
            set.insert(
                i,
                Box::pin(Gate {
                    open: open.clone(),
                    polls: polls.clone(),
                    waker: waker.clone(),
                }),
            );
        }
        let mut cx = Context::from_waker(Waker::noop());
        assert!(set.poll_next(&mut cx).is_pending());
        assert!(
            gates.iter().all(|g| g.1.get() == 1),
            "each polled once at first"
        );

        gates[1].0.set(true);
        gates[1].2.borrow_mut().take().unwrap().wake();
        assert_eq!(set.poll_next(&mut cx), Poll::Ready(Some((1, 2))));
        assert_eq!(gates[0].1.get(), 1, "slot 0 was not woken, so not polled");
        assert_eq!(set.len(), 2);

        assert!(set.remove(2));
        assert!(!set.contains(2));
        gates[2].2.borrow_mut().take().unwrap().wake();
        assert!(
            set.poll_next(&mut cx).is_pending(),
            "a removed slot's wake is ignored"
        );
        assert!(set.remove(0));
        assert_eq!(set.poll_next(&mut cx), Poll::Ready(None));
    }
}
