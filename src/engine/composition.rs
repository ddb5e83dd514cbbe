//! The bookkeeping of one composition: every call's record and reply, which calls are
//! ready, which are running (and how to stop them), and what a success, a failure, the
//! deadline or an abort does to the rest.
//!
//! The calls themselves run as tasks (`call.rs`) and the schedules start them
//! (`schedule.rs`); all of them change the composition only through these methods, one
//! at a time (the engine is single-threaded, like the browser's event loop), never
//! holding it across an `await`.

use crate::engine::concurrency::Queue;
use crate::engine::dedupe::Dedupe;
use crate::engine::events::Progress;
use crate::engine::fan_out::{elements, summed_state, Fan};
use crate::engine::outcome::Outcome;
use crate::engine::record::{CallRecord, CallState};
use crate::engine::scope::Scope;
use crate::engine::settings::{Schedule, Settings};
use crate::engine::timeouts::{Limit, TimeLimits};
use crate::engine::transport::Request;
use crate::error::{Error, ErrorKind};
use crate::plan::condition::Condition;
use crate::plan::json::Json;
use crate::plan::value::Value;
use crate::plan::Plan;
use futures::channel::oneshot;
use futures::future::AbortHandle;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A ready call's place in line, smallest first: its stage then plan order for stages and
/// sequential. Eager needs no stage order: calls that become ready together start one after
/// another, each request's start taking a little of the page's time (in Chromium at 4x CPU
/// throttling, the order flow's requests released by the cart's reply started 3-9 ms
/// apart), so the one that begins the longest chain of calls goes first, the likeliest to be
/// on the critical path (in the order flow, `pricing`, four calls ahead of it in a row,
/// before `inventory`, two), then plan order. A pair of integers, as the time limits' heap
/// holds (`timeouts.rs`): one heap's code for both, where a type of its own cost 0.5 KB of
/// the .wasm's gzip budget.
///
/// An item of a fan-out call (`slot`) takes its call's place, after the plan's calls.
fn ready_key(plan: &Plan, by_stage: bool, i: usize, slot: usize) -> (usize, usize) {
    let call = &plan.calls()[i];
    if by_stage {
        (call.stage, slot)
    } else {
        (usize::MAX - call.chain, slot)
    }
}

/// Per call: what stops its task and its request, and what it waits on. One table, not
/// one per field: each table is grown for a fan-out call's items (`grow`), and each
/// kind of table's growing is code of its own in the .wasm.
#[derive(Default)]
struct Control {
    /// The handle that stops its task while it runs (sends, waits to retry, queues or
    /// waits for a shared read). Dropping the task aborts its request.
    task: Option<AbortHandle>,
    /// For a call sharing another's read (`dedupe.rs`): the handle that stops its task.
    /// It is not `task`, so that the leader's own failure, which stops the reads running,
    /// does not stop it: it has its answer.
    following: Option<AbortHandle>,
    /// The handle that cuts its attempt on the wire short, and why it was cut.
    attempt: Option<AbortHandle>,
    expired: Option<Limit>,
    /// While it is queued for a slot: what tells its task the slot is its.
    grant: Option<oneshot::Sender<()>>,
    /// The failure that stands for it while it waits to retry, should it never get the
    /// chance.
    backoff: Option<Error>,
}

/// The mutable state of one composition.
pub(crate) struct Composition<'p, V: 'static> {
    pub plan: &'p Plan,
    pub replies: Vec<Option<V>>,
    pub records: Vec<CallRecord>,
    /// Unfinished dependencies per call.
    waiting: Vec<usize>,
    /// Calls whose dependencies all succeeded, in the order they start ([`ready_key`]).
    ready: BinaryHeap<Reverse<(usize, usize)>>,
    /// Whether calls start stage by stage (stages, sequential) rather than eagerly.
    by_stage: bool,
    /// Per call: what stops it, and what it waits on ([`Control`]).
    control: Vec<Control>,
    /// When each request under way runs out of time.
    pub limits: TimeLimits,
    /// Requests as sent, kept for retries and for comparing reads (`dedupe.rs`).
    pub sent: Vec<Option<Request<V>>>,
    /// Retries the composition may still spend.
    pub budget: u32,
    pub error: Option<Error>,
    /// Requests waiting for a slot under a concurrency limit; `None` without limits.
    pub queue: Option<Queue>,
    /// Identical reads, sent once.
    pub dedupe: Dedupe<V>,
    /// Progress events, when somebody listens.
    pub events: Progress,
    /// Per call: once a fan-out call has read its list, the list and its items' progress.
    fans: Vec<Option<Fan<V>>>,
    /// The most calls the composition may make, items included.
    max_calls: usize,
    /// For a prefetch (`memory.rs`), the calls it may make; the others are not needed.
    pub only: Option<Vec<bool>>,
}

impl<'p, V: Value> Composition<'p, V> {
    pub fn new(plan: &'p Plan, settings: &Settings) -> Self {
        let n = plan.calls().len();
        let waiting: Vec<usize> = plan.calls().iter().map(|c| c.deps.len()).collect();
        let by_stage = settings.schedule != Schedule::Eager;
        let ready = (0..n)
            .filter(|&i| waiting[i] == 0)
            .map(|i| Reverse(ready_key(plan, by_stage, i, i)))
            .collect();
        Composition {
            plan,
            replies: vec![None; n],
            records: vec![CallRecord::default(); n],
            waiting,
            ready,
            by_stage,
            control: (0..n).map(|_| Control::default()).collect(),
            limits: TimeLimits::new(n),
            sent: (0..n).map(|_| None).collect(),
            budget: crate::engine::retry::RetryPolicy::budget(n),
            error: None,
            queue: Queue::new(settings.concurrency, n),
            dedupe: Dedupe::new(settings.dedupe, n),
            events: Progress::new(settings.on_event.as_ref(), n),
            fans: (0..n).map(|_| None).collect(),
            max_calls: settings.max_calls,
            only: None,
        }
    }

    /// The plan's call that slot `i` runs: call `i` itself, or the fan-out call item `i`
    /// is of.
    pub fn call_of(&self, i: usize) -> usize {
        self.item_of(i).map_or(i, |(call, _)| call)
    }

    /// For an item of a fan-out call, its call and its element's position in the list.
    /// (The slots past the plan's calls in every per-call table here are the items';
    /// [`Progress`] keeps which is which.)
    pub fn item_of(&self, i: usize) -> Option<(usize, usize)> {
        self.events.item_of(self.plan.calls().len(), i)
    }

    /// The calls waiting for slot `i`: none for an item, whose call tells its own.
    fn dependents_of(&self, i: usize) -> &'p [usize] {
        match self.item_of(i) {
            Some(_) => &[],
            None => self.plan.dependents(i),
        }
    }

    /// What slot `i`'s templates see: `input`, the replies, and for an item, its element
    /// and position (and, once it replied, its own reply as its call's, for its
    /// compensation).
    pub fn scope<'s>(&'s self, i: usize, input: &'s V) -> Scope<'s, V> {
        let scope = Scope::new(self.plan, input, &self.replies);
        let Some((call, index)) = self.item_of(i) else {
            return scope;
        };
        let (Some(fan), Some(for_each)) = (&self.fans[call], &self.plan.calls()[call].for_each)
        else {
            return scope;
        };
        scope.with_item(crate::engine::scope::Item {
            for_each,
            call,
            index,
            element: &fan.list[index],
            from_input: fan.from_input,
            reply: self.replies[i].as_ref(),
        })
    }

    /// The next ready call in `stage` (any stage with `None`), in [`ready_key`]'s order;
    /// none once the composition has failed. A ready call whose `when` is false over
    /// `input` and the replies is not needed, and never comes. Out of line: one copy for
    /// every kind of composition (`Ctx` is generic over the transport, clock and hooks).
    #[inline(never)]
    pub fn next_ready(&mut self, stage: Option<usize>, input: &V, now: f64) -> Option<usize> {
        loop {
            if self.error.is_some() {
                return None;
            }
            let &Reverse((s, i)) = self.ready.peek()?;
            if stage.is_some_and(|stage| stage != s) {
                return None;
            }
            self.ready.pop();
            if i >= self.plan.calls().len() {
                return Some(i); // an item: its call's condition held
            }
            let call = &self.plan.calls()[i];
            match &call.when {
                _ if self.only.as_ref().is_some_and(|only| !only[i]) => self.not_needed(i),
                Some(when) if !self.holds(i, when, input) => self.not_needed(i),
                _ if call.for_each.is_some() => self.fan_out(i, input, now),
                _ => return Some(i),
            }
        }
    }

    /// Whether call `i`'s condition `when` holds; a path a reply does not have reads as
    /// null (`condition.rs`). Out of line: the schedules' futures inline `next_ready`.
    #[inline(never)]
    fn holds(&self, i: usize, when: &Condition, input: &V) -> bool {
        let scope = Scope::new(self.plan, input, &self.replies);
        let name = &self.plan.calls()[i].name;
        when.holds(&mut |t| scope.body(name, t).ok())
    }

    /// Call `i`'s task runs, stoppable with `handle`.
    pub fn running(&mut self, i: usize, handle: AbortHandle) {
        self.control[i].task = Some(handle);
    }

    /// Call `i` shares another's read: only that read's end, or its being stopped, ends it.
    pub fn follows(&mut self, i: usize) {
        self.control[i].following = self.control[i].task.take();
    }

    /// Call `i` sends attempt number `attempts + 1` at `now`, which may take `limit` ms
    /// (the deadline's remainder when `by_deadline`).
    pub fn launch(&mut self, i: usize, now: f64, limit: f64, by_deadline: bool) {
        let record = &mut self.records[i];
        if record.attempts == 0 {
            record.start_ms = Some(now);
        }
        record.attempts += 1;
        // A record's status is its last attempt's answer: none while it is on the wire.
        record.status = None;
        let attempt = record.attempts;
        self.control[i].backoff = None;
        self.events.start(self.plan, i, attempt, now);
        self.limits.start(i, now, limit, by_deadline);
    }

    /// Call `i` waits to retry after failing with `error`, which stands for it should it
    /// never get the chance.
    pub fn backoff(&mut self, i: usize, error: Error) {
        self.control[i].backoff = Some(error);
    }

    /// Call `i`'s attempt is on the wire, cut short with `handle` when it runs out of time.
    pub fn on_wire(&mut self, i: usize, handle: AbortHandle) {
        self.control[i].attempt = Some(handle);
    }

    /// Call `i`'s attempt left the wire: its slot frees (see [`Composition::grant`]).
    /// Returns the limit that cut it short, if one did.
    pub fn off_wire(&mut self, i: usize) -> Option<Limit> {
        self.control[i].attempt = None;
        self.limits.clear(i);
        if let Some(queue) = self.queue.as_mut() {
            queue.release(i);
        }
        self.control[i].expired.take()
    }

    /// Call `i`'s attempt ran out of time: it is cut short, and hears why.
    pub fn expire(&mut self, i: usize, limit: Limit) {
        if let Some(handle) = self.control[i].attempt.take() {
            self.control[i].expired = Some(limit);
            handle.abort();
        }
    }

    /// Call `i` waits for a slot under a concurrency limit until the returned receiver
    /// completes; `None`: it may send now.
    pub fn admit(&mut self, i: usize, now: impl FnOnce() -> f64) -> Option<oneshot::Receiver<()>> {
        let url = self.sent[i].as_ref().map_or("", |r| r.url.as_str());
        let queue = self.queue.as_mut()?;
        if queue.admit(i, url, now()) {
            return None;
        }
        let (tell, told) = oneshot::channel();
        self.control[i].grant = Some(tell);
        Some(told)
    }

    /// Slots that freed go to the calls waiting for them, first come first served: once
    /// the outcome of the attempt that freed one is judged, so that none goes out after a
    /// failure (the waiting calls are then withdrawn).
    pub fn grant(&mut self, now: impl Fn() -> f64) {
        if self.error.is_some() {
            return;
        }
        while let Some((i, since)) = self.queue.as_mut().and_then(Queue::next) {
            self.records[i].queued_ms += now() - since;
            if let Some(tell) = self.control[i].grant.take() {
                let _ = tell.send(());
            }
        }
    }

    /// Marks call `i` settled: its task is over, its terminal event is due.
    fn settle(&mut self, i: usize) {
        self.control[i].task = None;
        self.control[i].following = None;
        self.events.settled(i);
    }

    pub fn succeed(&mut self, i: usize, status: u16, body: V, now: f64) {
        let record = &mut self.records[i];
        record.state = CallState::Ok;
        record.status = Some(status);
        record.end_ms = Some(now);
        self.replies[i] = Some(body);
        self.settle(i);
        if self.item_of(i).is_some() {
            self.item_settled(i, now);
        }
        self.release_dependents(i);
    }

    /// Call `i`'s value is known: its dependents wait for one call fewer.
    fn release_dependents(&mut self, i: usize) {
        for &j in self.dependents_of(i) {
            self.release(j);
        }
    }

    /// Call `j` waits for one call fewer, and is ready when that was the last.
    fn release(&mut self, j: usize) {
        self.waiting[j] -= 1;
        if self.waiting[j] == 0 && self.records[j].state == CallState::NotSent {
            self.ready
                .push(Reverse(ready_key(self.plan, self.by_stage, j, j)));
        }
    }

    /// Fan-out call `i` is ready: its list is read, and its items take slots of their
    /// own, the first of them released to the schedule. A list that cannot be read fails
    /// the call; an empty one is its whole reply, `[]`, with nothing sent.
    #[inline(never)]
    fn fan_out(&mut self, i: usize, input: &V, now: f64) {
        let call = &self.plan.calls()[i];
        let Some(for_each) = &call.for_each else {
            return;
        };
        let scope = Scope::new(self.plan, input, &self.replies);
        let room = (self.records.len(), self.max_calls);
        let list = scope
            .resolve(&call.name, &for_each.list)
            .and_then(|value| elements(call, for_each, &value, room));
        let list = match list {
            Ok(list) => list,
            Err(e) => return self.fail(i, e, now),
        };
        self.records[i].start_ms = Some(now);
        if list.is_empty() {
            self.succeed(i, 0, V::array(Vec::new()), now);
            self.records[i].status = None;
            return;
        }
        let m = list.len();
        let first = self.records.len();
        self.grow(i, m);
        let limit = for_each.concurrency.unwrap_or(m).min(m);
        self.fans[i] = Some(Fan {
            list,
            first,
            released: 0,
            running: 0,
            from_input: for_each.list.root == crate::plan::INPUT,
        });
        for _ in 0..limit {
            self.release_item(i);
        }
    }

    /// Room in every per-call table for the `m` items of fan-out call `i`.
    fn grow(&mut self, i: usize, m: usize) {
        let n = self.records.len() + m;
        self.replies.resize(n, None);
        self.records.resize(n, CallRecord::default());
        self.control.resize_with(n, Control::default);
        self.sent.resize_with(n, || None);
        self.limits.grow(m);
        if let Some(queue) = self.queue.as_mut() {
            queue.grow(m);
        }
        self.dedupe.grow(m);
        self.events.grow(i, m);
        self.budget += crate::engine::retry::RetryPolicy::budget(n)
            - crate::engine::retry::RetryPolicy::budget(n - m);
    }

    /// Fan-out call `i`'s next item goes to the schedule, in its call's place.
    fn release_item(&mut self, i: usize) {
        let Some(fan) = self.fans[i].as_mut() else {
            return;
        };
        let slot = fan.first + fan.released;
        fan.released += 1;
        fan.running += 1;
        let key = ready_key(self.plan, self.by_stage, i, slot);
        self.ready.push(Reverse(key));
    }

    /// Item `k` settled: the next item of its call takes its place, or, when it was the
    /// last one out and nothing more will start, its call settles.
    fn item_settled(&mut self, k: usize, now: f64) {
        let i = self.call_of(k);
        let ok = self.records[k].state == CallState::Ok;
        let open = self.records[i].state == CallState::NotSent && self.error.is_none();
        let Some(fan) = self.fans[i].as_mut() else {
            return;
        };
        fan.running = fan.running.saturating_sub(1);
        let more = fan.released < fan.list.len();
        if ok && open && more {
            return self.release_item(i);
        }
        if self.records[i].state == CallState::NotSent && (!more || !open) && !self.busy(i) {
            self.fan_settled(i, now);
        }
    }

    /// Whether an item of fan-out call `i` is still running, or released and yet to
    /// start (which it never will once the composition has failed).
    fn busy(&self, i: usize) -> bool {
        let Some(fan) = &self.fans[i] else {
            return false;
        };
        (self.error.is_none() && fan.running > 0)
            || fan
                .slots()
                .any(|s| self.control[s].task.is_some() || self.control[s].following.is_some())
    }

    /// Fan-out call `i`'s items are over: with every one `ok`, their replies in list order
    /// are the call's; otherwise the call ends in its items' worst state.
    fn fan_settled(&mut self, i: usize, now: f64) {
        let Some(slots) = self.fans[i].as_ref().map(Fan::slots) else {
            return;
        };
        let state = summed_state(self.records.get(slots.clone()).unwrap_or_default());
        self.sum_up(i);
        if state == CallState::Ok {
            let replies = self.replies.get(slots).unwrap_or_default().iter();
            let null = || V::from_json(&Json::Null);
            let replies = replies.map(|r| r.clone().unwrap_or_else(null)).collect();
            self.succeed(i, 0, V::array(replies), now);
            self.records[i].status = None;
        } else {
            let record = &mut self.records[i];
            record.state = state;
            record.end_ms = Some(now);
            self.settle(i);
        }
    }

    /// Fan-out call `i`'s record takes its items' as they are when it settles (its
    /// terminal event carries them), with their requests together and whether any was
    /// replayed.
    fn sum_up(&mut self, i: usize) {
        let Some(fan) = &self.fans[i] else {
            return;
        };
        let items = self.records.get(fan.slots()).unwrap_or_default();
        let attempts = items.iter().map(|item| item.attempts).sum();
        let replayed = items.iter().any(|item| item.replayed);
        let items = items.to_vec();
        let record = &mut self.records[i];
        (record.attempts, record.replayed, record.items) = (attempts, replayed, Some(items));
    }

    /// Item `k` of fan-out call `i` failed for good with `error`: the call fails with it,
    /// once its items still in flight are stopped (reads `cancelled`, writes `unknown`).
    fn item_failed(&mut self, k: usize, i: usize, error: Error, now: f64) {
        let record = &mut self.records[k];
        record.state = CallState::Failed;
        record.end_ms = Some(now);
        record.error = Some(error.clone());
        self.settle(k);
        if let Some(fan) = self.fans[i].as_mut() {
            fan.running = fan.running.saturating_sub(1);
        }
        if self.records[i].state != CallState::NotSent {
            return; // its call has settled already
        }
        // Marked first, so that no item stopped now settles the call.
        self.records[i].state = CallState::Failed;
        self.stop_items(i, now);
        self.sum_up(i);
        self.fail(i, error, now);
    }

    /// Stops fan-out call `i`'s items still running, whatever their method.
    fn stop_items(&mut self, i: usize, now: f64) {
        let Some(slots) = self.fans[i].as_ref().map(Fan::slots) else {
            return;
        };
        for s in slots {
            if let Some(follower) = self.control[s].following.take() {
                follower.abort();
                self.records[s].state = CallState::Cancelled;
                self.records[s].end_ms = Some(now);
                self.settle(s);
                continue;
            }
            if self.control[s].task.is_none() || self.withdrawn(s, now) {
                continue;
            }
            // Calls sharing its read hear that it stopped.
            self.dedupe.settled(s);
            if let Some(task) = self.control[s].task.take() {
                task.abort();
            }
            let read = self.plan.calls()[i].is_safe();
            self.stopped(s, read, now);
        }
    }

    /// After calls were stopped: each fan-out call none of whose items runs any more
    /// settles.
    fn settle_fans(&mut self, now: f64) {
        for i in 0..self.fans.len() {
            if self.fans[i].is_some()
                && self.records[i].state == CallState::NotSent
                && !self.busy(i)
            {
                self.fan_settled(i, now);
            }
        }
    }

    /// Call `i`, ready, was found not needed (its `when` was false): it sends nothing. Its
    /// fallback, if any, stands in for its reply; without one, each call that reads its
    /// reply is not needed either, while a call only ordered after it (`after`) goes on.
    fn not_needed(&mut self, i: usize) {
        let plan = self.plan;
        // A call is marked when it is found, so that a reader named twice goes in once.
        self.records[i].state = CallState::NotNeeded;
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            self.settle(j);
            if let Some(fallback) = &plan.calls()[j].fallback {
                self.records[j].fell_back = true;
                self.replies[j] = Some(V::from_json(fallback));
                self.release_dependents(j);
                continue;
            }
            for &k in plan.dependents(j) {
                if !plan.reads(k, j) {
                    self.release(k);
                } else if self.records[k].state == CallState::NotSent
                    && self.control[k].task.is_none()
                {
                    self.records[k].state = CallState::NotNeeded;
                    stack.push(k);
                }
            }
        }
    }

    /// Records call `i`'s failure. An optional call's fallback then stands in for its
    /// reply; without one its dependents are skipped. A required call's failure fails
    /// the composition.
    pub fn fail(&mut self, i: usize, error: Error, now: f64) {
        if let Some((call, index)) = self.item_of(i) {
            return self.item_failed(i, call, error.at_item(index), now);
        }
        let plan = self.plan;
        let call = &plan.calls()[i];
        let record = &mut self.records[i];
        record.state = CallState::Failed;
        record.end_ms = Some(now);
        self.settle(i);
        if let Some(fallback) = &call.fallback {
            let record = &mut self.records[i];
            record.error = Some(error);
            record.fell_back = true;
            self.replies[i] = Some(V::from_json(fallback));
            self.release_dependents(i);
            return;
        }
        self.skip_dependents(i);
        if !call.optional && self.error.is_none() {
            self.error = Some(error.clone());
            // Reads in flight change nothing on the server: stop them now. Writes finish,
            // so that the records tell which of them happened; a write waiting to retry
            // will not be retried, so it stops waiting.
            self.abort_running(now, true);
        }
        self.records[i].error = Some(error);
    }

    /// Stops the calls still running, or only the reads and the writes waiting to retry
    /// (nothing of theirs is on the wire). A stopped read is `cancelled`; a stopped
    /// write was sent and may or may not have been acted on, so it is `unknown`. A write
    /// waiting to retry keeps the outcome of its last attempt.
    fn abort_running(&mut self, now: f64, reads_only: bool) {
        // Calls waiting on a read that is stopped now (see `dedupe.rs`).
        for f in self.dedupe.drop_waiting() {
            if let Some(task) = self.control[f].following.take() {
                task.abort();
            }
            self.records[f].state = CallState::Cancelled;
            self.records[f].end_ms = Some(now);
            self.settle(f);
        }
        for j in 0..self.records.len() {
            if self.control[j].task.is_none() || self.withdrawn(j, now) {
                continue;
            }
            let read = self.plan.calls()[self.call_of(j)].is_safe();
            if reads_only && !read && self.control[j].backoff.is_none() {
                continue;
            }
            if let Some(task) = self.control[j].task.take() {
                task.abort();
            }
            self.stopped(j, read, now);
        }
        self.settle_fans(now);
    }

    /// Stops call `j` if it has sent nothing yet (it waits for a slot, or has not started
    /// its first attempt): never sent, it stays `not-sent` (`cancelled` after an abort),
    /// whatever its method. Its place in the queue, or the slot it was given, frees.
    fn withdrawn(&mut self, j: usize, now: f64) -> bool {
        if let Some(queue) = self.queue.as_mut() {
            queue.release(j);
            if let Some(since) = queue.withdraw(j) {
                self.records[j].queued_ms += now - since;
            }
        }
        self.control[j].grant = None;
        if self.records[j].attempts > 0 {
            return false;
        }
        if let Some(task) = self.control[j].task.take() {
            task.abort();
        }
        true
    }

    /// Call `j`, stopped at `now`, ends as what it had done says.
    fn stopped(&mut self, j: usize, read: bool, now: f64) {
        self.limits.clear(j);
        self.control[j].attempt = None;
        self.events.stopped(j);
        let record = &mut self.records[j];
        record.end_ms = Some(now);
        let last = self.control[j].backoff.take();
        if read {
            record.state = CallState::Cancelled;
        } else if let Some(last) = last {
            // A write whose last attempt was answered did not happen; one whose last
            // attempt went unanswered may have.
            if record.state != CallState::Unknown {
                record.state = CallState::Failed;
            }
            record.error = Some(last);
            self.skip_dependents(j);
        } else {
            record.state = CallState::Unknown;
        }
        self.settle(j);
        if self.item_of(j).is_some() {
            self.item_settled(j, now);
        }
    }

    /// Marks every call downstream of `i` skipped.
    fn skip_dependents(&mut self, i: usize) {
        let mut stack: Vec<usize> = self.dependents_of(i).to_vec();
        while let Some(j) = stack.pop() {
            if self.records[j].state == CallState::NotSent && self.control[j].task.is_none() {
                self.records[j].state = CallState::Skipped;
                self.settle(j);
                stack.extend_from_slice(self.plan.dependents(j));
            }
        }
    }

    /// Call `i`, which started at `start`, is served from a composer's cache with a
    /// reply `age` ms old: it sends nothing, and its `start` event says attempt 0.
    pub fn served_from_cache(&mut self, i: usize, start: f64, age: f64) {
        let record = &mut self.records[i];
        record.start_ms = Some(start);
        record.cached_age_ms = Some(age);
        self.events.cached(self.plan, i, start, age);
    }

    /// Call `i`'s attempt was cut short by the deadline: the composition ends as at the
    /// deadline, with `i` stopped where it was.
    pub fn cut_by_deadline(&mut self, i: usize, deadline_ms: f64, now: f64) {
        self.events.stopped(i);
        let read = self.plan.calls()[self.call_of(i)].is_safe();
        let record = &mut self.records[i];
        record.end_ms = Some(now);
        record.state = if read {
            CallState::Cancelled
        } else {
            CallState::Unknown
        };
        self.settle(i);
        self.out_of_time(deadline_ms, now);
    }

    /// Ends the composition at its deadline: everything running is stopped. When every
    /// required call had already succeeded, the composition still resolves (see
    /// [`Composition::wind_down`]); otherwise it fails with `TIMEOUT`, unless a failure
    /// came first.
    pub fn out_of_time(&mut self, deadline_ms: f64, now: f64) {
        let ms = deadline_ms.round() as u64;
        if self.required_done() {
            let cause = format!("the composition's deadline of {ms} ms");
            self.wind_down(now, ErrorKind::Timeout, &cause);
            return;
        }
        self.stop_starting();
        self.abort_running(now, false);
        if self.error.is_none() {
            self.error = Some(Error::new(
                ErrorKind::Timeout,
                format!("the composition ran past its deadline of {ms} ms"),
            ));
        }
    }

    /// Ends the composition at the caller's abort: everything running is stopped and
    /// nothing else starts. When every required call had already succeeded, the
    /// composition still resolves (see [`Composition::wind_down`]).
    pub fn aborted(&mut self, now: f64) {
        if self.required_done() {
            self.wind_down(now, ErrorKind::Aborted, "the caller's abort");
            return;
        }
        self.stop_starting();
        self.abort_running(now, false);
        for record in &mut self.records {
            if record.state == CallState::NotSent {
                record.state = CallState::Cancelled;
            }
        }
        self.error = Some(Error::new(
            ErrorKind::Aborted,
            "the composition was aborted by its signal",
        ));
    }

    /// Nothing more starts, whatever was ready.
    fn stop_starting(&mut self) {
        self.ready.clear();
        for fan in self.fans.iter_mut().flatten() {
            fan.running = 0; // released, never to start
        }
    }

    /// Whether every required call has succeeded (or was skipped after an optional call
    /// failed, or was not needed), with no failure recorded: the result is then complete, whatever optional
    /// calls are still doing.
    fn required_done(&self) -> bool {
        let done = |i: usize| {
            matches!(
                self.records[i].state,
                CallState::Ok | CallState::Skipped | CallState::NotNeeded
            )
        };
        let calls = self.plan.calls();
        self.error.is_none() && (0..calls.len()).all(|i| calls[i].optional || done(i))
    }

    /// Stops the optional calls still running when the deadline or the abort (`cause`)
    /// comes after every required call succeeded. The composition then resolves: a placed
    /// order reported as a failure would send the caller to place it again. A read in
    /// flight or a call not yet started ends `cancelled`, a write in flight `unknown`;
    /// each says what stopped it.
    fn wind_down(&mut self, now: f64, kind: ErrorKind, cause: &str) {
        self.stop_starting();
        self.abort_running(now, false);
        for i in 0..self.records.len() {
            let name = &self.plan.calls()[self.call_of(i)].name;
            let item = self.item_of(i);
            let record = &mut self.records[i];
            if record.state == CallState::NotSent {
                record.state = CallState::Cancelled;
            }
            if matches!(record.state, CallState::Cancelled | CallState::Unknown)
                && record.error.is_none()
            {
                let message = format!(
                    "call `{name}` was stopped by {cause}, which came after every required call had succeeded; the composition resolved without it"
                );
                let error = Error::new(kind, message).in_call(name);
                record.error = Some(match item {
                    Some((_, index)) => error.at_item(index),
                    None => error,
                });
            }
        }
    }

    /// Sends the terminal events of the calls settled since the last one.
    pub fn flush(&mut self, now: &dyn Fn() -> f64) {
        let (plan, records, replies) = (self.plan, &self.records, &self.replies);
        self.events.flush(plan, records, replies, now);
    }

    /// The outcome: a record and a reply per call of the plan, a fan-out call's items'
    /// records inside its own.
    pub fn finish(mut self, origin: f64) -> Outcome<V> {
        let n = self.plan.calls().len();
        for i in 0..n {
            if let Some(fan) = self.fans[i].take() {
                let items = self.records.get(fan.slots()).unwrap_or_default();
                self.records[i].items = Some(items.to_vec());
            } else if self.plan.calls()[i].for_each.is_some() {
                self.records[i].items = Some(Vec::new());
            }
        }
        self.records.truncate(n);
        self.replies.truncate(n);
        Outcome {
            replies: self.replies,
            records: self.records,
            error: self.error,
            compensations: Vec::new(),
            origin,
        }
    }
}
