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

use crate::engine::compensate::{compensate, Compensation, Sender};
use crate::engine::dedupe::Dedupe;
use crate::error::{Error, ErrorKind};
use crate::engine::events::{OnEvent, Progress};
use crate::engine::hooks::Hooks;
use crate::engine::in_flight::{BoxFuture, InFlight};
use crate::plan::{Call, Plan};
use crate::engine::concurrency::{Concurrency, Queue};
use crate::engine::record::{CallRecord, CallState};
use crate::engine::retry::{Decision, RetryPolicy};
use crate::engine::scope::Scope;
use crate::engine::timeouts::TimeLimits;
use crate::engine::trace::TraceContext;
use crate::engine::transport::Request;
use crate::engine::transport::{Clock, Reply, Transport, TransportError};
use crate::plan::value::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::task::Poll;

/// The order in which ready calls may start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// Each call starts as soon as its dependencies succeed (the default).
    #[default]
    Eager,
    /// A barrier after each topological level.
    Stages,
    /// One call at a time, for comparison.
    Sequential,
}

impl Schedule {
    /// Reads `"eager"`, `"stages"` or `"sequential"`.
    pub fn parse(name: &str) -> Option<Schedule> {
        match name {
            "eager" => Some(Schedule::Eager),
            "stages" => Some(Schedule::Stages),
            "sequential" => Some(Schedule::Sequential),
            _ => None,
        }
    }

    /// The schedule's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::Eager => "eager",
            Schedule::Stages => "stages",
            Schedule::Sequential => "sequential",
        }
    }
}

/// The default time limit of one call, when neither the plan nor the options set one.
pub const DEFAULT_TIMEOUT_MS: f64 = 10_000.0;

/// How to run a plan: the schedule and the time limits.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Which ready calls may start.
    pub schedule: Schedule,
    /// Each call's time limit unless the plan gives it one ([`DEFAULT_TIMEOUT_MS`]).
    pub timeout_ms: f64,
    /// The whole composition's time limit, if any; it also bounds every call.
    pub deadline_ms: Option<f64>,
    /// When set, each POST's `Idempotency-Key` is `<operation id>:<call>`, so a repeated
    /// submission of the same intent reuses the same keys; otherwise keys are random.
    pub operation_id: Option<String>,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
    /// Whether identical reads share one request (default `true`; see `dedupe.rs`).
    pub dedupe: bool,
    /// How many requests may be on the wire at once (default: no limit; see `queue.rs`).
    pub concurrency: Concurrency,
    /// Receives the progress events (their contract: [`OnEvent`]); `None` costs nothing.
    pub on_event: Option<OnEvent>,
    /// The trace whose `traceparent` the requests carry ([`TraceContext`]); `None`: no header.
    pub trace: Option<TraceContext>,
}

impl From<Schedule> for Settings {
    fn from(schedule: Schedule) -> Self {
        Settings {
            schedule,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            deadline_ms: None,
            operation_id: None,
            retry: RetryPolicy::default(),
            dedupe: true,
            concurrency: Concurrency::default(),
            on_event: None,
            trace: None,
        }
    }
}

/// What a composition produced: each call's reply (when it succeeded) and record, the
/// error that failed it, if any, and what became of the writes it then had to undo.
#[derive(Debug)]
pub struct Outcome<V> {
    /// Replies, indexed like the plan's calls; a fallback stands in for a failed optional
    /// call's reply.
    pub replies: Vec<Option<V>>,
    /// Records, indexed like the plan's calls.
    pub records: Vec<CallRecord>,
    /// The first failure of a required call, or the abort.
    pub error: Option<Error>,
    /// The compensations of completed writes, in the order they ran (last write first);
    /// empty when the composition succeeded or no completed write declared one.
    pub compensations: Vec<Compensation>,
    /// The clock's reading ([`Clock::now`]) when the composition started: the records'
    /// times count from it.
    pub origin: f64,
}

pub(crate) type Sent<V> = Result<Reply<V>, TransportError>;

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

/// The name of the header that makes a write safe to repeat.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Whether `request` already carries an `Idempotency-Key`.
pub(crate) fn has_idempotency_key<V>(request: &Request<V>) -> bool {
    request
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case(IDEMPOTENCY_KEY))
}

/// Gives `request` (of the call or compensation `name`) its `Idempotency-Key` unless the
/// plan set one: `<operation id>:<name>` when the caller named the intent, else random.
pub(crate) fn add_idempotency_key<T: Transport>(
    request: &mut Request<T::Value>,
    name: &str,
    settings: &Settings,
    transport: &T,
) {
    if !has_idempotency_key(request) {
        let key = match &settings.operation_id {
            Some(op) => format!("{op}:{name}"),
            None => transport.idempotency_key(),
        };
        request.headers.push((IDEMPOTENCY_KEY.to_owned(), key));
    }
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
                        Some(leader) => crate::engine::dedupe::follow(&mut run.records[i], leader, now),
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

/// Turns a transport failure into the composition's error, naming the call and its URL
/// template (never the filled-in URL, which may carry values the caller considers secret).
/// What the message quotes from the service or the platform (the start of a reply that is
/// not JSON, a network error's text, a redirect's target) has every value of the `sent`
/// request cut out first (see `redact.rs`): a reply may echo the request. The scope is
/// the one the request was filled from, or a later one: replies never change.
pub(crate) fn transport_error<V: Value>(
    call: &Call,
    e: TransportError,
    sent: Option<(&Request<V>, &Scope<'_, V>)>,
) -> Error {
    let what = format!("call `{}` ({} {})", call.name, call.method, call.url_source);
    let redact = |text: &str| crate::engine::redact::secrets_of(call, sent).redact(text);
    match e {
        TransportError::Status(status) | TransportError::Throttled { status, .. } => Error::new(
            ErrorKind::HttpStatus,
            format!("{what} failed: the service answered HTTP {status}"),
        )
        .with_status(status),
        TransportError::Network(reason) => Error::new(
            ErrorKind::Network,
            format!("{what} failed: network error ({})", redact(&reason)),
        ),
        // A limit set by the deadline ends the composition before this is reached
        // (see `run`), so what remains is the call's own timeout.
        TransportError::TimedOut { after_ms, .. } => Error::new(
            ErrorKind::Timeout,
            format!(
                "{what} timed out after {} ms; the request was aborted",
                after_ms.round() as u64
            ),
        ),
        TransportError::Body {
            status,
            content_type,
            excerpt,
            reason,
        } => {
            let shown = if excerpt.is_empty() {
                crate::engine::reply_rules::excerpt(&redact(&reason))
            } else {
                format!("\"{}\"", crate::engine::reply_rules::excerpt(&redact(&excerpt)))
            };
            let head = crate::engine::reply_rules::status_and_type(status, content_type.as_deref());
            Error::new(
                ErrorKind::BadResponse,
                format!("{what} failed: the reply is not JSON ({head}): {shown}"),
            )
            .with_status(status)
        }
        TransportError::Empty {
            status,
            content_type,
        } => Error::new(
            ErrorKind::BadResponse,
            format!(
                "{what} failed: expected a JSON reply, but it is empty ({})",
                crate::engine::reply_rules::status_and_type(status, content_type.as_deref())
            ),
        )
        .with_status(status),
        TransportError::TooLarge {
            status,
            limit,
            declared,
        } => {
            let cap = crate::engine::reply_rules::size_text(limit);
            Error::new(
                ErrorKind::BadResponse,
                match declared {
                    Some(n) => format!(
                        "{what} failed: the reply announces {n} bytes, more than the {cap} cap \
                         (options.maxResponseBytes); it was not read"
                    ),
                    None => format!(
                        "{what} failed: the reply is larger than the {cap} cap \
                         (options.maxResponseBytes); it was not read further"
                    ),
                },
            )
            .with_status(status)
        }
        TransportError::Redirected { status, origin } => {
            let seen = match (status, origin.map(|o| redact(&o))) {
                (Some(s), Some(o)) => format!(" (HTTP {s} to {})", crate::engine::reply_rules::excerpt(&o)),
                (Some(s), None) => format!(" (HTTP {s})"),
                (None, Some(o)) => format!(" (to {})", crate::engine::reply_rules::excerpt(&o)),
                (None, None) => String::new(),
            };
            let error = Error::new(
                ErrorKind::BadResponse,
                format!(
                    "{what} failed: it was redirected{seen}; redirects are refused so that \
                     headers never reach another origin"
                ),
            );
            match status {
                Some(s) => error.with_status(s),
                None => error,
            }
        }
    }
    .in_call(&call.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hooks::NoHooks;
    use crate::plan::json::Json;
    use crate::plan::Method;
    use crate::tests::sim::{json, plan};
    use crate::tests::sim::{Answer, Sim};
    use crate::engine::transport::Request;
    use std::collections::HashMap;

    /// The last path segment of `http://svc/<name>...` names the simulated service.
    fn service(req: &Request<Json>) -> String {
        req.url
            .trim_start_matches("http://svc/")
            .split(['/', '?'])
            .next()
            .unwrap()
            .to_owned()
    }

    /// A network where service `name` takes `latency[name]` ms and echoes its name.
    fn network(latency: &[(&str, f64)]) -> Sim {
        let latency: HashMap<String, f64> =
            latency.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Sim::new(move |req| -> Answer {
            let name = service(req);
            let ms = latency.get(&name).copied().unwrap_or(10.0);
            (
                ms,
                Ok(Reply {
                    status: 200,
                    body: json(&format!(r#"{{"name":"{name}","id":7,"items":[1,2,3]}}"#)),
                    replayed: false,
                }),
            )
        })
    }

    /// Runs `p` on `sim` with `input` (JSON text) and `settings`, never cancelled.
    fn go(sim: &Sim, p: &Plan, input: &str, settings: impl Into<Settings>) -> Outcome<Json> {
        crate::tests::sim::run_to_end(sim, p, &json(input), settings)
    }

    fn times(out: &Outcome<Json>, p: &Plan) -> HashMap<String, (f64, f64)> {
        p.calls()
            .iter()
            .zip(&out.records)
            .filter_map(|(c, r)| Some((c.name.clone(), (r.start_ms?, r.end_ms?))))
            .collect()
    }

    /// Skewed latencies where a stage barrier costs time: `slow` holds up stage 1.
    const SKEWED: &str = r#"{"calls":{
        "slow": {"url":"http://svc/slow"},
        "fast": {"url":"http://svc/fast"},
        "next": {"url":"http://svc/next/{fast.id}"},
        "last": {"url":"http://svc/last","after":["slow","next"]}
    }}"#;
    const SKEWED_LATENCY: [(&str, f64); 4] = [
        ("slow", 300.0),
        ("fast", 40.0),
        ("next", 100.0),
        ("last", 100.0),
    ];

    #[test]
    fn eager_follows_the_critical_path_and_beats_stages() {
        let p = plan(SKEWED);
        let eager = go(&network(&SKEWED_LATENCY), &p, "{}", Schedule::Eager);
        let t = times(&eager, &p);
        assert!(eager.error.is_none());
        assert_eq!(t["next"], (40.0, 140.0), "next starts the moment fast ends");
        assert_eq!(
            t["last"],
            (300.0, 400.0),
            "critical path slow -> last = 400"
        );

        let stages = go(&network(&SKEWED_LATENCY), &p, "{}", Schedule::Stages);
        let t = times(&stages, &p);
        assert_eq!(
            t["next"],
            (300.0, 400.0),
            "next waits for the whole first stage"
        );
        assert_eq!(t["last"], (400.0, 500.0));

        let seq = go(&network(&SKEWED_LATENCY), &p, "{}", Schedule::Sequential);
        let t = times(&seq, &p);
        assert_eq!(t["last"].1, 540.0, "sequential takes the sum");
        let mut spans: Vec<(f64, f64)> = t.values().copied().collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            spans.windows(2).all(|w| w[0].1 <= w[1].0),
            "no overlap: {spans:?}"
        );
    }

    #[test]
    fn independent_calls_start_together() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a"},"b":{"url":"http://svc/b"},"c":{"url":"http://svc/c"}}}"#,
        );
        let out = go(
            &network(&[("a", 100.0), ("b", 100.0), ("c", 100.0)]),
            &p,
            "{}",
            Schedule::Eager,
        );
        let t = times(&out, &p);
        assert!(t.values().all(|&(s, e)| s == 0.0 && e == 100.0), "{t:?}");
    }

    /// A small deterministic generator, so the random plans are the same on every run.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn random_graphs_never_start_early_and_eager_makespan_is_the_critical_path() {
        let mut rng = Lcg(42);
        for round in 0..40 {
            let n = 2 + rng.next(25) as usize;
            let mut calls = Vec::new();
            let mut latency = Vec::new();
            let mut deps: Vec<Vec<usize>> = Vec::new();
            for i in 0..n {
                let mut d: Vec<usize> = (0..i).filter(|_| rng.next(4) == 0).collect();
                d.dedup();
                let after: Vec<String> = d.iter().map(|j| format!("\"c{j}\"")).collect();
                calls.push(format!(
                    r#""c{i}":{{"url":"http://svc/c{i}","after":[{}]}}"#,
                    after.join(",")
                ));
                latency.push((format!("c{i}"), 1.0 + rng.next(200) as f64));
                deps.push(d);
            }
            let p = plan(&format!(r#"{{"calls":{{{}}}}}"#, calls.join(",")));
            let lat: Vec<(&str, f64)> = latency.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            // The critical path, computed independently of the scheduler.
            let mut finish = vec![0.0f64; n];
            for i in 0..n {
                let ready = deps[i].iter().map(|&j| finish[j]).fold(0.0, f64::max);
                finish[i] = ready + latency[i].1;
            }
            let critical = finish.iter().copied().fold(0.0, f64::max);
            for schedule in [Schedule::Eager, Schedule::Stages, Schedule::Sequential] {
                let out = go(&network(&lat), &p, "{}", schedule);
                assert!(out.error.is_none());
                let t = times(&out, &p);
                for i in 0..n {
                    let (start, _) = t[&format!("c{i}")];
                    for &j in &deps[i] {
                        assert!(
                            start >= t[&format!("c{j}")].1,
                            "round {round} {schedule:?}: c{i} started before c{j} ended"
                        );
                    }
                }
                let makespan = t.values().map(|x| x.1).fold(0.0, f64::max);
                if schedule == Schedule::Eager {
                    assert_eq!(makespan, critical, "round {round}");
                } else {
                    assert!(makespan >= critical);
                }
            }
        }
    }

    #[test]
    fn a_failure_skips_dependents_aborts_reads_and_lets_writes_finish() {
        let p = plan(
            r#"{"calls":{
            "bad":   {"url":"http://svc/bad"},
            "read":  {"url":"http://svc/read"},
            "write": {"url":"http://svc/write","method":"POST","body":{"a":1}},
            "child": {"url":"http://svc/child/{bad.id}"},
            "later": {"url":"http://svc/later","after":["read"]}
        }}"#,
        );
        let sim = Sim::new(|req| -> Answer {
            match service(req).as_str() {
                // 500 is not transient, so it is not retried.
                "bad" => (50.0, Err(TransportError::Status(500))),
                name => (
                    200.0,
                    Ok(Reply {
                        status: 201,
                        body: json(&format!(r#"{{"name":"{name}"}}"#)),
                        replayed: false,
                    }),
                ),
            }
        });
        let out = go(&sim, &p, "{}", Schedule::Eager);
        let e = out.error.expect("fails");
        assert_eq!(e.kind(), ErrorKind::HttpStatus);
        assert_eq!(e.call(), Some("bad"));
        assert_eq!(e.status(), Some(500));
        assert_eq!(
            e.message(),
            "call `bad` (GET http://svc/bad) failed: the service answered HTTP 500"
        );
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                CallState::Failed,
                CallState::Cancelled,
                CallState::Ok,
                CallState::Skipped,
                CallState::NotSent
            ]
        );
        assert_eq!(out.records[0].status, Some(500));
        assert_eq!(
            out.records[1].end_ms,
            Some(50.0),
            "the read was aborted at the failure"
        );
        assert_eq!(
            out.records[2].end_ms,
            Some(200.0),
            "the write ran to its end"
        );
        let seen = sim.seen();
        assert_eq!(seen.len(), 3);
        assert!(seen
            .iter()
            .any(|s| s.request.url.ends_with("/read") && s.aborted));
        assert!(seen
            .iter()
            .any(|s| s.request.url.ends_with("/write") && !s.aborted));
    }

    #[test]
    fn cancel_aborts_everything_in_flight_and_starts_nothing() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a"},"b":{"url":"http://svc/b","method":"POST"},"c":{"url":"http://svc/c","after":["a"]}}}"#,
        );
        let sim = network(&[("a", 100.0), ("b", 100.0)]);
        let input = json("{}");
        let out = sim.block_on(run(
            &p,
            &input,
            &sim,
            &sim,
            &NoHooks,
            Schedule::Eager,
            sim.sleep(30.0),
        ));
        assert_eq!(out.error.unwrap().kind(), ErrorKind::Aborted);
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                CallState::Cancelled,
                CallState::Unknown,
                CallState::Cancelled
            ],
            "the aborted write was sent, so whether it happened is unknown"
        );
        assert_eq!(out.records[0].end_ms, Some(30.0));
        assert_eq!(out.records[2].start_ms, None);
        assert!(sim
            .seen()
            .iter()
            .all(|s| s.start == 0.0 && s.aborted && s.end == Some(30.0)));
    }

    #[test]
    fn dropping_the_composition_aborts_its_requests() {
        let p = plan(r#"{"calls":{"a":{"url":"http://svc/a"}}}"#);
        let sim = network(&[("a", 100.0)]);
        let input = json("{}");
        let race = async {
            let composition = std::pin::pin!(run(
                &p,
                &input,
                &sim,
                &sim,
                &NoHooks,
                Schedule::Eager,
                futures::future::pending()
            ));
            let timer = std::pin::pin!(sim.sleep(10.0));
            futures::future::select(composition, timer).await;
        };
        sim.block_on(race);
        let seen = sim.seen();
        assert!(seen[0].aborted, "dropped at 10 ms");
        assert_eq!(seen[0].end, Some(10.0));
    }

    #[test]
    fn missing_input_fails_before_anything_is_sent() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a"},"b":{"url":"http://svc/b/{input.user.id}"}}}"#,
        );
        let sim = network(&[]);
        let out = go(&sim, &p, r#"{"user":{}}"#, Schedule::Eager);
        let e = out.error.unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.call(), Some("b"));
        assert_eq!(
            e.message(),
            "call `b` needs `{input.user.id}`, but the input has no `user.id`"
        );
        assert!(sim.seen().is_empty());
        assert!(out.records.iter().all(|r| r.state == CallState::NotSent));

        let out = go(&sim, &p, r#"{"user":{"id":{"x":1}}}"#, Schedule::Eager);
        let e = out.error.unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.message()
                .contains("is an object, which cannot go in text"),
            "{}",
            e.message()
        );
        assert!(sim.seen().is_empty());
    }

    #[test]
    fn a_missing_reply_path_is_a_bad_response_of_the_dependent_call() {
        let p = plan(
            r#"{"calls":{"user":{"url":"http://svc/user"},"posts":{"url":"http://svc/posts?a={user.profile.id}"}}}"#,
        );
        let sim = network(&[]);
        let out = go(&sim, &p, "{}", Schedule::Eager);
        let e = out.error.unwrap();
        assert_eq!(e.kind(), ErrorKind::BadResponse);
        assert_eq!(e.call(), Some("posts"));
        assert_eq!(
            e.message(),
            "call `posts` needs `{user.profile.id}`, but the reply of `user` has no `profile`"
        );
        assert_eq!(out.records[1].state, CallState::Failed);
        assert_eq!(out.records[1].attempts, 0);
        assert_eq!(sim.seen().len(), 1, "nothing undefined reached a URL");
    }

    #[test]
    fn requests_carry_encoded_urls_typed_bodies_and_headers() {
        let p = plan(
            r##"{"calls":{
            "user":  {"url":"http://svc/user/{input.name}"},
            "audit": {"method":"post","url":"http://svc/audit?who={input.name}",
                      "headers":{"X-Who":"{user.name}"},
                      "body":{"id":"{user.id}","n":"{user.items.length}","first":"{user.items.0}","items":"{user.items}","text":"#{user.id}/{user.items.length}"}}
        }}"##,
        );
        let sim = network(&[]);
        let out = go(&sim, &p, r#"{"name":"a b/c?d"}"#, Schedule::Eager);
        assert!(out.error.is_none(), "{:?}", out.error);
        let seen = sim.seen();
        assert_eq!(seen[0].request.url, "http://svc/user/a%20b%2Fc%3Fd");
        let audit = &seen[1].request;
        assert_eq!(audit.method, Method::Post);
        assert_eq!(audit.url, "http://svc/audit?who=a%20b%2Fc%3Fd");
        assert_eq!(
            audit.headers,
            vec![
                ("X-Who".to_string(), "user".to_string()),
                (IDEMPOTENCY_KEY.to_string(), "key-1".to_string())
            ],
            "every POST carries an Idempotency-Key"
        );
        assert_eq!(
            audit.body,
            Some(json(
                r##"{"id":7,"n":3,"first":1,"items":[1,2,3],"text":"#7/3"}"##
            ))
        );
        assert_eq!(
            out.replies[1].as_ref().unwrap().get("name"),
            Some(&Json::String("audit".into()))
        );
    }

    #[test]
    fn a_fallback_stands_in_for_a_failed_reply_and_its_dependents_run() {
        let p = plan(
            r#"{"calls":{
                "rec":{"url":"http://svc/bad","fallback":{"items":[],"source":"fallback"}},
                "page":{"url":"http://svc/page/{rec.items.length}","body":null,"method":"POST","after":[]}
            }}"#,
        );
        let sim = Sim::new(|req| -> Answer {
            match service(req).as_str() {
                "bad" => (5.0, Err(TransportError::Status(404))),
                _ => (
                    10.0,
                    Ok(Reply {
                        status: 200,
                        body: json("{}"),
                        replayed: false,
                    }),
                ),
            }
        });
        let out = go(&sim, &p, "{}", Schedule::Eager);
        assert!(out.error.is_none(), "{:?}", out.error);
        let rec = &out.records[0];
        assert_eq!(
            (rec.state, rec.fell_back, rec.status),
            (CallState::Failed, true, Some(404))
        );
        assert_eq!(rec.error.as_ref().unwrap().kind(), ErrorKind::HttpStatus);
        assert_eq!(
            out.replies[0],
            Some(json(r#"{"items":[],"source":"fallback"}"#))
        );
        assert_eq!(out.records[1].state, CallState::Ok);
        assert_eq!(sim.seen()[1].request.url, "http://svc/page/0");
    }

    #[test]
    fn an_optional_failure_skips_only_its_dependents() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a"},"opt":{"url":"http://svc/bad","optional":true},"c":{"url":"http://svc/c","after":["opt"]},"d":{"url":"http://svc/d","after":["a"]}}}"#,
        );
        let sim = Sim::new(|req| -> Answer {
            match service(req).as_str() {
                "bad" => (
                    5.0,
                    Err(TransportError::Network("connection refused".into())),
                ),
                _ => (
                    10.0,
                    Ok(Reply {
                        status: 200,
                        body: json("{}"),
                        replayed: false,
                    }),
                ),
            }
        });
        let out = go(&sim, &p, "{}", Schedule::Stages);
        assert!(out.error.is_none());
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                CallState::Ok,
                CallState::Failed,
                CallState::Skipped,
                CallState::Ok
            ]
        );
    }

    #[test]
    fn hooks_build_bodies_and_judge_replies() {
        struct Domain;
        impl Hooks<Json> for Domain {
            fn body(&self, call: &str, scope: &Scope<'_, Json>) -> Option<Result<Json, Error>> {
                (call == "pay").then(|| {
                    let n = scope
                        .get(call, "quote", &["items", "length"])?
                        .as_f64()
                        .unwrap_or(0.0);
                    Ok(Json::Object(vec![(
                        "amount".into(),
                        Json::Number(n * 100.0),
                    )]))
                })
            }
            fn check(&self, call: &str, reply: &Json) -> Result<(), Error> {
                match reply.get("status") {
                    Some(Json::String(s)) if s == "declined" => Err(Error::new(
                        ErrorKind::PaymentDeclined,
                        format!("call `{call}`: payment declined"),
                    )),
                    _ => Ok(()),
                }
            }
        }
        let p = plan(
            r#"{"calls":{"quote":{"url":"http://svc/quote"},"pay":{"url":"http://svc/pay","method":"POST","after":["quote"]},"order":{"url":"http://svc/order","method":"POST","after":["pay"]}}}"#,
        );
        let sim = Sim::new(|req| -> Answer {
            match service(req).as_str() {
                "pay" => (
                    10.0,
                    Ok(Reply {
                        status: 201,
                        body: json(r#"{"status":"declined"}"#),
                        replayed: false,
                    }),
                ),
                _ => (
                    10.0,
                    Ok(Reply {
                        status: 200,
                        body: json(r#"{"items":[1,2]}"#),
                        replayed: false,
                    }),
                ),
            }
        });
        let input = json("{}");
        let out = sim.block_on(run(
            &p,
            &input,
            &sim,
            &sim,
            &Domain,
            Schedule::Eager,
            futures::future::pending(),
        ));
        let e = out.error.unwrap();
        assert_eq!(
            (e.kind(), e.call()),
            (ErrorKind::PaymentDeclined, Some("pay"))
        );
        assert_eq!(sim.seen()[1].request.body, Some(json(r#"{"amount":200}"#)));
        assert_eq!(out.records[1].status, Some(201));
        assert_eq!(out.records[2].state, CallState::Skipped);
        assert_eq!(sim.seen().len(), 2, "the order was never sent");
    }

    fn limited(timeout_ms: f64, deadline_ms: Option<f64>) -> Settings {
        Settings {
            timeout_ms,
            deadline_ms,
            ..Settings::from(Schedule::Eager)
        }
    }

    #[test]
    fn a_call_over_its_time_limit_is_aborted_with_timeout() {
        let p = plan(
            r#"{"calls":{"slow":{"url":"http://svc/slow"},"quick":{"url":"http://svc/quick","timeoutMs":50},
            "write":{"url":"http://svc/write","method":"POST","timeoutMs":80}}}"#,
        );
        let sim = network(&[("slow", 150.0), ("quick", 60.0), ("write", 100.0)]);
        let out = go(&sim, &p, "{}", limited(200.0, None));
        let e = out.error.unwrap();
        assert_eq!((e.kind(), e.call()), (ErrorKind::Timeout, Some("quick")));
        assert_eq!(
            e.message(),
            "call `quick` (GET http://svc/quick) timed out after 50 ms; the request was aborted"
        );
        assert_eq!(out.records[1].state, CallState::Failed);
        assert_eq!(out.records[1].end_ms, Some(50.0));
        // The write still in flight is drained; it then hits its own limit, so its
        // outcome on the server is unknown.
        assert_eq!(out.records[2].state, CallState::Unknown);
        assert_eq!(out.records[2].end_ms, Some(80.0));
        assert_eq!(
            out.records[0].state,
            CallState::Cancelled,
            "the read was aborted at the failure"
        );
        let seen = sim.seen();
        assert!(seen
            .iter()
            .filter(|s| !s.request.url.ends_with("/slow"))
            .all(|s| s.aborted));
    }

    #[test]
    fn the_deadline_bounds_every_call_and_the_whole_composition() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a"},"b":{"url":"http://svc/b","after":["a"]},"w":{"url":"http://svc/w","method":"POST","after":["a"]},"c":{"url":"http://svc/c","after":["b"]}}}"#,
        );
        let sim = network(&[("a", 60.0), ("b", 100.0), ("w", 100.0), ("c", 10.0)]);
        let out = go(&sim, &p, "{}", limited(10_000.0, Some(120.0)));
        let e = out.error.unwrap();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        // In flight at the deadline: the read is cancelled, the write's outcome unknown;
        // `c` never started.
        assert_eq!(
            states,
            [
                CallState::Ok,
                CallState::Cancelled,
                CallState::Unknown,
                CallState::NotSent
            ]
        );
        assert_eq!(
            out.records[1].end_ms,
            Some(120.0),
            "b got only the 60 ms the deadline left"
        );
        assert_eq!(
            e.message(),
            "the composition ran past its deadline of 120 ms"
        );
        assert_eq!(e.call(), None);
        assert!(sim
            .seen()
            .iter()
            .filter(|s| s.request.url.ends_with("/b") || s.request.url.ends_with("/w"))
            .all(|s| s.aborted));
    }

    #[test]
    fn the_deadline_stops_the_composition_even_with_nothing_timed_out() {
        // Each call is within its own limit, but the chain is longer than the deadline.
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a","timeoutMs":1000},"b":{"url":"http://svc/b","after":["a"],"timeoutMs":1000}}}"#,
        );
        let sim = network(&[("a", 90.0), ("b", 90.0)]);
        let out = go(&sim, &p, "{}", limited(10_000.0, Some(100.0)));
        let e = out.error.unwrap();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(out.records[1].end_ms, Some(100.0));
        assert_ne!(e.kind(), ErrorKind::Aborted, "a timeout is not an abort");
    }

    /// A required chain and an optional write that outlasts it: the order flow's shape.
    const PLACED: &str = r#"{"calls":{
        "order":  {"url":"http://svc/order","method":"POST"},
        "notify": {"url":"http://svc/notify","method":"POST","optional":true,"body":{"id":"{order.id}"}},
        "audit":  {"url":"http://svc/audit","optional":true,"after":["notify"]},
        "peek":   {"url":"http://svc/peek","optional":true}
    }}"#;

    #[test]
    fn the_deadline_after_every_required_call_succeeded_resolves() {
        let p = plan(PLACED);
        let sim = network(&[("order", 50.0), ("notify", 500.0), ("peek", 500.0)]);
        let out = go(&sim, &p, "{}", limited(10_000.0, Some(100.0)));
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.resubmit(), None);
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        // The write in flight may have been acted on; the read is simply stopped, and
        // the call that never started says so.
        assert_eq!(
            states,
            [
                CallState::Ok,
                CallState::Unknown,
                CallState::Cancelled,
                CallState::Cancelled
            ]
        );
        let e = out.records[1].error.as_ref().unwrap();
        assert_eq!((e.kind(), e.call()), (ErrorKind::Timeout, Some("notify")));
        assert_eq!(
            e.message(),
            "call `notify` was stopped by the composition's deadline of 100 ms, which came after every required call had succeeded; the composition resolved without it"
        );
        assert_eq!(out.records[1].end_ms, Some(100.0));
        assert!(sim
            .seen()
            .iter()
            .filter(|s| !s.request.url.ends_with("/order"))
            .all(|s| s.aborted));
    }

    #[test]
    fn an_abort_after_every_required_call_succeeded_resolves() {
        let p = plan(PLACED);
        let sim = network(&[("order", 50.0), ("notify", 500.0), ("peek", 500.0)]);
        let cancel = sim.sleep(80.0);
        let out = sim.block_on(run(
            &p,
            &json("{}"),
            &sim,
            &sim,
            &NoHooks,
            Schedule::Eager,
            cancel,
        ));
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.records[1].state, CallState::Unknown);
        let e = out.records[2].error.as_ref().unwrap();
        assert_eq!((e.kind(), e.call()), (ErrorKind::Aborted, Some("audit")));
        assert!(out.compensations.is_empty());
    }

    #[test]
    fn the_deadline_before_a_required_call_succeeded_still_fails() {
        let p = plan(PLACED);
        let sim = network(&[("order", 150.0), ("notify", 10.0)]);
        let out = go(&sim, &p, "{}", limited(10_000.0, Some(100.0)));
        let e = out.error.unwrap();
        assert_eq!((e.kind(), e.call()), (ErrorKind::Timeout, None));
        assert_eq!(out.records[0].state, CallState::Unknown);
    }

    #[test]
    fn a_failure_keeps_its_code_when_the_deadline_comes_while_writes_drain() {
        let p = plan(
            r#"{"calls":{"r":{"url":"http://svc/r"},"w":{"url":"http://svc/w","method":"POST"}}}"#,
        );
        let sim = Sim::new(|req| -> Answer {
            match service(req).as_str() {
                "r" => (10.0, Err(TransportError::Status(404))),
                _ => (500.0, Ok(Reply::new(201, json("{}")))),
            }
        });
        let out = go(&sim, &p, "{}", limited(10_000.0, Some(100.0)));
        let e = out.error.unwrap();
        assert_eq!(
            (e.kind(), e.call(), e.status()),
            (ErrorKind::HttpStatus, Some("r"), Some(404))
        );
        assert_eq!(out.records[1].state, CallState::Unknown);
    }

    /// A network where each service fails `failures` times with `error`, then succeeds.
    fn flaky(failures: usize, error: TransportError) -> Sim {
        let count = std::rc::Rc::new(std::cell::RefCell::new(HashMap::<String, usize>::new()));
        Sim::new(move |req| -> Answer {
            let name = service(req);
            let mut seen = count.borrow_mut();
            let n = seen.entry(name).or_default();
            *n += 1;
            if *n <= failures {
                (10.0, Err(error.clone()))
            } else {
                (
                    10.0,
                    Ok(Reply {
                        status: 200,
                        body: json("{}"),
                        replayed: false,
                    }),
                )
            }
        })
    }

    #[test]
    fn transient_failures_are_retried_with_backoff_and_the_same_key() {
        let p = plan(
            r#"{"calls":{"r":{"url":"http://svc/r"},"w":{"url":"http://svc/w","method":"POST"}}}"#,
        );
        // Two calls: a budget of 0 + 3 retries; `r` fails twice, `w` once.
        let sim = Sim::new({
            let count = std::rc::Rc::new(std::cell::RefCell::new(HashMap::<String, usize>::new()));
            move |req| -> Answer {
                let name = service(req);
                let mut seen = count.borrow_mut();
                let n = seen.entry(name.clone()).or_default();
                *n += 1;
                let failures = if name == "r" { 2 } else { 1 };
                if *n <= failures {
                    (10.0, Err(TransportError::Status(503)))
                } else {
                    (
                        10.0,
                        Ok(Reply {
                            status: 200,
                            body: json("{}"),
                            replayed: false,
                        }),
                    )
                }
            }
        });
        let out = go(&sim, &p, "{}", Schedule::Eager);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.records[0].attempts, 3);
        assert_eq!(out.records[1].attempts, 2);
        // Attempts at 0, 10+50 (backoff 0.5 x 100), 70+100 (0.5 x 200).
        let starts: Vec<f64> = sim
            .seen()
            .iter()
            .filter(|s| s.request.url.ends_with("/r"))
            .map(|s| s.start)
            .collect();
        assert_eq!(starts, [0.0, 60.0, 170.0]);
        let keys: Vec<String> = sim
            .seen()
            .iter()
            .filter(|s| s.request.url.ends_with("/w"))
            .map(|s| {
                s.request
                    .headers
                    .iter()
                    .find(|(k, _)| k == IDEMPOTENCY_KEY)
                    .unwrap()
                    .1
                    .clone()
            })
            .collect();
        assert_eq!(keys.len(), 2);
        assert!(
            keys.iter().all(|k| *k == keys[0]),
            "one key across retries: {keys:?}"
        );
    }

    #[test]
    fn attempts_never_exceed_the_cap_and_other_failures_are_not_retried() {
        let p = plan(r#"{"calls":{"r":{"url":"http://svc/r"}}}"#);
        let sim = flaky(10, TransportError::Network("reset".into()));
        let out = go(&sim, &p, "{}", Schedule::Eager);
        assert_eq!(out.error.unwrap().kind(), ErrorKind::Network);
        assert_eq!(out.records[0].attempts, 3);
        assert_eq!(sim.seen().len(), 3);

        let sim = flaky(10, TransportError::Status(404));
        let out = go(&sim, &p, "{}", Schedule::Eager);
        assert_eq!(out.records[0].attempts, 1, "a 404 is final");

        // A write without a key is never repeated: PUT gets no automatic key.
        let p = plan(r#"{"calls":{"w":{"url":"http://svc/w","method":"PUT"}}}"#);
        let sim = flaky(10, TransportError::Network("reset".into()));
        let out = go(&sim, &p, "{}", Schedule::Eager);
        assert_eq!(out.records[0].attempts, 1);
        assert_eq!(
            out.records[0].state,
            CallState::Unknown,
            "sent, outcome unknown"
        );
    }

    #[test]
    fn retry_after_that_outlasts_the_deadline_fails_at_once() {
        let p = plan(r#"{"calls":{"r":{"url":"http://svc/r"}}}"#);
        let sim = flaky(
            1,
            TransportError::Throttled {
                status: 429,
                retry_after_ms: Some(5_000.0),
            },
        );
        let out = go(&sim, &p, "{}", limited(10_000.0, Some(1_000.0)));
        let e = out.error.unwrap();
        assert_eq!((e.kind(), e.status()), (ErrorKind::HttpStatus, Some(429)));
        assert_eq!(
            out.records[0].end_ms,
            Some(10.0),
            "no waiting past the deadline"
        );
        let sim = flaky(
            1,
            TransportError::Throttled {
                status: 429,
                retry_after_ms: Some(300.0),
            },
        );
        let out = go(&sim, &p, "{}", limited(10_000.0, Some(1_000.0)));
        assert!(out.error.is_none());
        assert_eq!(sim.seen()[1].start, 310.0, "Retry-After honoured");
    }

    #[test]
    fn the_retry_budget_is_shared_by_the_composition() {
        // 5 calls: budget 0 + 3 = 3 retries in all, though each call may try 3 times.
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a"},"b":{"url":"http://svc/b"},"c":{"url":"http://svc/c"},"d":{"url":"http://svc/d"},"e":{"url":"http://svc/e"}}}"#,
        );
        let sim = flaky(1, TransportError::Status(503));
        let out = go(&sim, &p, "{}", Schedule::Eager);
        // a, b and c spend the three retries; d finds the budget empty and fails the
        // composition, which stops the waiting reads before they are sent again.
        let e = out.error.unwrap();
        assert_eq!((e.kind(), e.call()), (ErrorKind::HttpStatus, Some("d")));
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(
            states[..4],
            [
                CallState::Cancelled,
                CallState::Cancelled,
                CallState::Cancelled,
                CallState::Failed
            ]
        );
        assert_eq!(sim.seen().len(), 5, "no retry was sent");
    }

    #[test]
    fn network_and_body_errors_map_to_codes() {
        let p = plan(r#"{"calls":{"a":{"url":"http://svc/a/{input.secret}"}}}"#);
        let sim = Sim::new(|_| -> Answer {
            (1.0, Err(TransportError::Network("Failed to fetch".into())))
        });
        let e = go(&sim, &p, r#"{"secret":"hunter2"}"#, Schedule::Eager)
            .error
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Network);
        assert_eq!(
            e.message(),
            "call `a` (GET http://svc/a/{input.secret}) failed: network error (Failed to fetch)"
        );
        let sim = Sim::new(|_| -> Answer {
            (
                1.0,
                Err(TransportError::Body {
                    status: 200,
                    content_type: None,
                    excerpt: "oops".into(),
                    reason: "unexpected token".into(),
                }),
            )
        });
        let e = go(&sim, &p, r#"{"secret":"x"}"#, Schedule::Eager)
            .error
            .unwrap();
        assert_eq!((e.kind(), e.status()), (ErrorKind::BadResponse, Some(200)));
    }
}
