//! A simulated network on a virtual clock, for testing the scheduler natively.
//!
//! Requests take exactly the latency a route gives them, in virtual milliseconds, so
//! tests can assert exact start and end times without waiting for anything real.

use crate::engine::hooks::NoHooks;
use crate::engine::outcome::Outcome;
use crate::engine::run::run;
use crate::engine::settings::Settings;
use crate::engine::transport::BoxFuture;
use crate::engine::transport::{Clock, Reply, Request, Transport, TransportError};
use crate::plan::json::Json;
use crate::plan::Plan;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Parses test JSON.
pub fn json(s: &str) -> Json {
    serde_json::from_str(s).unwrap()
}

/// Parses and validates a test plan.
pub fn plan(s: &str) -> crate::plan::Plan {
    crate::plan::Plan::from_json(&json(s)).unwrap()
}

/// The simulated service a URL goes to: the first path segment of `http://svc/<name>...`.
pub fn service(url: &str) -> String {
    url.trim_start_matches("http://svc/")
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A small deterministic generator, so the random plans are the same on every run.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number below `n`.
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// What a route answers: a latency and an outcome.
pub type Answer = (f64, Result<Reply<Json>, TransportError>);

/// How the simulated network answers each request.
type Route = Rc<dyn Fn(&Request<Json>) -> Answer>;

/// One request as the simulated network saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub request: Request<Json>,
    pub start: f64,
    pub end: Option<f64>,
    pub aborted: bool,
}

#[derive(Default)]
struct Inner {
    now: Cell<f64>,
    timers: RefCell<Vec<(f64, Waker)>>,
    seen: RefCell<Vec<Seen>>,
    /// Idempotency keys handed out so far.
    keys: Cell<usize>,
}

/// The simulated network and its clock.
#[derive(Clone)]
pub struct Sim {
    inner: Rc<Inner>,
    route: Route,
}

impl Sim {
    pub fn new(route: impl Fn(&Request<Json>) -> Answer + 'static) -> Sim {
        Sim {
            inner: Rc::default(),
            route: Rc::new(route),
        }
    }

    /// A future that completes `ms` virtual milliseconds from now.
    pub fn sleep(&self, ms: f64) -> Sleep {
        Sleep {
            inner: self.inner.clone(),
            at: self.inner.now.get() + ms,
        }
    }

    /// Every request sent so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.borrow().clone()
    }

    /// Drives `future` to completion, as an event loop would: polled again at once when
    /// it was woken meanwhile (a task aborted, a channel written), else after advancing
    /// the clock to the next timer.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let woken = Arc::new(Woken(AtomicBool::new(false)));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            if woken.0.swap(false, Ordering::SeqCst) {
                continue;
            }
            let next = self
                .inner
                .timers
                .borrow()
                .iter()
                .map(|(at, _)| *at)
                .fold(f64::INFINITY, f64::min);
            assert!(
                next.is_finite(),
                "the composition is stuck with no timer pending"
            );
            self.inner.now.set(next.max(self.inner.now.get()));
            let due: Vec<Waker> = {
                let mut timers = self.inner.timers.borrow_mut();
                let (due, later): (Vec<_>, Vec<_>) =
                    timers.drain(..).partition(|(at, _)| *at <= next);
                *timers = later;
                due.into_iter().map(|(_, w)| w).collect()
            };
            due.into_iter().for_each(Waker::wake);
        }
    }
}

impl Clock for Sim {
    fn now(&self) -> f64 {
        self.inner.now.get()
    }

    fn sleep(&self, ms: f64) -> BoxFuture<()> {
        Box::pin(Sim::sleep(self, ms))
    }
}

/// The top-level waker: remembers that it was woken.
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A virtual timer.
pub struct Sleep {
    inner: Rc<Inner>,
    at: f64,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.now.get() >= self.at {
            Poll::Ready(())
        } else {
            self.inner
                .timers
                .borrow_mut()
                .push((self.at, cx.waker().clone()));
            Poll::Pending
        }
    }
}

/// Marks a request aborted when its future is dropped before it settles.
struct Pending {
    inner: Rc<Inner>,
    index: usize,
    settled: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.settled {
            let mut seen = self.inner.seen.borrow_mut();
            seen[self.index].aborted = true;
            seen[self.index].end = Some(self.inner.now.get());
        }
    }
}

impl Transport for Sim {
    type Value = Json;

    fn idempotency_key(&self) -> String {
        // Numbered in the order they are made, which is not the order requests are sent
        // in when a concurrency limit queues some.
        let n = self.inner.keys.get() + 1;
        self.inner.keys.set(n);
        format!("key-{n}")
    }

    /// The middle of the range, so backoffs are exact in tests.
    fn random(&self) -> f64 {
        0.5
    }

    fn send(&self, request: &Request<Json>) -> BoxFuture<Result<Reply<Json>, TransportError>> {
        let (latency, answer) = (self.route)(request);
        let inner = self.inner.clone();
        let index = {
            let mut seen = inner.seen.borrow_mut();
            seen.push(Seen {
                request: request.clone(),
                start: inner.now.get(),
                end: None,
                aborted: false,
            });
            seen.len() - 1
        };
        let sleep = self.sleep(latency);
        Box::pin(async move {
            let mut pending = Pending {
                inner,
                index,
                settled: false,
            };
            sleep.await;
            pending.settled = true;
            pending.inner.seen.borrow_mut()[index].end = Some(pending.inner.now.get());
            answer
        })
    }
}

/// Runs `p` over the simulated network to its end, with no hooks and nothing cancelling
/// it: what most scheduler tests need.
pub fn run_to_end(
    sim: &Sim,
    p: &Plan,
    input: &Json,
    settings: impl Into<Settings>,
) -> Outcome<Json> {
    sim.block_on(run(
        p,
        input,
        sim,
        sim,
        &NoHooks,
        settings,
        std::future::pending(),
    ))
}
