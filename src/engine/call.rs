//! One call's life as a task: its request is filled in, then sent (or an identical read
//! shared, `dedupe.rs`), attempt after attempt under its retry policy, each within its
//! time limit and after a slot under the concurrency limits; then the call settles, which
//! may release its dependents, fail the composition, or let it resolve.
//!
//! A task changes the composition only between its `await`s. The composition stops a
//! task (a failure elsewhere, the deadline, the caller's abort) by aborting it: the task
//! is dropped where it waits, which aborts its request, and the composition records what
//! it had done.

use crate::engine::breaker::Gate;
use crate::engine::composition::Composition;
use crate::engine::dedupe::Shared;
use crate::engine::failure::transport_error;
use crate::engine::fan_out::key_name;
use crate::engine::hooks::Hooks;
use crate::engine::idempotency::{add_idempotency_key, has_idempotency_key};
use crate::engine::memory::{Lead, Memory};
use crate::engine::record::CallState;
use crate::engine::retry::Decision;
use crate::engine::settings::Settings;
use crate::engine::transport::{Clock, Reply, Sent, Transport, TransportError};
use crate::plan::reuse::CachePolicy;
use crate::plan::value::Value;
use crate::plan::{Call, Method, Plan};
use futures::future::{AbortHandle, Abortable, FutureExt, LocalBoxFuture};
use std::cell::RefCell;

/// What the tasks of one composition share: its parts, and its state.
pub(crate) struct Ctx<'a, T: Transport, C, H: ?Sized> {
    pub plan: &'a Plan,
    pub input: &'a T::Value,
    pub transport: &'a T,
    pub clock: &'a C,
    pub hooks: &'a H,
    pub settings: &'a Settings,
    /// The clock's reading when the composition started.
    pub origin: f64,
    pub state: RefCell<Composition<'a, T::Value>>,
    /// Whether the caller has aborted, asked without waiting: a request about to be sent
    /// is not, even when the abort came a moment ago, from inside the `fetch` of the call
    /// started just before (the signal's listener runs at once).
    pub cancelled: &'a dyn Fn() -> bool,
    /// The composer's memory this composition runs with, if any (`memory.rs`).
    pub memory: Option<&'a Memory<T::Value>>,
    /// Per call of the plan, its cache policy under the composer (empty without one).
    pub policies: Vec<Option<CachePolicy>>,
    /// The cache keys this composition's calls lead, filled when the call succeeds.
    pub leads: RefCell<Vec<(usize, Lead<'a, T::Value>)>>,
}

impl<'a, T, C, H> Ctx<'a, T, C, H>
where
    T: Transport,
    C: Clock,
    H: Hooks<T::Value> + ?Sized,
{
    /// Milliseconds since the composition started.
    pub fn now(&self) -> f64 {
        self.clock.now() - self.origin
    }

    /// The next ready call (in `stage`, when given) that the schedule may start: a ready
    /// call whose `when` is false is not needed, and never started.
    pub fn next_ready(&self, stage: Option<usize>) -> Option<usize> {
        let mut state = self.state.borrow_mut();
        state.flush(&|| self.now());
        state.next_ready(stage, self.input, self.now())
    }

    /// The plan's call that slot `i` runs (a fan-out call for each of its items). Not
    /// while the composition is borrowed.
    pub(crate) fn call_at(&self, i: usize) -> &'a Call {
        &self.plan.calls()[self.state.borrow().call_of(i)]
    }

    /// Call `i` as a task, stoppable through the composition.
    pub fn task<'c>(&'c self, i: usize) -> LocalBoxFuture<'c, ()> {
        let (handle, registration) = AbortHandle::new_pair();
        self.state.borrow_mut().running(i, handle);
        Abortable::new(self.call(i), registration)
            .map(|_| ())
            .boxed_local()
    }

    async fn call(&self, i: usize) {
        match self.prepare(i) {
            Some(Prepared::Send) => {
                if self.memory.is_some() && !self.recall(i).await {
                    return; // the composer's cache served it
                }
                self.attempts(i).await;
                self.take_lead(i); // not filled: abandoned, so others send their own
            }
            Some(Prepared::Follow(shared)) => {
                let outcome = shared.outcome().await;
                self.conclude(i, outcome);
            }
            None => {}
        }
    }

    /// Fills in call `i`'s request; `None` when it cannot be built (the call failed).
    fn prepare(&self, i: usize) -> Option<Prepared<T::Value>> {
        let call = self.call_at(i);
        let mut state = self.state.borrow_mut();
        let item = state.item_of(i).map(|(_, index)| index);
        let scope = state.scope(i, self.input);
        let request = match self.hooks.body(&call.name, &scope) {
            Some(Ok(body)) => scope.request(call, Some(body)),
            Some(Err(e)) => Err(e.in_call(&call.name)),
            None => scope.request(call, None),
        };
        let mut request = match request {
            Ok(request) => request,
            Err(e) => {
                state.fail(i, e, self.now());
                state.flush(&|| self.now());
                return None;
            }
        };
        if call.method == Method::Post && !call.safe {
            let name = key_name(&call.name, item);
            add_idempotency_key(&mut request, &name, self.settings, self.transport);
        }
        if let Some(trace) = &self.settings.trace {
            trace.add_to(&mut request, i);
        }
        let own = call.timeout_ms.unwrap_or(self.settings.timeout_ms);
        let state = &mut *state;
        let shared = if self.plan.may_repeat(state.call_of(i)) {
            state.dedupe.share(i, &request, own, &state.sent)
        } else {
            None // no other call can ask the same: nothing to share, nothing to keep
        };
        state.sent[i] = Some(request);
        Some(match shared {
            Some(shared) => {
                // The record names the leader's call: an item's, its fan-out call.
                let leader = state.call_of(shared.leader());
                crate::engine::dedupe::follow(&mut state.records[i], leader, self.now());
                state.follows(i);
                Prepared::Follow(shared)
            }
            None => Prepared::Send,
        })
    }

    /// Sends call `i`'s request until an attempt's outcome is final.
    async fn attempts(&self, i: usize) {
        loop {
            let gate = self.gate(i);
            if let Gate::Refused = gate {
                return; // its origin's circuit is open: failed at once
            }
            let queued = self.state.borrow_mut().admit(i, || self.now());
            if let Some(granted) = queued {
                if granted.await.is_err() {
                    return; // withdrawn: the composition stopped it
                }
            }
            if (self.cancelled)() {
                return; // the composition is being aborted: send nothing more
            }
            let outcome = self.attempt(i).await;
            self.verdict(i, &outcome, &gate);
            let next = self.judge(i, outcome);
            self.state.borrow_mut().grant(|| self.now());
            match next {
                Some(wait) => self.clock.sleep(wait).await,
                None => return,
            }
        }
    }

    /// One attempt of call `i`, within its time limit; the call's own limit starts here,
    /// not while it waited in the queue.
    async fn attempt(&self, i: usize) -> Sent<T::Value> {
        let now = self.now();
        let (handle, registration) = AbortHandle::new_pair();
        let (limit, by_deadline) = self.limit_of(self.call_at(i), now);
        let taken = {
            let mut state = self.state.borrow_mut();
            state.launch(i, now, limit, by_deadline);
            state.on_wire(i, handle);
            // Not borrowed through the send: the caller's abort listener may run inside
            // `fetch` itself. The transport takes what it needs before returning.
            state.sent[i].take()
        };
        let Some(request) = taken else {
            return Err(TransportError::Network("no request".into()));
        };
        let call = self.call_at(i);
        let hedge = match self.memory {
            Some(memory) if call.method.is_read() => {
                memory.read();
                call.hedge.or(self.settings.hedge)
            }
            _ => None,
        };
        let sending = match hedge {
            Some(policy) => self.hedged(i, request.clone(), policy).boxed_local(),
            None => self.transport.send(&request),
        };
        self.state.borrow_mut().sent[i] = Some(request);
        let sent = Abortable::new(sending, registration).await;
        let cut = self.state.borrow_mut().off_wire(i);
        match (sent, cut) {
            (Ok(sent), _) => sent,
            (Err(_), Some(limit)) => Err(TransportError::TimedOut {
                after_ms: limit.after_ms,
                deadline: limit.by_deadline,
            }),
            (Err(_), None) => Err(TransportError::Network("aborted".into())),
        }
    }

    /// The time limit of one attempt of `call` starting at `start`, and whether the
    /// deadline is what sets it (it bounds every attempt, reading the body included).
    pub(crate) fn limit_of(&self, call: &Call, start: f64) -> (f64, bool) {
        let own = call.timeout_ms.unwrap_or(self.settings.timeout_ms);
        match self.settings.deadline_ms {
            Some(d) if d - start < own => ((d - start).max(0.0), true),
            _ => (own, false),
        }
    }

    /// What an attempt of call `i` came to: the time to wait before the next one, or
    /// `None` when the call has settled.
    fn judge(&self, i: usize, outcome: Sent<T::Value>) -> Option<f64> {
        self.state.borrow_mut().dedupe.keep(i, &outcome);
        let outcome = match outcome {
            // The deadline cut it short (its own timer fired first): the composition ends
            // exactly as at the deadline's timer.
            Err(TransportError::TimedOut { deadline: true, .. }) => {
                let now = self.now();
                let mut state = self.state.borrow_mut();
                let deadline = self.settings.deadline_ms.unwrap_or_default();
                state.cut_by_deadline(i, deadline, now);
                state.flush(&|| self.now());
                return None;
            }
            Err(e) => match self.retry(i, &e) {
                Some(wait) => {
                    self.will_retry(i, e, wait);
                    return Some(wait);
                }
                None => Err(e),
            },
            outcome => outcome,
        };
        self.state.borrow_mut().dedupe.settled(i);
        self.conclude(i, outcome);
        None
    }
}

/// How call `i` goes on once its request is filled in.
enum Prepared<V> {
    /// It sends its own request.
    Send,
    /// It shares an identical read's outcome.
    Follow(Shared<V>),
}

impl<'a, T, C, H> Ctx<'a, T, C, H>
where
    T: Transport,
    C: Clock,
    H: Hooks<T::Value> + ?Sized,
{
    /// How long to wait before retrying call `i` after it failed with `e`, if it may be.
    fn retry(&self, i: usize, e: &TransportError) -> Option<f64> {
        let call = self.call_at(i);
        let state = self.state.borrow();
        // A call sharing another's read got its final outcome: retries were its.
        let repeatable = state.records[i].shared_from.is_none()
            && (call.is_safe() || state.sent[i].as_ref().is_some_and(has_idempotency_key));
        let time_left = self
            .settings
            .deadline_ms
            .map_or(f64::INFINITY, |d| d - self.now());
        let decision = self.settings.retry.decide(
            state.records[i].attempts,
            e,
            repeatable,
            time_left,
            state.budget > 0 && state.error.is_none(),
            self.transport.random(),
        );
        match decision {
            Decision::RetryAfter(wait) => Some(wait),
            Decision::Stop => None,
        }
    }

    /// Call `i` failed with `e` and waits `wait` ms to try again.
    fn will_retry(&self, i: usize, e: TransportError, wait: f64) {
        let now = self.now();
        let call = self.call_at(i);
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        state.budget -= 1;
        state.records[i].status = e.status();
        if e.may_have_acted() && !call.is_safe() {
            state.records[i].state = CallState::Unknown;
        }
        let scope = state.scope(i, self.input);
        let error = transport_error(call, e, state.sent[i].as_ref().map(|r| (r, &scope)));
        let failed = (
            state.records[i].attempts,
            error.status(),
            error.kind(),
            wait,
        );
        state.events.retry(self.plan, i, now, failed);
        state.backoff(i, error);
    }

    /// Call `i`'s final outcome, its own or a shared read's, settles it.
    pub(crate) fn conclude(&self, i: usize, outcome: Sent<T::Value>) {
        let now = self.now();
        let call = self.call_at(i);
        // An empty reply is `null` data where nobody reads it; where JSON is expected it
        // stays an error, reported as a bad response (never retried).
        let outcome = match outcome {
            Err(TransportError::Empty { status, .. })
                if !crate::engine::reply_rules::expects_json(call, self.hooks) =>
            {
                Ok(Reply::new(
                    status,
                    T::Value::from_json(&crate::plan::json::Json::Null),
                ))
            }
            outcome => outcome,
        };
        match outcome {
            Ok(reply) => self.accept(i, reply, now),
            Err(e) => self.refuse(i, e, now),
        }
        self.state.borrow_mut().flush(&|| self.now());
    }

    /// Call `i` got a reply: the hooks judge it, and the call succeeds or fails.
    fn accept(&self, i: usize, reply: Reply<T::Value>, now: f64) {
        let name = &self.call_at(i).name;
        let verdict = self.hooks.check(name, &reply.body);
        let mut state = self.state.borrow_mut();
        state.records[i].replayed = reply.replayed;
        match verdict {
            Ok(()) => {
                if let Some(lead) = self.take_lead(i) {
                    lead.fill(reply.clone());
                }
                state.succeed(i, reply.status, reply.body, now)
            }
            Err(e) => {
                state.records[i].status = Some(reply.status);
                state.fail(i, e.in_call(name), now);
            }
        }
    }

    /// Call `i`'s last attempt failed with `e`, for good.
    fn refuse(&self, i: usize, e: TransportError, now: f64) {
        self.take_lead(i);
        let call = self.call_at(i);
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        // The status of this attempt's answer: none without one, whatever earlier
        // attempts were answered.
        state.records[i].status = e.status();
        // A write stays `unknown` once any attempt's outcome was: a later definite
        // failure does not say the earlier attempt did nothing. That includes a 5xx,
        // 408 or 429 (see `TransportError::may_have_acted`).
        let unknown = e.may_have_acted() || state.records[i].state == CallState::Unknown;
        let scope = state.scope(i, self.input);
        let error = transport_error(call, e, state.sent[i].as_ref().map(|r| (r, &scope)));
        state.fail(i, error, now);
        if unknown && !call.is_safe() {
            state.records[i].state = CallState::Unknown;
        }
    }
}
