//! Progress events: what a composition tells an observer while it runs, so that a page
//! can draw a progress bar or a live waterfall without waiting for the result. The
//! contract the events keep is documented on [`OnEvent`].
//!
//! A terminal event also carries the call's final record and, when the composition knows
//! one, its value (its reply, or its `fallback`): so an observer can also show each result
//! as it arrives (`composeStream()` in JavaScript) rather than wait for all of them.
//!
//! The scheduler reports through [`Progress`], which costs one branch per hook when
//! nobody listens: no allocation, no bookkeeping, no clock reading.

use crate::engine::record::{CallRecord, CallState};
use crate::engine::record::{Compensation, CompensationState};
use crate::error::ErrorKind;
use crate::plan::Plan;
use std::any::Any;
use std::fmt;
use std::rc::Rc;

/// What happened, with what the event carries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventKind {
    /// A request of the call was sent.
    Start {
        /// Which attempt it is, 1 for the first; 0 when a composer's cache served the
        /// call and nothing was sent.
        attempt: u32,
        /// How old the cached reply was, in milliseconds, when the cache served the call
        /// (attempt 0), so that a live view can say so before the call's record exists.
        cached_age_ms: Option<f64>,
    },
    /// An attempt failed and another is scheduled after `wait_ms`.
    Retry {
        /// The attempt that failed.
        attempt: u32,
        /// Its HTTP status, when the service answered.
        status: Option<u16>,
        /// Why it failed: `HttpStatus`, `Network` or `Timeout`.
        reason: ErrorKind,
        /// The backoff (or `Retry-After`) before the next attempt, in milliseconds.
        wait_ms: f64,
    },
    /// The call settled by itself: `ok`, `failed` or `unknown`.
    End {
        /// Requests sent for it (0 when its request could not be built).
        attempts: u32,
        /// The status of its last HTTP answer, if any.
        status: Option<u16>,
        /// Its record's final state.
        state: CallState,
    },
    /// It was never sent: a call it needs failed (state `skipped`), or it was not needed
    /// (`not-needed`: its condition was false, or it reads a call that was not needed).
    Skip {
        /// `skipped` or `not-needed`.
        state: CallState,
    },
    /// The abort, the deadline or another call's failure stopped it: in flight
    /// (`cancelled` for a read, `unknown` for a write), waiting to retry (its last
    /// attempt's outcome stands), or before it started (`cancelled`, `not-sent`).
    Cancel {
        /// Requests sent for it.
        attempts: u32,
        /// The status of its last HTTP answer, if any.
        status: Option<u16>,
        /// Its record's final state.
        state: CallState,
    },
    /// The call's request changed the state of its origin's circuit breaker in the
    /// composer (`breaker.rs`); [`Event::origin`] names the origin.
    Breaker {
        /// The circuit's new state.
        state: crate::engine::breaker::CircuitState,
        /// When an open circuit lets a probe through, on the engine's clock (0 when closed).
        retry_at: f64,
    },
    /// A compensation ran (or was found not to be runnable): its outcome.
    Compensate {
        /// Requests sent for it.
        attempts: u32,
        /// The status of its last answer, if any.
        status: Option<u16>,
        /// How it ended.
        state: CompensationState,
    },
}

impl EventKind {
    /// The event's `type` as JavaScript sees it.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Start { .. } => "start",
            EventKind::Retry { .. } => "retry",
            EventKind::End { .. } => "end",
            EventKind::Skip { .. } => "skip",
            EventKind::Cancel { .. } => "cancel",
            EventKind::Breaker { .. } => "breaker",
            EventKind::Compensate { .. } => "compensate",
        }
    }

    /// Whether this is a call's one terminal event.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            EventKind::End { .. } | EventKind::Skip { .. } | EventKind::Cancel { .. }
        )
    }
}

/// One progress event.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// The call's index in the plan ([`Plan::calls`]); for a compensation, the index of
    /// the call whose write it undoes.
    pub call: usize,
    /// That call's name.
    pub name: &'a str,
    /// For an item of a fan-out call, its position in the call's list; the call's own
    /// terminal event, when every item has settled, has none.
    pub item: Option<usize>,
    /// Milliseconds since the composition started, on the records' clock.
    pub t: f64,
    /// What happened.
    pub kind: EventKind,
    /// A terminal event's record, final: as the outcome's `records[call]` will hold it
    /// (an item's, as the call's `items` will; a fan-out call's own is summed up over its
    /// items, and given them, only in the outcome). `None` for the other events.
    pub record: Option<&'a CallRecord>,
    /// A terminal event's value, when the composition knows one: see [`Event::value`].
    pub(crate) value: Option<&'a dyn Any>,
    /// A [`Breaker`](EventKind::Breaker) event's origin; `None` for the others.
    pub origin: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// The call's value, on the terminal event of a call whose value the outcome holds
    /// (`replies[call]`): its reply when it succeeded (a fan-out call's: its items'
    /// replies in list order), its `fallback` when that stood in (after its failure, or
    /// when it was not needed: [`CallRecord::fell_back`]); on an item's, the item's reply.
    /// `None` on every other event, and for a type other than the transport's reply type
    /// `V`.
    ///
    /// Typed here rather than in the event's type, because [`crate::Settings`], which
    /// holds the callback, is not generic over the reply type.
    pub fn value<V: 'static>(&self) -> Option<&'a V> {
        self.value?.downcast_ref()
    }
}

/// The callback that receives a composition's events (`options.onEvent` in JavaScript),
/// set in [`crate::Settings::on_event`].
///
/// It runs synchronously inside the scheduler, so it should be quick and must not panic;
/// what it does with an event cannot change the composition.
///
/// # The contract
///
/// - Once a composition runs (its plan, options and input were valid and its signal was
///   not already aborted), **every call of the plan gets exactly one terminal event**:
///   [`End`](EventKind::End), [`Skip`](EventKind::Skip) or [`Cancel`](EventKind::Cancel),
///   before the composition returns, and its state is the call's final record state. A
///   composition refused before anything is sent emits nothing at all. So
///   `terminal events / calls` is a progress fraction that reaches 1.
/// - For one call: [`Start`](EventKind::Start) with attempt 1, then for each retry a
///   [`Retry`](EventKind::Retry) (the attempt that failed and the wait) followed by the
///   next `Start`, then the terminal event. A call whose request could not be built
///   (a reply lacks a path its URL needs) ends without a `Start`; a skipped call, or one
///   cancelled before it started, has no `Start` either. Nothing about a call follows its
///   terminal event.
/// - A call's terminal event comes before the `Start` of every call that waited for it,
///   and `t` never goes back.
/// - A fan-out call's items each get their own events, with [`item`](Event::item), under
///   the same rules; the call itself gets only its terminal event, after its items'.
/// - After every call's terminal event, one [`Compensate`](EventKind::Compensate) per
///   completed write the failure left to undo, in the order they ran, each when it settled.
/// - `t` is milliseconds since the composition started, on the clock of the records
///   ([`crate::CallRecord::start_ms`]): a first `Start`'s `t` is its record's `start_ms`,
///   a terminal event's `t` its `end_ms` when it has one (a skipped call gets the end of
///   the failure that skipped it).
///
/// - A terminal event carries the call's final record ([`Event::record`]), and its value
///   ([`Event::value`]) exactly when the outcome holds one: once per call that succeeded,
///   and once per call whose `fallback` stood in, the moment that value is known; never
///   for a call that failed without a fallback, was skipped, cancelled, not sent or not
///   needed without a fallback.
///
/// Which terminal event: `End` when the call settled by itself (its reply, its own
/// failure or time limit, its retries used up), `Skip` when a call it needs failed, and
/// `Cancel` when the engine stopped it: the caller's abort, the deadline, or another
/// call's failure, whether it was in flight, waiting to retry, or not yet started.
///
/// # Examples
///
/// ```
/// use parallel_composer::{EventKind, OnEvent, Schedule, Settings};
/// use std::{cell::Cell, rc::Rc};
///
/// let settled = Rc::new(Cell::new(0));
/// let count = settled.clone();
/// let settings = Settings {
///     on_event: Some(OnEvent::new(move |event| {
///         if event.kind.is_terminal() {
///             count.set(count.get() + 1); // a progress bar: count / calls
///         }
///     })),
///     ..Settings::from(Schedule::Eager)
/// };
/// # let _ = settings;
/// ```
#[derive(Clone)]
pub struct OnEvent(Rc<dyn Fn(&Event<'_>)>);

impl OnEvent {
    /// Wraps a callback.
    pub fn new(callback: impl Fn(&Event<'_>) + 'static) -> Self {
        OnEvent(Rc::new(callback))
    }

    /// Hands `event` to the callback.
    pub(crate) fn send(&self, event: &Event<'_>) {
        (self.0)(event);
    }
}

impl fmt::Debug for OnEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnEvent(..)")
    }
}

/// Two settings are equal when they hold the very same callback.
impl PartialEq for OnEvent {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// One run's reporting: the scheduler's hooks land here. Terminal events are queued when
/// a call settles and sent at the scheduler's next quiet point ([`Progress::flush`]),
/// when the record is final (the scheduler may still adjust a record it just settled,
/// turning `failed` into `unknown`, say).
pub(crate) struct Progress {
    on_event: Option<OnEvent>,
    /// Calls settled since the last flush.
    settled: Vec<usize>,
    /// Per call: its terminal event was sent.
    told: Vec<bool>,
    /// Per call: the engine stopped it (abort, deadline, another call's failure).
    stopped: Vec<bool>,
    /// Per item of a fan-out call, past the plan's calls: its call and its position. Kept
    /// whether or not anybody listens: the composition asks it too ([`Progress::item_of`]),
    /// one table where two copies of it cost .wasm.
    items: Vec<(usize, usize)>,
}

impl Progress {
    /// Reporting to `on_event`, for a plan of `n` calls; nothing at all without one.
    pub fn new(on_event: Option<&OnEvent>, n: usize) -> Self {
        let on = on_event.is_some();
        Progress {
            on_event: on_event.cloned(),
            settled: Vec::new(),
            told: if on { vec![false; n] } else { Vec::new() },
            stopped: if on { vec![false; n] } else { Vec::new() },
            items: Vec::new(),
        }
    }

    /// Room for the `m` items of fan-out call `call`.
    pub fn grow(&mut self, call: usize, m: usize) {
        self.items.extend((0..m).map(|k| (call, k)));
        if self.on_event.is_some() {
            let n = self.told.len() + m;
            self.told.resize(n, false);
            self.stopped.resize(n, false);
        }
    }

    /// For slot `slot` of a plan of `n` calls that is an item of a fan-out call, its call
    /// and its element's position in the call's list.
    pub fn item_of(&self, n: usize, slot: usize) -> Option<(usize, usize)> {
        Some(self.items[slot.checked_sub(n)?])
    }

    fn emit(&self, plan: &Plan, slot: usize, t: f64, kind: EventKind) {
        self.send(plan, slot, t, kind, (None, None, None));
    }

    /// Sends an event about `slot` (a call, or an item of a fan-out call), a terminal one
    /// with its record and value.
    fn send(
        &self,
        plan: &Plan,
        slot: usize,
        t: f64,
        kind: EventKind,
        (record, value, origin): (Option<&CallRecord>, Option<&dyn Any>, Option<&str>),
    ) {
        if let Some(on_event) = &self.on_event {
            let (call, item) = match self.item_of(plan.calls().len(), slot) {
                Some((call, k)) => (call, Some(k)),
                None => (slot, None),
            };
            (on_event.0)(&Event {
                call,
                name: &plan.calls()[call].name,
                item,
                t,
                kind,
                record,
                value,
                origin,
            });
        }
    }

    /// Attempt `attempt` of call `i` was sent at `t`.
    pub fn start(&self, plan: &Plan, i: usize, attempt: u32, t: f64) {
        if self.on_event.is_some() {
            let cached_age_ms = None;
            self.emit(
                plan,
                i,
                t,
                EventKind::Start {
                    attempt,
                    cached_age_ms,
                },
            );
        }
    }

    /// The composer's cache served call `i` at `t` with a reply `age_ms` old: its start,
    /// as attempt 0.
    pub fn cached(&self, plan: &Plan, i: usize, t: f64, age_ms: f64) {
        if self.on_event.is_some() {
            let cached_age_ms = Some(age_ms);
            self.emit(
                plan,
                i,
                t,
                EventKind::Start {
                    attempt: 0,
                    cached_age_ms,
                },
            );
        }
    }

    /// A request of `slot` changed `origin`'s circuit at `t`, as `kind` says.
    pub fn breaker(&self, plan: &Plan, slot: usize, t: f64, origin: &str, kind: EventKind) {
        self.send(plan, slot, t, kind, (None, None, Some(origin)));
    }

    /// Attempt `attempt` of call `i` failed at `t` (`status`, `reason`); the next one
    /// starts after `wait_ms`.
    pub fn retry(
        &self,
        plan: &Plan,
        i: usize,
        t: f64,
        (attempt, status, reason, wait_ms): (u32, Option<u16>, ErrorKind, f64),
    ) {
        if self.on_event.is_some() {
            let kind = EventKind::Retry {
                attempt,
                status,
                reason,
                wait_ms,
            };
            self.emit(plan, i, t, kind);
        }
    }

    /// Call `i` reached its final state (told at the next flush).
    pub fn settled(&mut self, i: usize) {
        if self.on_event.is_some() {
            self.settled.push(i);
        }
    }

    /// The engine stopped call `i`: its terminal event is a `Cancel`.
    pub fn stopped(&mut self, i: usize) {
        if let Some(stopped) = self.stopped.get_mut(i) {
            *stopped = true;
        }
    }

    /// Sends the terminal events of the calls settled since the last flush, in the order
    /// they settled, with their `replies`. A skipped call has no `end_ms`: it was skipped
    /// when the call before it in the queue (the failure that caused it) ended, so it gets
    /// that time; `now` (read only when there is something to send) when it comes first.
    pub fn flush<V: 'static>(
        &mut self,
        plan: &Plan,
        records: &[CallRecord],
        replies: &[Option<V>],
        now: &dyn Fn() -> f64,
    ) {
        if self.settled.is_empty() {
            return;
        }
        let mut at = None;
        for i in std::mem::take(&mut self.settled) {
            let t = records[i].end_ms.or(at).unwrap_or_else(now);
            at = Some(t);
            self.tell(plan, i, &records[i], t, value(replies, i));
        }
    }

    /// The composition is over: the calls settled last, then every call not yet told
    /// (cancelled by an abort, or not sent because it failed elsewhere first) as a
    /// `Cancel`.
    pub fn finish<V: 'static>(
        &mut self,
        plan: &Plan,
        records: &[CallRecord],
        replies: &[Option<V>],
        now: &dyn Fn() -> f64,
    ) {
        if self.on_event.is_none() {
            return;
        }
        let now = now();
        self.flush(plan, records, replies, &|| now);
        for (i, record) in records.iter().enumerate() {
            if !self.told[i] {
                self.stopped[i] = true;
                self.tell(plan, i, record, now, value(replies, i));
            }
        }
    }

    /// Sends call `i`'s terminal event, at `t` unless its record has an end, with its
    /// `value` if it has one.
    fn tell(
        &mut self,
        plan: &Plan,
        i: usize,
        record: &CallRecord,
        t: f64,
        value: Option<&dyn Any>,
    ) {
        if std::mem::replace(&mut self.told[i], true) {
            return;
        }
        let (attempts, status, state) = (record.attempts, record.status, record.state);
        let kind = match state {
            CallState::Skipped | CallState::NotNeeded => EventKind::Skip { state },
            CallState::Ok => EventKind::End {
                attempts,
                status,
                state,
            },
            CallState::Cancelled | CallState::NotSent => EventKind::Cancel {
                attempts,
                status,
                state,
            },
            CallState::Failed | CallState::Unknown if self.stopped[i] => EventKind::Cancel {
                attempts,
                status,
                state,
            },
            CallState::Failed | CallState::Unknown => EventKind::End {
                attempts,
                status,
                state,
            },
        };
        let t = record.end_ms.unwrap_or(t);
        self.send(plan, i, t, kind, (Some(record), value, None));
    }
}

/// Call `i`'s value in `replies`, as an event carries it.
fn value<V: 'static>(replies: &[Option<V>], i: usize) -> Option<&dyn Any> {
    let value = replies.get(i)?.as_ref()?;
    Some(value)
}

/// Reports one compensation's outcome, if anybody listens; `now` gives the time of one
/// that never ran.
pub(crate) fn compensated(
    on_event: Option<&OnEvent>,
    plan: &Plan,
    done: &Compensation,
    now: impl Fn() -> f64,
) {
    if let Some(on_event) = on_event {
        (on_event.0)(&Event {
            call: done.call,
            name: &plan.calls()[done.call].name,
            item: done.item,
            t: done.end_ms.unwrap_or_else(now),
            kind: EventKind::Compensate {
                attempts: done.attempts,
                status: done.status,
                state: done.state,
            },
            record: None,
            value: None,
            origin: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hooks::NoHooks;
    use crate::engine::outcome::Outcome;
    use crate::engine::run::run;
    use crate::engine::settings::{Schedule, Settings};
    use crate::engine::transport::{Reply, Request, TransportError};
    use crate::plan::json::Json;
    use crate::tests::sim::{json, plan, Answer, Sim};
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// One event as a line: `<t> <call> <what>`.
    fn line(e: &Event<'_>) -> String {
        let status = |s: Option<u16>| s.map_or("-".to_owned(), |s| s.to_string());
        let what = match e.kind {
            EventKind::Start { attempt, .. } => format!("start #{attempt}"),
            EventKind::Retry {
                attempt,
                status: s,
                reason,
                wait_ms,
            } => format!(
                "retry #{attempt} {} {} wait {wait_ms}",
                status(s),
                reason.code()
            ),
            EventKind::End {
                attempts,
                status: s,
                state,
            } => format!("end {} {} #{attempts}", state.as_str(), status(s)),
            EventKind::Skip {
                state: CallState::Skipped,
            } => "skip".to_owned(),
            EventKind::Skip { state } => format!("skip {}", state.as_str()),
            EventKind::Cancel {
                attempts,
                status: s,
                state,
            } => format!("cancel {} {} #{attempts}", state.as_str(), status(s)),
            EventKind::Compensate {
                attempts,
                status: s,
                state,
            } => format!("compensate {} {} #{attempts}", state.as_str(), status(s)),
            EventKind::Breaker { state, retry_at } => {
                format!(
                    "breaker {} {} {retry_at}",
                    e.origin.unwrap_or("?"),
                    state.as_str()
                )
            }
        };
        format!("{} {} {what}", e.t, e.name)
    }

    /// Events as kept by [`recorder`]: the line, the kind and the call.
    type Seen = Vec<(String, EventKind, usize)>;

    /// A callback that keeps every event, as a line and as itself.
    fn recorder() -> (OnEvent, Rc<RefCell<Seen>>) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let keep = seen.clone();
        let on_event = OnEvent::new(move |e| keep.borrow_mut().push((line(e), e.kind, e.call)));
        (on_event, seen)
    }

    /// A network where `/<service>` answers per `answers[service]`: (latency, status) of
    /// attempt 1, 2, ... (the last repeats); a status of 0 is a network error. Unlisted
    /// services answer 200 after 10 ms.
    fn network(answers: &[(&str, &[(f64, u16)])]) -> Sim {
        let answers: HashMap<String, Vec<(f64, u16)>> = answers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        let count = Rc::new(RefCell::new(HashMap::<String, usize>::new()));
        Sim::new(move |req: &Request<Json>| -> Answer {
            let name = req.url["http://svc/".len()..]
                .split(['/', '?'])
                .next()
                .unwrap()
                .to_owned();
            let mut count = count.borrow_mut();
            let n = count.entry(name.clone()).or_default();
            *n += 1;
            let list = answers.get(&name).cloned().unwrap_or(vec![(10.0, 200)]);
            let (ms, status) = list[(*n - 1).min(list.len() - 1)];
            let result = match status {
                0 => Err(TransportError::Network("connection reset".into())),
                200..=299 => Ok(Reply {
                    bytes: 0,
                    status,
                    body: json(&format!(r#"{{"id":"{name}-{n}"}}"#)),
                    replayed: false,
                }),
                _ => Err(TransportError::Status(status)),
            };
            (ms, result)
        })
    }

    fn go(
        sim: &Sim,
        p: &Plan,
        settings: Settings,
        cancel_at: Option<f64>,
    ) -> (Outcome<Json>, Seen) {
        let (on_event, seen) = recorder();
        let settings = Settings {
            on_event: Some(on_event),
            ..settings
        };
        let input = json("{}");
        let cancel = async {
            match cancel_at {
                Some(ms) => sim.sleep(ms).await,
                None => std::future::pending().await,
            }
        };
        let out = sim.block_on(run(p, &input, sim, sim, &NoHooks, settings, cancel));
        let events = seen.borrow().clone();
        (out, events)
    }

    /// The contract, checked on any run: one terminal event per call, agreeing with its
    /// record; per call, starts numbered 1, 2, ... with a retry between each two, all
    /// before the terminal event; compensations only after every terminal event.
    fn holds_the_contract(p: &Plan, out: &Outcome<Json>, events: &Seen) {
        let n = p.calls().len();
        let mut terminal = vec![None; n];
        let mut starts = vec![0u32; n];
        let mut retries = vec![0u32; n];
        let mut told = 0;
        let mut last_t = 0.0;
        for (at, (text, kind, call)) in events.iter().enumerate() {
            let call = *call;
            let t: f64 = text.split(' ').next().unwrap().parse().unwrap();
            assert!(t >= last_t, "{text}: time goes back");
            last_t = t;
            match *kind {
                EventKind::Compensate { .. } => {
                    assert_eq!(told, n, "{text}: a compensation before every call ended");
                    continue;
                }
                _ => assert!(terminal[call].is_none(), "{text} after the call's end"),
            }
            match *kind {
                EventKind::Start { attempt, .. } => {
                    assert_eq!(attempt, starts[call] + 1, "{text}");
                    assert_eq!(
                        retries[call],
                        attempt - 1,
                        "{text}: one retry per later attempt"
                    );
                    if attempt > 1 {
                        assert!(
                            matches!(
                                events[..at].iter().rev().find(|e| e.2 == call).unwrap().1,
                                EventKind::Retry { .. }
                            ),
                            "{text}: a retry comes before each later attempt"
                        );
                    }
                    starts[call] = attempt;
                }
                EventKind::Retry { attempt, .. } => {
                    assert_eq!(attempt, starts[call], "{text}");
                    retries[call] += 1;
                }
                _ => {
                    terminal[call] = Some(*kind);
                    told += 1;
                }
            }
        }
        for (i, record) in out.records.iter().enumerate() {
            let name = &p.calls()[i].name;
            let kind = terminal[i].unwrap_or_else(|| panic!("{name} got no terminal event"));
            let state = match kind {
                EventKind::End {
                    state,
                    attempts,
                    status,
                }
                | EventKind::Cancel {
                    state,
                    attempts,
                    status,
                } => {
                    assert_eq!(
                        (attempts, status),
                        (record.attempts, record.status),
                        "{name}"
                    );
                    state
                }
                _ => CallState::Skipped,
            };
            assert_eq!(
                state, record.state,
                "{name}'s terminal event and record agree"
            );
            assert_eq!(
                starts[i], record.attempts,
                "{name}: one start per request sent"
            );
        }
        let compensations = events
            .iter()
            .filter(|e| matches!(e.1, EventKind::Compensate { .. }))
            .count();
        assert_eq!(compensations, out.compensations.len());
    }

    fn lines(events: &Seen, call: &str) -> Vec<String> {
        events
            .iter()
            .map(|e| e.0.clone())
            .filter(|l| l.split(' ').nth(1) == Some(call))
            .collect()
    }

    #[test]
    fn a_retry_a_failure_a_skip_and_successes_in_order() {
        let p = plan(
            r#"{"calls":{
            "a":{"url":"http://svc/a"},
            "r":{"url":"http://svc/r"},
            "opt":{"url":"http://svc/opt","optional":true},
            "dep":{"url":"http://svc/dep","after":["opt"]},
            "last":{"url":"http://svc/last/{a.id}/{r.id}"},
            "bad":{"url":"http://svc/bad/{a.nope}","optional":true}}}"#,
        );
        let sim = network(&[("r", &[(10.0, 503), (10.0, 200)]), ("opt", &[(10.0, 404)])]);
        let (out, events) = go(&sim, &p, Schedule::Eager.into(), None);
        assert!(out.error.is_none(), "{:?}", out.error);
        holds_the_contract(&p, &out, &events);
        assert_eq!(lines(&events, "a"), ["0 a start #1", "10 a end ok 200 #1"]);
        // The backoff of the simulated network is exact: 0.5 x 100 ms.
        assert_eq!(
            lines(&events, "r"),
            [
                "0 r start #1",
                "10 r retry #1 503 HTTP_STATUS wait 50",
                "60 r start #2",
                "70 r end ok 200 #2"
            ]
        );
        assert_eq!(
            lines(&events, "opt"),
            ["0 opt start #1", "10 opt end failed 404 #1"]
        );
        assert_eq!(lines(&events, "dep"), ["10 dep skip"]);
        assert_eq!(
            lines(&events, "last"),
            ["70 last start #1", "80 last end ok 200 #1"]
        );
        // Its URL reads a path `a` lacks: it ends failed without ever being sent.
        assert_eq!(lines(&events, "bad"), ["10 bad end failed - #0"]);
        // An input's end comes before its dependent's start.
        let at = |l: &str| events.iter().position(|e| e.0 == l).unwrap();
        assert!(at("70 r end ok 200 #2") < at("70 last start #1"));
        assert!(at("10 a end ok 200 #1") < at("10 bad end failed - #0"));
    }

    #[test]
    fn a_failure_cancels_what_it_stops_and_compensations_come_last() {
        let p = plan(
            r#"{"calls":{
            "reserve":{"method":"POST","url":"http://svc/reserve",
                       "compensate":{"method":"DELETE","url":"http://svc/release/{reserve.id}"}},
            "read":{"url":"http://svc/read"},
            "w":{"method":"POST","url":"http://svc/w"},
            "bad":{"url":"http://svc/bad"},
            "later":{"url":"http://svc/later","after":["bad"]},
            "tail":{"url":"http://svc/tail","after":["reserve"]}}}"#,
        );
        let sim = network(&[
            ("reserve", &[(30.0, 201)]),
            ("read", &[(100.0, 200)]),
            ("w", &[(10.0, 503)]),
            ("bad", &[(20.0, 500)]),
        ]);
        let (out, events) = go(&sim, &p, Schedule::Eager.into(), None);
        assert_eq!(out.error.as_ref().unwrap().call(), Some("bad"));
        holds_the_contract(&p, &out, &events);
        assert_eq!(
            lines(&events, "bad"),
            ["0 bad start #1", "20 bad end failed 500 #1"]
        );
        // In flight at the failure: the read is aborted; the write finishes.
        assert_eq!(lines(&events, "read")[1], "20 read cancel cancelled - #1");
        assert_eq!(
            lines(&events, "reserve")[1],
            "30 reserve end ok 201 #1",
            "a write in flight finishes"
        );
        // Waiting to retry at the failure: stopped there, its last answer stands (a 503 to a
        // write may hide an earlier copy that acted: unknown).
        assert_eq!(
            lines(&events, "w"),
            [
                "0 w start #1",
                "10 w retry #1 503 HTTP_STATUS wait 50",
                "20 w cancel unknown 503 #1"
            ]
        );
        assert_eq!(lines(&events, "later"), ["20 later skip"]);
        // Ready only after the failure: never sent.
        assert_eq!(lines(&events, "tail"), ["30 tail cancel not-sent - #0"]);
        let last = &events.last().unwrap().0;
        assert_eq!(last, "40 reserve compensate ok 200 #1");
    }

    #[test]
    fn an_abort_and_a_deadline_cancel_every_call_still_open() {
        let p = plan(
            r#"{"calls":{
            "a":{"url":"http://svc/a"},
            "b":{"url":"http://svc/b"},
            "w":{"method":"POST","url":"http://svc/w"},
            "c":{"url":"http://svc/c","after":["b"]}}}"#,
        );
        let answers: &[(&str, &[(f64, u16)])] = &[("b", &[(50.0, 200)]), ("w", &[(50.0, 201)])];
        let (out, events) = go(&network(answers), &p, Schedule::Eager.into(), Some(15.0));
        assert_eq!(out.error.as_ref().unwrap().kind(), ErrorKind::Aborted);
        holds_the_contract(&p, &out, &events);
        let terminal: Vec<String> = events
            .iter()
            .filter(|e| e.1.is_terminal())
            .map(|e| e.0.clone())
            .collect();
        assert_eq!(
            terminal,
            [
                "10 a end ok 200 #1",
                "15 b cancel cancelled - #1",
                "15 w cancel unknown - #1",
                "15 c cancel cancelled - #0"
            ]
        );

        let deadline = Settings {
            deadline_ms: Some(30.0),
            ..Settings::from(Schedule::Eager)
        };
        let (out, events) = go(&network(answers), &p, deadline, None);
        assert_eq!(out.error.as_ref().unwrap().kind(), ErrorKind::Timeout);
        holds_the_contract(&p, &out, &events);
        assert!(events.iter().any(|e| e.0 == "30 b cancel cancelled - #1"));
        assert!(events.iter().any(|e| e.0 == "30 w cancel unknown - #1"));
        assert!(events.iter().any(|e| e.0 == "30 c cancel not-sent - #0"));
    }

    #[test]
    fn a_composition_refused_before_sending_tells_nothing() {
        let p = plan(r#"{"calls":{"a":{"url":"http://svc/a/{input.id}"}}}"#);
        let (out, events) = go(&network(&[]), &p, Schedule::Eager.into(), None);
        assert_eq!(out.error.unwrap().kind(), ErrorKind::InvalidInput);
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn every_schedule_keeps_the_contract() {
        let p = plan(
            r#"{"calls":{
            "a":{"url":"http://svc/a"},"b":{"url":"http://svc/b"},
            "c":{"url":"http://svc/c/{a.id}"},"d":{"url":"http://svc/d","after":["b","c"]},
            "e":{"url":"http://svc/e","optional":true},"f":{"url":"http://svc/f/{e.id}"}}}"#,
        );
        for schedule in [Schedule::Eager, Schedule::Stages, Schedule::Sequential] {
            let sim = network(&[("b", &[(5.0, 0), (30.0, 200)]), ("e", &[(10.0, 400)])]);
            let (out, events) = go(&sim, &p, schedule.into(), None);
            assert!(out.error.is_none());
            holds_the_contract(&p, &out, &events);
        }
    }
}
