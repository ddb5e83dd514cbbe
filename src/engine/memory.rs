//! What a composer keeps across its compositions (`createComposer()` in JavaScript): the
//! reply cache (`cache.rs`), the circuit breakers (`breaker.rs`) and the hedging budget
//! (`hedge.rs`). A composition run without one ([`crate::run`]) keeps nothing, as before.
//!
//! Its scope is the caller's: a page, a worker or a backend-for-frontend process makes one
//! and runs its compositions through it. It is not shared across browser tabs: each tab
//! runs its own wasm instance, and a breaker or cache shared between them would need a
//! `SharedWorker` or `BroadcastChannel` round trip on every call's path, while a tab sees
//! an origin's failures soon enough by itself.

use crate::engine::breaker::{Admit, BreakerPolicy, Breakers, Circuit, CircuitState, Verdict};
use crate::engine::cache::{Cache, Found, DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRIES};
use crate::engine::hedge::HedgeBudget;
use crate::engine::transport::{BoxFuture, Reply, Request, TransportError};
use crate::plan::reuse::CachePolicy;
use crate::plan::value::Value;
use crate::plan::{Method, Plan};
use std::cell::RefCell;
use std::rc::Rc;

/// How a composer is bounded, and when its breakers open.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryOptions {
    /// The most replies the cache holds (default 500).
    pub cache_entries: usize,
    /// The most bytes of reply bodies it holds (default 5 MiB).
    pub cache_bytes: u64,
    /// When an origin's circuit opens; `None`: never.
    pub breaker: Option<BreakerPolicy>,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            cache_entries: DEFAULT_CACHE_ENTRIES,
            cache_bytes: DEFAULT_CACHE_BYTES,
            breaker: None,
        }
    }
}

/// Starts a future that outlives the composition that made it (a stale entry's refresh):
/// `spawn_local` in the browser, a test's executor natively.
pub type Spawn = Rc<dyn Fn(BoxFuture<()>)>;

/// The state a composer shares between its compositions. Cloning shares it.
#[derive(Clone)]
pub struct Memory<V> {
    state: Rc<RefCell<State<V>>>,
    spawn: Spawn,
    now: Rc<dyn Fn() -> f64>,
}

impl<V> std::fmt::Debug for Memory<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memory(..)")
    }
}

struct State<V> {
    cache: Cache<V>,
    breakers: Breakers,
    budget: HedgeBudget,
}

impl<V: Value> Memory<V> {
    /// A composer's memory under `options`; `spawn` starts background refreshes and `now`
    /// reads the same clock as the compositions run on.
    pub fn new(options: &MemoryOptions, spawn: Spawn, now: Rc<dyn Fn() -> f64>) -> Self {
        Memory {
            state: Rc::new(RefCell::new(State {
                cache: Cache::new(options.cache_entries, options.cache_bytes),
                breakers: Breakers::new(options.breaker),
                budget: HedgeBudget::default(),
            })),
            spawn,
            now,
        }
    }

    /// The clock's reading.
    pub(crate) fn now(&self) -> f64 {
        (self.now)()
    }

    /// Drops the cache entries `drop` picks by `(call, method, url)`; how many it held.
    ///
    /// `drop` runs with nothing borrowed: it may be the caller's code, and use the
    /// composer again.
    pub fn invalidate(&self, drop: &mut dyn FnMut(&str, Method, &str) -> bool) -> usize {
        let listed = self.state.borrow().cache.list();
        let mut picked = Vec::new();
        for (key, call, method, url) in listed {
            if drop(&call, method, &url) {
                picked.push(key);
            }
        }
        self.state.borrow_mut().cache.invalidate(&picked)
    }

    /// Drops every cache entry; how many it held.
    pub fn clear(&self) -> usize {
        self.invalidate(&mut |_, _, _| true)
    }

    /// How many replies the cache holds, and their bytes.
    pub fn cache_size(&self) -> (usize, u64) {
        self.state.borrow().cache.size()
    }

    /// Every origin's circuit now (empty without a breaker policy).
    pub fn health(&self) -> Vec<(String, Circuit)> {
        self.state.borrow().breakers.health(self.now())
    }

    /// Looks a cacheable request up (see `cache.rs`).
    pub(crate) fn find(
        &self,
        key: &str,
        request: &Request<V>,
        call: &str,
        ages: (f64, f64),
    ) -> (Found<V>, u64) {
        let now = self.now();
        let mut state = self.state.borrow_mut();
        let found = state.cache.find(key, request, call, now, ages);
        (found, state.cache.epoch)
    }

    /// The request led for `key` since `epoch`, asked for at `asked`, succeeded with
    /// `reply`.
    pub(crate) fn fill(&self, key: &str, epoch: u64, reply: Reply<V>, asked: f64) {
        let bytes = reply.bytes;
        (self.state.borrow_mut().cache).fill(key, epoch, reply, bytes, asked);
    }

    /// The request led for `key` failed or was dropped.
    pub(crate) fn abandon(&self, key: &str) {
        self.state.borrow_mut().cache.abandon(key);
    }

    /// Refreshes a stale entry in the background: `sending` is its request, already
    /// started and bounded by its time limit, and gives its reply if it got one.
    pub(crate) fn refresh(&self, key: String, epoch: u64, sending: BoxFuture<Option<Reply<V>>>) {
        let memory = self.clone();
        let asked = self.now();
        (self.spawn)(Box::pin(async move {
            let lead = Lead {
                memory: &memory,
                key,
                epoch,
                asked,
            };
            if let Some(reply) = sending.await {
                lead.fill(reply);
            }
        }));
    }

    /// Whether a request to `origin` may go now (`retry`: it retries), and the
    /// circuit's change, if asking made one, with its `retry_at`.
    pub(crate) fn admit(&self, origin: &str, retry: bool) -> (Admit, Option<(CircuitState, f64)>) {
        let now = self.now();
        let breakers = &mut self.state.borrow_mut().breakers;
        let (admit, change) = breakers.admit(origin, now, retry);
        (
            admit,
            change.map(|state| (state, breakers.retry_at(origin))),
        )
    }

    /// Whether any circuit is kept.
    pub(crate) fn breaks(&self) -> bool {
        self.state.borrow().breakers.on()
    }

    /// A request to `origin` ended with `outcome`; the circuit's change, if any, with its
    /// `retry_at`.
    pub(crate) fn report<T>(
        &self,
        origin: &str,
        outcome: &Result<T, TransportError>,
        probe: bool,
    ) -> Option<(CircuitState, f64)> {
        let now = self.now();
        let verdict = verdict(outcome);
        let breakers = &mut self.state.borrow_mut().breakers;
        let state = breakers.report(origin, now, verdict, probe)?;
        Some((state, breakers.retry_at(origin)))
    }

    /// A read goes now: the hedging budget counts it.
    pub(crate) fn read(&self) {
        let now = self.now();
        self.state.borrow_mut().budget.read(now);
    }

    /// Whether a hedge may go now within `max_extra_percent` of the reads (counted if so).
    pub(crate) fn may_hedge(&self, max_extra_percent: f64) -> bool {
        let now = self.now();
        (self.state.borrow_mut().budget).allow(now, max_extra_percent)
    }
}

/// What an outcome says about its origin: an answer says it is up, a network error,
/// a time limit of its own or a 5xx that it is down; anything else says nothing.
fn verdict<T>(outcome: &Result<T, TransportError>) -> Verdict {
    match outcome {
        Ok(_) => Verdict::Up,
        Err(TransportError::TimedOut { deadline: true, .. }) => Verdict::Unknown,
        Err(TransportError::Network(_) | TransportError::TimedOut { .. }) => Verdict::Down,
        Err(e) => match e.status() {
            Some(500..=599) => Verdict::Down,
            Some(200..=499) => Verdict::Up,
            _ => Verdict::Unknown,
        },
    }
}

/// A cache key a composition leads: filled by its success, abandoned (its waiters then
/// send their own) if it is dropped first.
pub(crate) struct Lead<'m, V: Value> {
    pub memory: &'m Memory<V>,
    pub key: String,
    pub epoch: u64,
    /// When the call asked for the key, on the memory's clock. Its reply is stored as that
    /// old, not as new when it is read: it says how the service stood at some moment
    /// since, and a slow answer, or a page too busy to read it at once, must not make it
    /// look fresher than `maxAgeMs` allows (as HTTP caches count a response's delay into
    /// its age).
    pub asked: f64,
}

impl<V: Value> Lead<'_, V> {
    /// The request succeeded with `reply`.
    pub fn fill(mut self, reply: Reply<V>) {
        let key = std::mem::take(&mut self.key); // an empty key: nothing left to abandon
        self.memory.fill(&key, self.epoch, reply, self.asked);
    }
}

impl<V: Value> Drop for Lead<'_, V> {
    fn drop(&mut self) {
        if !self.key.is_empty() {
            self.memory.abandon(&self.key);
        }
    }
}

/// How a composition uses its composer's memory.
#[derive(Debug)]
pub struct Remember<'m, V> {
    /// The composer's memory.
    pub memory: &'m Memory<V>,
    /// Whether the composition is a prefetch: only the calls [`prefetchable`] finds run.
    pub prefetch: bool,
    /// Per call of the plan, its cache policy when the composer sets them (the order
    /// flow's, from `options.cache`) instead of the plan's own `cache`.
    pub cache: Option<&'m [Option<CachePolicy>]>,
}

impl<V> Clone for Remember<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Remember<'_, V> {}

impl<V> Remember<'_, V> {
    /// Each call's cache policy: the composer's, or the plan's own.
    pub fn policies(&self, plan: &Plan) -> Vec<Option<CachePolicy>> {
        match self.cache {
            Some(cache) => cache.to_vec(),
            None => plan.calls().iter().map(|c| c.cache).collect(),
        }
    }
}

/// The calls a prefetch of `plan` makes: each call with a `cache`, and the calls it
/// needs, unless one of them is a write (not a GET, HEAD or `safe` call), which a
/// prefetch never sends; then neither that call nor anything that needs it goes.
pub fn prefetchable(plan: &Plan, policies: &[Option<CachePolicy>]) -> Vec<bool> {
    let calls = plan.calls();
    let mut wanted: Vec<bool> = policies.iter().map(Option::is_some).collect();
    // What the cacheable calls need, and what that needs (`deps` point backwards in a
    // topological order, so one pass from the last stage down suffices).
    for stage in plan.stages().iter().rev() {
        for &i in stage {
            if wanted[i] {
                for &d in &calls[i].deps {
                    wanted[d] = true;
                }
            }
        }
    }
    // A write, and everything downstream of one, stays out.
    let mut ok = vec![false; calls.len()];
    for stage in plan.stages() {
        for &i in stage {
            ok[i] = wanted[i] && calls[i].is_safe() && calls[i].deps.iter().all(|&d| ok[d]);
        }
    }
    ok
}
