//! The scheduler: runs a validated plan over a transport, in one of three orders.
//!
//! *Eager* starts each call the moment its last dependency succeeds, so the makespan is
//! the plan's critical path. *Stages* waits at a barrier after each topological level.
//! *Sequential* runs one call at a time. All three use the same bookkeeping, and differ
//! only in which ready call they let start.
//!
//! On a required call's failure nothing new starts. In-flight reads are aborted (they
//! change nothing on the server), while in-flight writes are allowed to finish, so the
//! records say truthfully which writes happened. When the caller's abort signal fires,
//! every in-flight request is aborted at once. Dropping the future aborts them too.

use crate::engine::compensate::{compensate, Sender};
use crate::engine::concurrency::Queue;
use crate::engine::dedupe::Dedupe;
use crate::engine::events::Progress;
use crate::engine::failure::transport_error;
use crate::engine::hooks::Hooks;
use crate::engine::idempotency::{add_idempotency_key, has_idempotency_key};
use crate::engine::in_flight::InFlight;
use crate::engine::outcome::Outcome;
use crate::engine::record::{CallRecord, CallState};
use crate::engine::retry::{Decision, RetryPolicy};
use crate::engine::scope::Scope;
use crate::engine::settings::{Schedule, Settings};
use crate::engine::timeouts::TimeLimits;
use crate::engine::transport::BoxFuture;
use crate::engine::transport::Request;
use crate::engine::transport::{Clock, Reply, Sent, Transport, TransportError};
use crate::error::{Error, ErrorKind};
use crate::plan::value::Value;
use crate::plan::Plan;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::task::Poll;

/// What an in-flight slot yields: a request's outcome, or the end of a retry's backoff.
pub(crate) enum Slot<V> {
    Sent(Sent<V>),
    Waited,
}

/// One attempt of a request; its time limit is kept in [`TimeLimits`].
fn attempt<T: Transport>(transport: &T, request: Request<T::Value>) -> BoxFuture<Slot<T::Value>>
where
    T::Value: 'static,
{
    let sent = transport.send(request);
    Box::pin(async move { Slot::Sent(sent.await) })
}

/// Why the scheduler stopped waiting for replies.
enum Stop {
    Aborted,
    Deadline,
}

/// The mutable state of one run.
struct Run<'p, V: 'static> {
    plan: &'p Plan,
    schedule: Schedule,
    replies: Vec<Option<V>>,
    records: Vec<CallRecord>,
    /// Unfinished dependencies per call.
    waiting: Vec<usize>,
    /// Calls whose dependencies all succeeded, smallest (stage, index) first: the order
    /// stages and sequential runs use, and a stable order for eager.
    ready: BinaryHeap<Reverse<(usize, usize)>>,
    /// Calls not yet settled, per stage, for the stage barrier.
    open_in_stage: Vec<usize>,
    stage: usize,
    /// Requests under way; removing one aborts it.
    in_flight: InFlight<Slot<V>>,
    /// When each request under way runs out of time.
    limits: TimeLimits,
    /// The failure that stands for a call waiting to retry, should it never get the chance.
    backoff: Vec<Option<Error>>,
    error: Option<Error>,
    /// Requests waiting for a slot under a concurrency limit; `None` without limits.
    queue: Option<Queue>,
    /// Identical reads, sent once.
    dedupe: Dedupe<V>,
    /// Progress events, when somebody listens.
    events: Progress,
}

impl<'p, V: Value> Run<'p, V> {
    fn new(plan: &'p Plan, settings: &Settings) -> Self {
        let n = plan.calls().len();
        let waiting: Vec<usize> = plan.calls().iter().map(|c| c.deps.len()).collect();
        let ready = (0..n)
            .filter(|&i| waiting[i] == 0)
            .map(|i| Reverse((0, i)))
            .collect();
        Run {
            plan,
            schedule: settings.schedule,
            replies: vec![None; n],
            records: vec![CallRecord::default(); n],
            waiting,
            ready,
            open_in_stage: plan.stages().iter().map(Vec::len).collect(),
            stage: 0,
            in_flight: InFlight::new(n),
            limits: TimeLimits::new(n),
            backoff: vec![None; n],
            error: None,
            queue: Queue::new(settings.concurrency, n),
            dedupe: Dedupe::new(settings.dedupe),
            events: Progress::new(None, n),
        }
    }

    /// The next call the schedule lets start now, if any.
    fn next_to_start(&mut self) -> Option<usize> {
        if self.error.is_some() {
            return None;
        }
        let &Reverse((stage, i)) = self.ready.peek()?;
        let allowed = match self.schedule {
            Schedule::Eager => true,
            Schedule::Stages => stage == self.stage,
            Schedule::Sequential => self.in_flight.len() == 0,
        };
        if allowed {
            self.ready.pop();
            Some(i)
        } else {
            None
        }
    }

    /// Marks call `i` settled for the stage barrier.
    fn settle(&mut self, i: usize) {
        self.events.settled(i);
        let stage = self.plan.calls()[i].stage;
        self.open_in_stage[stage] -= 1;
        while self.stage < self.open_in_stage.len() && self.open_in_stage[self.stage] == 0 {
            self.stage += 1;
        }
    }

    fn succeed(&mut self, i: usize, status: u16, body: V, now: f64) {
        let record = &mut self.records[i];
        record.state = CallState::Ok;
        record.status = Some(status);
        record.end_ms = Some(now);
        self.replies[i] = Some(body);
        self.settle(i);
        self.release_dependents(i);
    }

    /// Call `i`'s value is known: its dependents wait for one call fewer.
    fn release_dependents(&mut self, i: usize) {
        for &j in self.plan.dependents(i) {
            self.waiting[j] -= 1;
            if self.waiting[j] == 0 && self.records[j].state == CallState::NotSent {
                self.ready.push(Reverse((self.plan.calls()[j].stage, j)));
            }
        }
    }

    /// Records call `i`'s failure. An optional call's fallback then stands in for its
    /// reply; without one its dependents are skipped. A required call's failure fails
    /// the composition.
    fn fail(&mut self, i: usize, error: Error, now: f64) {
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
            self.abort_in_flight(now, true);
        }
        self.records[i].error = Some(error);
    }

    /// Aborts the requests in flight, or only the reads and the writes waiting to retry
    /// (nothing of theirs is on the wire). An aborted read is `cancelled`; an aborted
    /// write was sent and may or may not have been acted on, so it is `unknown`. A write
    /// waiting to retry keeps the outcome of its last attempt.
    fn abort_in_flight(&mut self, now: f64, reads_only: bool) {
        // Calls waiting on a read that is aborted now (see `dedupe.rs`).
        for f in self.dedupe.drop_waiting() {
            self.records[f].state = CallState::Cancelled;
            self.records[f].end_ms = Some(now);
            self.settle(f);
        }
        for j in 0..self.plan.calls().len() {
            let read = self.plan.calls()[j].method.is_read();
            let waiting = self.backoff[j].is_some();
            // A call still queued for its first attempt was never sent: it stays
            // `not-sent` (`cancelled` after an abort), whatever its method.
            if let Some(queue) = self.queue.as_mut() {
                queue.release(j);
                if let Some(since) = queue.withdraw(j) {
                    self.records[j].queued_ms += now - since;
                    if self.records[j].attempts == 0 {
                        self.in_flight.remove(j);
                        continue;
                    }
                }
            }
            if (reads_only && !read && !waiting) || !self.in_flight.remove(j) {
                continue;
            }
            self.limits.clear(j);
            self.events.stopped(j);
            let record = &mut self.records[j];
            record.end_ms = Some(now);
            let last = self.backoff[j].take();
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
        }
    }

    /// Marks every call downstream of `i` skipped.
    fn skip_dependents(&mut self, i: usize) {
        let mut stack: Vec<usize> = self.plan.dependents(i).to_vec();
        while let Some(j) = stack.pop() {
            if self.records[j].state == CallState::NotSent && !self.in_flight.contains(j) {
                self.records[j].state = CallState::Skipped;
                self.settle(j);
                stack.extend_from_slice(self.plan.dependents(j));
            }
        }
    }

    /// Ends the composition at its deadline: everything in flight is aborted. When every
    /// required call had already succeeded, the composition still resolves (see
    /// [`Run::wind_down`]); otherwise it fails with `TIMEOUT`, unless a failure came first.
    fn out_of_time(&mut self, deadline_ms: f64, now: f64) {
        let ms = deadline_ms.round() as u64;
        if self.required_done() {
            let cause = format!("the composition's deadline of {ms} ms");
            self.wind_down(now, ErrorKind::Timeout, &cause);
            return;
        }
        self.abort_in_flight(now, false);
        if self.error.is_none() {
            self.error = Some(Error::new(
                ErrorKind::Timeout,
                format!("the composition ran past its deadline of {ms} ms"),
            ));
        }
    }

    /// Ends the composition at the caller's abort: everything in flight is aborted and
    /// nothing else starts. When every required call had already succeeded, the
    /// composition still resolves (see [`Run::wind_down`]).
    fn aborted(&mut self, now: f64) {
        if self.required_done() {
            self.wind_down(now, ErrorKind::Aborted, "the caller's abort");
            return;
        }
        self.abort_in_flight(now, false);
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

    /// Whether every required call has succeeded (or was skipped after an optional call
    /// failed), with no failure recorded: the result is then complete, whatever optional
    /// calls are still doing.
    fn required_done(&self) -> bool {
        self.error.is_none()
            && self
                .plan
                .calls()
                .iter()
                .zip(&self.records)
                .all(|(call, record)| {
                    call.optional || matches!(record.state, CallState::Ok | CallState::Skipped)
                })
    }

    /// Stops the optional calls still running when the deadline or the abort (`cause`)
    /// comes after every required call succeeded. The composition then resolves: a placed
    /// order reported as a failure would send the caller to place it again. A read in
    /// flight or a call not yet started ends `cancelled`, a write in flight `unknown`;
    /// each says what stopped it.
    fn wind_down(&mut self, now: f64, kind: ErrorKind, cause: &str) {
        self.abort_in_flight(now, false);
        for (call, record) in self.plan.calls().iter().zip(&mut self.records) {
            if record.state == CallState::NotSent {
                record.state = CallState::Cancelled;
            }
            if matches!(record.state, CallState::Cancelled | CallState::Unknown)
                && record.error.is_none()
            {
                let name = &call.name;
                let message = format!(
                    "call `{name}` was stopped by {cause}, which came after every required call had succeeded; the composition resolved without it"
                );
                record.error = Some(Error::new(kind, message).in_call(name));
            }
        }
    }

    fn finish(self, origin: f64) -> Outcome<V> {
        Outcome {
            replies: self.replies,
            records: self.records,
            error: self.error,
            compensations: Vec::new(),
            origin,
        }
    }
}

/// Runs `plan` over `transport` and reports every call's outcome.
///
/// `input` is what `{input...}` placeholders read. `hooks` may build bodies and judge
/// replies. When `cancel` completes, all in-flight requests are aborted, calls not yet
/// started are marked cancelled (an aborted write, already sent, is `unknown`), and the
/// outcome's error is `ABORTED`.
///
/// When a required call fails, the completed writes that declare a `compensate` request
/// are undone afterwards, last finished first (see [`Outcome::compensations`]).
///
/// Every `{input...}` value is checked before the first request: a missing one fails
/// with `INVALID_INPUT` and nothing is sent.
pub async fn run<T, H>(
    plan: &Plan,
    input: &T::Value,
    transport: &T,
    clock: &impl Clock,
    hooks: &H,
    settings: impl Into<Settings>,
    cancel: impl Future<Output = ()>,
) -> Outcome<T::Value>
where
    T: Transport,
    T::Value: 'static,
    H: Hooks<T::Value> + ?Sized,
{
    let origin = clock.now();
    let elapsed = || clock.now() - origin;
    let settings: Settings = settings.into();
    let mut run = Run::new(plan, &settings);
    run.events = Progress::new(settings.on_event.as_ref(), plan.calls().len());
    let mut cancel = std::pin::pin!(cancel);
    let mut deadline = settings.deadline_ms.map(|ms| clock.sleep(ms));
    let n = plan.calls().len();
    // Requests as sent, kept for retries, and the retries the composition may still spend.
    let mut sent: Vec<Option<Request<T::Value>>> = (0..n).map(|_| None).collect();
    let mut budget = RetryPolicy::budget(n);
    // The time limit of one attempt of call `i` starting at `start`, and whether the
    // deadline is what sets it (it bounds every attempt, reading the body included).
    let limit_of = |i: usize, start: f64| -> (f64, bool) {
        let own = plan.calls()[i].timeout_ms.unwrap_or(settings.timeout_ms);
        match settings.deadline_ms {
            Some(d) if d - start < own => ((d - start).max(0.0), true),
            _ => (own, false),
        }
    };

    // Sends the next attempt of call `i` now (its request is in `sent`); the call's own
    // time limit starts here, not while it waited in the queue.
    let launch =
        |run: &mut Run<'_, T::Value>, sent: &[Option<Request<T::Value>>], i: usize, now: f64| {
            let record = &mut run.records[i];
            if record.attempts == 0 {
                record.start_ms = Some(now);
            }
            record.attempts += 1;
            // A record's status is its last attempt's answer: none while it is on the wire.
            record.status = None;
            let attempt_number = record.attempts;
            run.backoff[i] = None;
            run.events.start(plan, i, attempt_number, now);
            let (limit, by_deadline) = limit_of(i, now);
            run.limits.start(i, now, limit, by_deadline);
            if let Some(request) = sent[i].clone() {
                run.in_flight.insert(i, attempt(transport, request));
            }
        };
    // Launches it, or queues it while a concurrency limit is reached: it then holds its
    // in-flight slot without a request, so that an abort finds it (see `queue.rs`).
    let send =
        |run: &mut Run<'_, T::Value>, sent: &[Option<Request<T::Value>>], i: usize, now: f64| {
            let url = sent[i].as_ref().map_or("", |r| r.url.as_str());
            if run.queue.as_mut().is_some_and(|q| !q.admit(i, url, now)) {
                run.in_flight.insert(i, Box::pin(std::future::pending()));
            } else {
                launch(run, sent, i, now);
            }
        };

    if let Err(e) = Scope::new(plan, input, &run.replies).check_input() {
        run.error = Some(e);
        return run.finish(origin);
    }

    loop {
        run.events.flush(plan, &run.records, &elapsed);
        // Queued requests go first, in the order they were queued, as slots free.
        while let Some((i, since)) = run
            .queue
            .as_mut()
            .filter(|_| run.error.is_none())
            .and_then(Queue::next)
        {
            let now = elapsed();
            run.records[i].queued_ms += now - since;
            launch(&mut run, &sent, i, now);
        }
        while let Some(i) = run.next_to_start() {
            let call = &plan.calls()[i];
            let scope = Scope::new(plan, input, &run.replies);
            let request = match hooks.body(&call.name, &scope) {
                Some(Ok(body)) => scope.request(call, Some(body)),
                Some(Err(e)) => Err(e.in_call(&call.name)),
                None => scope.request(call, None),
            };
            match request {
                Ok(mut request) => {
                    if call.method == crate::plan::Method::Post {
                        add_idempotency_key(&mut request, &call.name, &settings, transport);
                    }
                    if let Some(trace) = &settings.trace {
                        trace.add_to(&mut request, i);
                    }
                    let now = elapsed();
                    let own = call.timeout_ms.unwrap_or(settings.timeout_ms);
                    let shared = run.dedupe.share(i, &request, own, &sent);
                    sent[i] = Some(request);
                    match shared {
                        Some(leader) => {
                            crate::engine::dedupe::follow(&mut run.records[i], leader, now)
                        }
                        None => send(&mut run, &sent, i, now),
                    }
                }
                Err(e) => run.fail(i, e, elapsed()),
            }
        }
        run.events.flush(plan, &run.records, &elapsed);
        // The caller's abort comes first, then the deadline; otherwise the next request
        // to settle, or to run out of time (it is aborted by its removal).
        let settled = std::future::poll_fn(|cx| {
            if let Some((i, outcome)) = run.dedupe.due() {
                return Poll::Ready(Ok(Some((i, Slot::Sent(outcome)))));
            }
            if cancel.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Stop::Aborted));
            }
            if let Some(timer) = deadline.as_mut() {
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(Stop::Deadline));
                }
            }
            match run.in_flight.poll_next(cx) {
                Poll::Ready(Some((i, slot))) => {
                    run.limits.clear(i);
                    return Poll::Ready(Ok(Some((i, slot))));
                }
                Poll::Ready(None) => return Poll::Ready(Ok(None)),
                Poll::Pending => {}
            }
            run.limits
                .poll_expired(cx, elapsed, clock)
                .map(|(i, limit)| {
                    run.in_flight.remove(i);
                    let timed_out = TransportError::TimedOut {
                        after_ms: limit.after_ms,
                        deadline: limit.by_deadline,
                    };
                    Ok(Some((i, Slot::Sent(Err(timed_out)))))
                })
        })
        .await;
        let now = elapsed();
        let (i, result) = match settled {
            Ok(Some(settled)) => settled,
            Ok(None) => break,
            Err(Stop::Deadline) => {
                run.out_of_time(settings.deadline_ms.unwrap_or_default(), now);
                break;
            }
            Err(Stop::Aborted) => {
                // Removing the in-flight futures aborts their fetches.
                run.aborted(now);
                break;
            }
        };
        let name = &plan.calls()[i].name;
        let result = match result {
            Slot::Sent(result) => {
                if let Some(queue) = run.queue.as_mut() {
                    queue.release(i);
                }
                run.dedupe.keep(i, &result);
                result
            }
            Slot::Waited => {
                let standing = run.backoff[i].take();
                match (&run.error, sent[i].is_some(), standing) {
                    // The composition failed while this call waited: its last failure stands.
                    (Some(_), _, Some(error)) | (_, false, Some(error)) => {
                        let unknown = run.records[i].state == CallState::Unknown;
                        run.fail(i, error, now);
                        if unknown {
                            run.records[i].state = CallState::Unknown;
                        }
                    }
                    (_, true, standing) => {
                        // Until it is sent, a retry queued for a slot is still waiting.
                        run.backoff[i] = standing;
                        send(&mut run, &sent, i, now);
                    }
                    (_, false, None) => {}
                }
                continue;
            }
        };
        // An empty reply is `null` data where nobody reads it; where JSON is expected it
        // stays an error, which the last arm reports as a bad response (never retried).
        let result = match result {
            Err(TransportError::Empty { status, .. })
                if !crate::engine::reply_rules::expects_json(&plan.calls()[i], hooks) =>
            {
                Ok(Reply {
                    status,
                    body: T::Value::from_json(&crate::plan::json::Json::Null),
                    replayed: false,
                })
            }
            result => result,
        };
        if result.is_ok() {
            run.dedupe.settled(i);
        }
        match result {
            Ok(reply) => {
                run.records[i].replayed = reply.replayed;
                match hooks.check(name, &reply.body) {
                    Ok(()) => run.succeed(i, reply.status, reply.body, now),
                    Err(e) => {
                        run.records[i].status = Some(reply.status);
                        run.fail(i, e.in_call(name), now);
                    }
                }
            }
            // A request cut short by the deadline (its own timer fired first) ends the
            // composition exactly as the deadline's timer would.
            Err(TransportError::TimedOut { deadline: true, .. }) => {
                run.events.stopped(i);
                run.records[i].end_ms = Some(now);
                run.records[i].state = if plan.calls()[i].method.is_read() {
                    CallState::Cancelled
                } else {
                    CallState::Unknown
                };
                run.settle(i);
                run.out_of_time(settings.deadline_ms.unwrap_or_default(), now);
                break;
            }
            Err(e) => {
                let call = &plan.calls()[i];
                // The status of this attempt's answer: none without one, whatever earlier
                // attempts were answered.
                run.records[i].status = e.status();
                // A call sharing another's read got its final outcome: retries were its.
                let repeatable = run.records[i].shared_from.is_none()
                    && (call.method.is_read() || sent[i].as_ref().is_some_and(has_idempotency_key));
                let time_left = settings.deadline_ms.map_or(f64::INFINITY, |d| d - now);
                let decision = settings.retry.decide(
                    run.records[i].attempts,
                    &e,
                    repeatable,
                    time_left,
                    budget > 0 && run.error.is_none(),
                    transport.random(),
                );
                let outcome_unknown = e.may_have_acted();
                if let Decision::RetryAfter(wait) = decision {
                    budget -= 1;
                    if outcome_unknown && !call.method.is_read() {
                        run.records[i].state = CallState::Unknown;
                    }
                    let scope = Scope::new(plan, input, &run.replies);
                    let error = transport_error(call, e, sent[i].as_ref().map(|r| (r, &scope)));
                    let failed = (run.records[i].attempts, error.status(), error.kind(), wait);
                    run.events.retry(plan, i, now, failed);
                    run.backoff[i] = Some(error);
                    let timer = clock.sleep(wait);
                    run.in_flight.insert(
                        i,
                        Box::pin(async move {
                            timer.await;
                            Slot::Waited
                        }),
                    );
                    continue;
                }
                run.dedupe.settled(i);
                // A write stays `unknown` once any attempt's outcome was: a later definite
                // failure does not say the earlier attempt did nothing. That includes a
                // 5xx, 408 or 429 (see `TransportError::may_have_acted`).
                let was_unknown = run.records[i].state == CallState::Unknown;
                let scope = Scope::new(plan, input, &run.replies);
                let error = transport_error(call, e, sent[i].as_ref().map(|r| (r, &scope)));
                run.fail(i, error, now);
                if (outcome_unknown || was_unknown) && !plan.calls()[i].method.is_read() {
                    run.records[i].state = CallState::Unknown;
                }
            }
        }
    }
    run.events.finish(plan, &run.records, &elapsed);
    // Calls that never started: downstream of a failure they were skipped already;
    // the rest stayed `not-sent`. A failure leaves completed writes to undo.
    let compensations = match &run.error {
        Some(error) => {
            let aborted = error.kind() == ErrorKind::Aborted;
            let scope = Scope::new(plan, input, &run.replies);
            let sender = Sender {
                transport,
                clock,
                settings: &settings,
                origin,
            };
            compensate(&scope, &run.records, aborted, sender, cancel.as_mut()).await
        }
        None => Vec::new(),
    };
    Outcome {
        compensations,
        ..run.finish(origin)
    }
}
