//! Property tests of the scheduler: random plans of 1 to 40 calls over the simulated
//! network, with random latencies and failures, in all three schedules.
//!
//! What each property expects is derived from what the network saw (which requests were
//! sent, when, whether they were aborted, and what each was answered) and from the plan's
//! graph as generated here, never from the scheduler's own bookkeeping: a property fails
//! when the records and the wire disagree. A failing case shrinks to a small plan, printed
//! with each call's method, inputs and answers, and the plan's JSON to paste into a test.
//! `PROPTEST_RNG_SEED=<n>` replays a run; failures are also kept in proptest-regressions/.

use crate::error::Error;
use crate::events::{EventKind, OnEvent};
use crate::hooks::NoHooks;
use crate::json::Json;
use crate::plan::{Method, Plan};
use crate::record::CallState;
use crate::retry::RetryPolicy;
use crate::schedule::{run, Outcome, Schedule, Settings, IDEMPOTENCY_KEY};
use crate::sim::{Answer, Sim};
use crate::transport::{Clock, Reply, Request, TransportError};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// How one attempt of a call is answered.
#[derive(Clone, Copy, PartialEq)]
enum Fate {
    Ok,
    Status(u16),
    Network,
}

impl Fate {
    /// The failures the README says are retried: a network error, 408, 429, 502, 503, 504.
    fn transient(self) -> bool {
        match self {
            Fate::Ok => false,
            Fate::Status(s) => matches!(s, 408 | 429 | 502 | 503 | 504),
            Fate::Network => true,
        }
    }
}

impl fmt::Debug for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fate::Ok => f.write_str("ok"),
            Fate::Status(s) => write!(f, "{s}"),
            Fate::Network => f.write_str("network error"),
        }
    }
}

/// One generated call: its inputs, method, and the answer to each attempt.
#[derive(Clone)]
struct CallSpec {
    /// Earlier calls it needs, each named in a template (`true`) or in `after`.
    deps: Vec<(usize, bool)>,
    method: Method,
    optional: bool,
    /// Latency in ms and answer of attempt 1, 2, ...; the last one repeats.
    answers: Vec<(u32, Fate)>,
}

impl CallSpec {
    fn answer(&self, attempt: usize) -> (u32, Fate) {
        self.answers[attempt.min(self.answers.len() - 1)]
    }

    fn deps(&self) -> impl Iterator<Item = usize> + '_ {
        self.deps.iter().map(|d| d.0)
    }

    /// The call as plan JSON: template inputs go in the URL of a GET and the body of a POST.
    fn json(&self, i: usize) -> String {
        let named: Vec<usize> = self.deps.iter().filter(|d| d.1).map(|d| d.0).collect();
        let after: Vec<String> = self
            .deps
            .iter()
            .filter(|d| !d.1)
            .map(|d| format!("\"c{}\"", d.0))
            .collect();
        let mut fields = Vec::new();
        match self.method {
            Method::Post => {
                let body: Vec<String> = std::iter::once(format!(r#""call":"c{i}""#))
                    .chain(
                        named
                            .iter()
                            .map(|j| format!(r#""c{j}":"{{c{j}.id}}","n{j}":"{{c{j}.n}}""#)),
                    )
                    .collect();
                fields.push(r#""method":"POST""#.to_owned());
                fields.push(format!(r#""url":"http://svc/c{i}""#));
                fields.push(format!(r#""body":{{{}}}"#, body.join(",")));
            }
            _ => {
                let query: Vec<String> =
                    named.iter().map(|j| format!("c{j}={{c{j}.id}}")).collect();
                let sep = if query.is_empty() { "" } else { "?" };
                fields.push(format!(
                    r#""url":"http://svc/c{i}{sep}{}""#,
                    query.join("&")
                ));
            }
        }
        if !after.is_empty() {
            fields.push(format!(r#""after":[{}]"#, after.join(",")));
        }
        if self.optional {
            fields.push(r#""optional":true"#.to_owned());
        }
        format!(r#""c{i}":{{{}}}"#, fields.join(","))
    }
}

/// A generated composition: the calls and how to run them.
#[derive(Clone)]
struct Case {
    calls: Vec<CallSpec>,
    schedule: Schedule,
    max_attempts: u32,
}

impl Case {
    fn plan_json(&self) -> String {
        let calls: Vec<String> = self
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| c.json(i))
            .collect();
        format!(r#"{{"calls":{{{}}}}}"#, calls.join(","))
    }

    fn plan(&self) -> Plan {
        let json: Json = serde_json::from_str(&self.plan_json()).expect("generated JSON");
        Plan::from_json(&json).expect("generated plans are valid")
    }

    /// Each call's ancestors as a bit set (at most 40 calls; calls only need earlier ones).
    fn ancestors(&self) -> Vec<u64> {
        let mut anc = vec![0u64; self.calls.len()];
        for i in 0..self.calls.len() {
            anc[i] = self.calls[i].deps().fold(0, |set, d| set | 1 << d | anc[d]);
        }
        anc
    }

    /// Topological levels from the generated graph: one more than the deepest input.
    fn levels(&self) -> Vec<usize> {
        let mut level = vec![0; self.calls.len()];
        for i in 0..self.calls.len() {
            level[i] = self.calls[i]
                .deps()
                .map(|d| level[d] + 1)
                .max()
                .unwrap_or(0);
        }
        level
    }
}

/// Readable when proptest prints a failing case: one line per call, then the plan.
impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "schedule {}, max_attempts {}, {} calls:",
            self.schedule.as_str(),
            self.max_attempts,
            self.calls.len()
        )?;
        for (i, c) in self.calls.iter().enumerate() {
            let deps: Vec<String> = c
                .deps
                .iter()
                .map(|&(d, named)| format!("c{d}{}", if named { "" } else { " (after)" }))
                .collect();
            let answers: Vec<String> = c
                .answers
                .iter()
                .map(|(ms, fate)| format!("{fate:?} in {ms} ms"))
                .collect();
            writeln!(
                f,
                "  c{i:<3} {:<4}{} needs [{}], answers [{}]",
                c.method.as_str(),
                if c.optional { " optional" } else { "" },
                deps.join(", "),
                answers.join(", ")
            )?;
        }
        write!(f, "plan: {}", self.plan_json())
    }
}

fn fate(failure_weight: u32) -> impl Strategy<Value = Fate> {
    prop_oneof![
        30 => Just(Fate::Ok),
        failure_weight => prop::sample::select(vec![400u16, 404, 409, 500]).prop_map(Fate::Status),
        failure_weight => prop::sample::select(vec![408u16, 429, 502, 503, 504]).prop_map(Fate::Status),
        failure_weight => Just(Fate::Network),
    ]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    prop::sample::select(vec![
        Schedule::Eager,
        Schedule::Stages,
        Schedule::Sequential,
    ])
}

/// A call before resolving its inputs, which are drawn as positions among the calls
/// before it, so that shrinking the list of calls keeps every plan acyclic.
type RawCall = (Vec<(Index, bool)>, bool, bool, Vec<(u32, Fate)>);

fn raw_call(failure_weight: u32) -> impl Strategy<Value = RawCall> {
    (
        prop::collection::vec((any::<Index>(), any::<bool>()), 0..=3),
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::collection::vec((1u32..=200, fate(failure_weight)), 1..=5),
    )
}

fn resolve(raw: Vec<RawCall>, schedule: Schedule, max_attempts: u32) -> Case {
    let calls = raw
        .into_iter()
        .enumerate()
        .map(|(i, (deps, post, optional, answers))| {
            let mut resolved: Vec<(usize, bool)> = Vec::new();
            if i > 0 {
                for (at, named) in deps {
                    let d = at.index(i);
                    if resolved.iter().all(|r| r.0 != d) {
                        resolved.push((d, named));
                    }
                }
            }
            CallSpec {
                deps: resolved,
                method: if post { Method::Post } else { Method::Get },
                optional,
                answers,
            }
        })
        .collect();
    Case {
        calls,
        schedule,
        max_attempts,
    }
}

/// Plans of 1 to 40 calls; a failure weight of 0 (one case in four) means no failures.
fn case() -> impl Strategy<Value = Case> {
    (0u32..=3)
        .prop_flat_map(|weight| {
            (
                prop::collection::vec(raw_call(weight), 1..=40),
                schedule(),
                1u32..=5,
            )
        })
        .prop_map(|(raw, schedule, max_attempts)| resolve(raw, schedule, max_attempts))
}

/// Plans where every call succeeds at its first attempt.
fn healthy_case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(raw_call(0), 1..=40),
        schedule(),
        1u32..=5,
    )
        .prop_map(|(raw, schedule, max_attempts)| {
            let mut case = resolve(raw, schedule, max_attempts);
            for c in &mut case.calls {
                c.answers.truncate(1);
            }
            case
        })
}

/// Other latencies for calls c0, c1, ..., printed on one line.
#[derive(Clone)]
struct Latencies(Vec<u32>);

impl fmt::Debug for Latencies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ms", self.0)
    }
}

/// One request as the network saw it, with the answer the case gave it.
#[derive(Clone, Debug)]
struct Attempt {
    start: f64,
    end: Option<f64>,
    aborted: bool,
    latency: f64,
    fate: Fate,
    keys: Vec<String>,
    url: String,
    body: Option<Json>,
    /// Everything the request carried, for comparing runs.
    wire: String,
}

impl Attempt {
    /// Answered (not aborted) with a success.
    fn ok(&self) -> bool {
        !self.aborted && self.fate == Fate::Ok
    }

    /// Answered (not aborted) with a failure.
    fn failed(&self) -> bool {
        !self.aborted && self.fate != Fate::Ok
    }

    fn end(&self) -> f64 {
        self.end.unwrap_or(f64::NAN)
    }
}

/// A composition's outcome next to what the network saw.
struct Observed {
    plan: Plan,
    out: Outcome<Json>,
    /// Per call, its requests in the order they were sent.
    attempts: Vec<Vec<Attempt>>,
    /// Every request in the order it was sent, as (call, attempt index).
    order: Vec<(usize, usize)>,
    /// When the composition resolved, on the virtual clock.
    resolved_at: f64,
    /// The progress events, in the order they came: (call, what, t).
    events: Vec<(usize, EventKind, f64)>,
}

impl Observed {
    fn state(&self, i: usize) -> CallState {
        self.out.records[i].state
    }

    fn failed_call(&self) -> Option<usize> {
        let name = self.out.error.as_ref()?.call()?;
        self.plan.position(name)
    }

    /// When the composition failed: the end of the failing call (checked in `states`).
    fn failed_at(&self) -> Option<f64> {
        self.failed_call().and_then(|i| self.out.records[i].end_ms)
    }
}

/// FNV-1a: a reply's id names everything its request carried, inputs' ids included.
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The id the simulated service answers call `i`'s request with.
fn reply_id(i: usize, wire: &str) -> String {
    format!("c{i}-{:016x}", fingerprint(wire))
}

fn simulate(case: &Case, operation_id: Option<&str>) -> Observed {
    let plan = case.plan();
    let calls = case.calls.clone();
    // (call, attempt, latency, fate, request, wire) per request, in the order sent.
    type Log = Vec<(usize, usize, f64, Fate, Request<Json>, String)>;
    let log: Rc<RefCell<Log>> = Rc::default();
    let sim = Sim::new({
        let log = log.clone();
        move |req: &Request<Json>| -> Answer {
            let i: usize = req
                .url
                .trim_start_matches("http://svc/c")
                .split('?')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("a generated URL");
            let mut log = log.borrow_mut();
            let k = log.iter().filter(|e| e.0 == i).count();
            let (ms, fate) = calls[i].answer(k);
            let wire = format!(
                "{} {} {:?} {:?}",
                req.method, req.url, req.headers, req.body
            );
            let id = reply_id(i, &wire);
            log.push((i, k, f64::from(ms), fate, req.clone(), wire));
            let result = match fate {
                Fate::Ok => Ok(Reply {
                    status: if req.method == Method::Post { 201 } else { 200 },
                    body: Json::Object(vec![
                        ("id".into(), Json::String(id)),
                        ("n".into(), Json::Number(i as f64)),
                    ]),
                }),
                Fate::Status(s) => Err(TransportError::Status(s)),
                Fate::Network => Err(TransportError::Network("connection reset".into())),
            };
            (f64::from(ms), result)
        }
    });
    let events = Rc::new(RefCell::new(Vec::new()));
    let keep = events.clone();
    let settings = Settings {
        on_event: Some(OnEvent::new(move |e| {
            keep.borrow_mut().push((e.call, e.kind, e.t));
        })),
        operation_id: operation_id.map(str::to_owned),
        retry: RetryPolicy {
            max_attempts: case.max_attempts,
            ..RetryPolicy::default()
        },
        ..Settings::from(case.schedule)
    };
    let input = Json::Object(Vec::new());
    let out = sim.block_on(run(
        &plan,
        &input,
        &sim,
        &sim,
        &NoHooks,
        settings,
        futures::future::pending(),
    ));
    let resolved_at = sim.now();
    let seen = sim.seen();
    let log = log.borrow();
    assert_eq!(seen.len(), log.len(), "one route call per request sent");
    let mut attempts = vec![Vec::new(); case.calls.len()];
    let mut order = Vec::new();
    for (s, (i, k, latency, fate, req, wire)) in seen.iter().zip(log.iter()) {
        order.push((*i, *k));
        attempts[*i].push(Attempt {
            start: s.start,
            end: s.end,
            aborted: s.aborted,
            latency: *latency,
            fate: *fate,
            keys: req
                .headers
                .iter()
                .filter(|(h, _)| h.eq_ignore_ascii_case(IDEMPOTENCY_KEY))
                .map(|(_, v)| v.clone())
                .collect(),
            url: req.url.clone(),
            body: req.body.clone(),
            wire: wire.clone(),
        });
    }
    let events = events.borrow().clone();
    Observed {
        plan,
        out,
        attempts,
        order,
        resolved_at,
        events,
    }
}

fn is_failure(state: CallState) -> bool {
    matches!(state, CallState::Failed | CallState::Unknown)
}

/// An ancestor (in the bit set `ancestors`) that ended failed or unknown, if any.
fn failed_ancestor(ancestors: u64, o: &Observed) -> Option<usize> {
    (0..o.out.records.len()).find(|&a| ancestors >> a & 1 == 1 && is_failure(o.state(a)))
}

/// The plan read back has the generated graph, and the wire is sane: every request
/// settled, and one that was not aborted took exactly its latency.
fn wire_is_sane(case: &Case, o: &Observed) -> Result<(), TestCaseError> {
    for (i, c) in case.calls.iter().enumerate() {
        prop_assert_eq!(o.plan.position(&format!("c{i}")), Some(i));
        let mut plan_deps = o.plan.calls()[i].deps.clone();
        let mut deps: Vec<usize> = c.deps().collect();
        plan_deps.sort_unstable();
        deps.sort_unstable();
        prop_assert_eq!(plan_deps, deps, "c{}'s inputs as the plan read them", i);
        for (k, a) in o.attempts[i].iter().enumerate() {
            prop_assert!(a.end.is_some(), "c{} attempt {} never settled", i, k + 1);
            if !a.aborted {
                prop_assert_eq!(a.end(), a.start + a.latency, "c{} attempt {}", i, k + 1);
            }
        }
    }
    Ok(())
}

/// A dependent never starts before every one of its inputs ended successfully; and each
/// schedule lets calls start when it promises to.
fn inputs_come_first(case: &Case, o: &Observed) -> Result<(), TestCaseError> {
    let failed_at = o.failed_at();
    for (c, spec) in case.calls.iter().enumerate() {
        let Some(first) = o.attempts[c].first() else {
            continue;
        };
        for d in spec.deps() {
            let last = o.attempts[d].last();
            prop_assert!(
                last.is_some_and(|l| l.ok() && l.end() <= first.start),
                "c{} started at {} before its input c{} succeeded (c{}'s requests: {:?})",
                c,
                first.start,
                d,
                d,
                o.attempts[d]
            );
            prop_assert_eq!(o.state(d), CallState::Ok, "c{}'s input c{}", c, d);
            prop_assert!(o.out.records[c].start_ms >= o.out.records[d].end_ms);
        }
        // Each request carries the data its template inputs were answered: the id the
        // service gave the input's own last request, and its number.
        let id = |d: usize| o.attempts[d].last().map(|l| reply_id(d, &l.wire));
        let named: Vec<usize> = spec.deps.iter().filter(|d| d.1).map(|d| d.0).collect();
        for a in &o.attempts[c] {
            match spec.method {
                Method::Post => {
                    let mut fields = vec![("call".to_owned(), Json::String(format!("c{c}")))];
                    for &d in &named {
                        fields.push((format!("c{d}"), Json::String(id(d).unwrap_or_default())));
                        fields.push((format!("n{d}"), Json::Number(d as f64)));
                    }
                    prop_assert_eq!(
                        a.body.as_ref(),
                        Some(&Json::Object(fields)),
                        "c{}'s body",
                        c
                    );
                }
                _ => {
                    let query: Vec<String> = named
                        .iter()
                        .map(|&d| format!("c{d}={}", id(d).unwrap_or_default()))
                        .collect();
                    let sep = if query.is_empty() { "" } else { "?" };
                    let url = format!("http://svc/c{c}{sep}{}", query.join("&"));
                    prop_assert_eq!(&a.url, &url, "c{}'s URL", c);
                    prop_assert!(a.body.is_none());
                }
            }
        }
    }
    // When each call's inputs had all succeeded: (time, whether they all did).
    let inputs_done = |c: usize| -> (f64, bool) {
        case.calls[c].deps().fold((0.0, true), |(t, all), d| {
            match o.attempts[d].last().filter(|l| l.ok()) {
                Some(l) => (t.max(l.end()), all),
                None => (t, false),
            }
        })
    };
    match case.schedule {
        Schedule::Eager => {
            // Each call starts the moment its last input arrives, unless the
            // composition had failed by then.
            for c in 0..case.calls.len() {
                let (ready, all) = inputs_done(c);
                if all && failed_at.map_or(true, |t| ready < t) {
                    let start = o.attempts[c].first().map(|a| a.start);
                    prop_assert_eq!(
                        start,
                        Some(ready),
                        "eager: c{}'s inputs were all in at {}",
                        c,
                        ready
                    );
                }
            }
        }
        Schedule::Stages => {
            // A barrier after each level: a call starts after every request of every
            // lower level ended.
            let level = case.levels();
            for c in 0..case.calls.len() {
                let Some(first) = o.attempts[c].first() else {
                    continue;
                };
                for (x, attempts) in o.attempts.iter().enumerate() {
                    if level[x] < level[c] {
                        for a in attempts {
                            prop_assert!(
                                a.end() <= first.start,
                                "stages: c{} (level {}) started at {} while c{} (level {}) ran until {}",
                                c,
                                level[c],
                                first.start,
                                x,
                                level[x],
                                a.end()
                            );
                        }
                    }
                }
            }
        }
        Schedule::Sequential => {
            // One request at a time.
            let mut spans: Vec<(f64, f64, usize)> = o
                .attempts
                .iter()
                .enumerate()
                .flat_map(|(c, a)| a.iter().map(move |a| (a.start, a.end(), c)))
                .collect();
            spans.sort_by(|a, b| a.0.total_cmp(&b.0));
            for w in spans.windows(2) {
                prop_assert!(
                    w[0].1 <= w[1].0,
                    "sequential: c{} ran {}..{} while c{} started at {}",
                    w[0].2,
                    w[0].0,
                    w[0].1,
                    w[1].2,
                    w[1].0
                );
            }
        }
    }
    Ok(())
}

/// Which states each call's requests allow, derived from the wire and the generated plan;
/// then the records, replies and the composition's error are checked against that.
fn states(case: &Case, o: &Observed) -> Result<(), TestCaseError> {
    let n = case.calls.len();
    let anc = case.ancestors();
    let error = o.out.error.as_ref();
    let failed_call = o.failed_call();
    let failed_at = o.failed_at();

    // The composition fails exactly when a required call fails, and the error names the
    // first of them, at the moment its failing reply arrived.
    let required_failures: Vec<usize> = (0..n)
        .filter(|&i| !case.calls[i].optional && is_failure(o.state(i)))
        .collect();
    prop_assert_eq!(
        error.is_some(),
        !required_failures.is_empty(),
        "error {:?} but required calls failed: {:?}",
        error.map(Error::message),
        required_failures
    );
    if let Some(e) = error {
        let f = failed_call;
        prop_assert!(f.is_some(), "the error names no call: {}", e.message());
        let f = f.unwrap_or_default();
        prop_assert!(
            required_failures.contains(&f),
            "the error names c{}, which is {:?} (optional: {})",
            f,
            o.state(f),
            case.calls[f].optional
        );
        let last = o.attempts[f].last();
        prop_assert!(
            last.is_some_and(|l| l.failed() && Some(l.end()) == failed_at),
            "c{} failed the composition at {:?} but its requests were {:?}",
            f,
            failed_at,
            o.attempts[f]
        );
        if let Some(Fate::Status(s)) = last.map(|l| l.fate) {
            prop_assert_eq!(e.status(), Some(s));
        }
        for &r in &required_failures {
            prop_assert!(
                o.out.records[r].end_ms >= failed_at,
                "c{} failed at {:?}, before c{} that the error names",
                r,
                o.out.records[r].end_ms,
                f
            );
        }
    }

    for (c, spec) in case.calls.iter().enumerate() {
        let record = &o.out.records[c];
        let attempts = &o.attempts[c];
        let read = spec.method == Method::Get;
        let expected: Vec<CallState> = match attempts.last() {
            None => {
                if failed_ancestor(anc[c], o).is_some() {
                    vec![CallState::Skipped]
                } else {
                    vec![CallState::NotSent]
                }
            }
            Some(last) if last.aborted => vec![CallState::Cancelled],
            Some(last) if last.fate == Fate::Ok => vec![CallState::Ok],
            Some(last) => {
                // After a transient failure a read may have been waiting to retry when
                // the composition failed: it is then cancelled. A write is unknown once
                // any of its attempts met a network error (the service may have acted),
                // whatever its later attempts were answered.
                let could_wait = last.fate.transient()
                    && attempts.len() < case.max_attempts as usize
                    && failed_call != Some(c)
                    && failed_at.is_some_and(|t| t >= last.end());
                let lost = attempts.iter().any(|a| a.fate == Fate::Network);
                match (read, could_wait, lost) {
                    (true, false, _) => vec![CallState::Failed],
                    (true, true, _) => vec![CallState::Failed, CallState::Cancelled],
                    (false, _, true) => vec![CallState::Unknown],
                    (false, _, false) => vec![CallState::Failed],
                }
            }
        };
        prop_assert!(
            expected.contains(&record.state),
            "c{} is {:?}, but its requests {:?} allow only {:?}",
            c,
            record.state,
            attempts,
            expected
        );

        // The record's other fields agree with the wire.
        prop_assert_eq!(record.attempts as usize, attempts.len(), "c{} attempts", c);
        prop_assert_eq!(
            record.start_ms,
            attempts.first().map(|a| a.start),
            "c{} start",
            c
        );
        match record.state {
            CallState::Skipped | CallState::NotSent => {
                prop_assert_eq!(record.end_ms, None, "c{} never started", c);
                if record.state == CallState::NotSent {
                    prop_assert!(error.is_some(), "c{} not sent, yet nothing failed", c);
                }
            }
            CallState::Ok => {
                prop_assert_eq!(record.end_ms, attempts.last().map(Attempt::end));
                let status = if read { 200 } else { 201 };
                prop_assert_eq!(record.status, Some(status), "c{}", c);
            }
            CallState::Cancelled => {
                prop_assert!(read, "c{}: only reads are cancelled by a failure", c);
                prop_assert_eq!(record.end_ms, failed_at, "c{} cancelled", c);
            }
            CallState::Failed | CallState::Unknown => {
                let last = attempts.last().map(Attempt::end);
                prop_assert!(record.end_ms >= last, "c{} ended before its reply", c);
                // At its last reply, or, when it was waiting to retry as the composition
                // failed, at that very moment: nothing waits out a retry that will not come.
                if record.end_ms != last {
                    prop_assert!(
                        failed_call != Some(c) && failed_at >= last && record.end_ms == failed_at,
                        "c{} ended at {:?}, not at its last reply ({:?}) nor at the failure \
                         ({:?}) it was waiting to retry through",
                        c,
                        record.end_ms,
                        last,
                        failed_at
                    );
                }
                // The status of the last HTTP answer it got.
                let answered =
                    attempts
                        .iter()
                        .rev()
                        .filter(|a| !a.aborted)
                        .find_map(|a| match a.fate {
                            Fate::Status(s) => Some(s),
                            _ => None,
                        });
                prop_assert_eq!(record.status, answered, "c{} status", c);
            }
        }
        prop_assert_eq!(
            o.out.replies[c].is_some(),
            record.state == CallState::Ok,
            "c{}: a reply exactly when ok",
            c
        );
    }
    Ok(())
}

/// A call is skipped exactly when it never started and one of its ancestors failed; after
/// a required failure nothing new starts, reads in flight are aborted at once, and writes
/// in flight run to their end.
fn failures_skip_descendants(case: &Case, o: &Observed) -> Result<(), TestCaseError> {
    let anc = case.ancestors();
    for (c, &ancestors) in anc.iter().enumerate() {
        let never_started = o.attempts[c].is_empty();
        let failed_ancestor = failed_ancestor(ancestors, o);
        prop_assert_eq!(
            o.state(c) == CallState::Skipped,
            never_started && failed_ancestor.is_some(),
            "c{} is {:?}; started: {}; failed ancestor: {:?}",
            c,
            o.state(c),
            !never_started,
            failed_ancestor.map(|a| format!("c{a}"))
        );
        if is_failure(o.state(c)) {
            prop_assert!(!never_started, "c{} failed without a request", c);
        }
    }
    for (c, attempts) in o.attempts.iter().enumerate() {
        let read = case.calls[c].method == Method::Get;
        for (k, a) in attempts.iter().enumerate() {
            match o.failed_at() {
                None => prop_assert!(!a.aborted, "c{} attempt {} aborted", c, k + 1),
                Some(t) => {
                    prop_assert!(
                        a.start <= t,
                        "c{} attempt {} started at {} after the composition failed at {}",
                        c,
                        k + 1,
                        a.start,
                        t
                    );
                    let natural_end = a.start + a.latency;
                    if !read {
                        prop_assert!(!a.aborted, "c{}: a write was aborted", c);
                    } else if natural_end > t {
                        prop_assert!(
                            a.aborted && a.end == Some(t),
                            "c{} attempt {} was in flight at the failure at {} but {:?}",
                            c,
                            k + 1,
                            t,
                            a
                        );
                    } else if natural_end < t {
                        prop_assert!(
                            !a.aborted,
                            "c{} attempt {} aborted after it ended",
                            c,
                            k + 1
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Attempts never exceed the cap, retries never exceed the composition's budget, only
/// transient failures of repeatable requests are retried, after a backoff, and a POST
/// keeps one Idempotency-Key across its retries.
fn retries_within_limits(case: &Case, o: &Observed) -> Result<(), TestCaseError> {
    let n = case.calls.len();
    // README: "at most 10% of the plan's calls + 3 retries per composition".
    let budget = n / 10 + 3;
    let retries: usize = o.attempts.iter().map(|a| a.len().saturating_sub(1)).sum();
    prop_assert!(
        retries <= budget,
        "{} retries for {} calls, budget {}",
        retries,
        n,
        budget
    );
    let mut keys: Vec<&str> = Vec::new();
    for (c, attempts) in o.attempts.iter().enumerate() {
        prop_assert!(
            attempts.len() <= case.max_attempts as usize,
            "c{} sent {} times, cap {}",
            c,
            attempts.len(),
            case.max_attempts
        );
        for (k, pair) in attempts.windows(2).enumerate() {
            let (before, again) = (&pair[0], &pair[1]);
            prop_assert!(
                before.failed() && before.fate.transient(),
                "c{} retried after attempt {} answered {:?} (aborted: {})",
                c,
                k + 1,
                before.fate,
                before.aborted
            );
            // README: "a random wait below 100 ms, then below 200, 400, ... capped at 2 s".
            let ceiling = (100.0 * f64::from(1u32 << k.min(20))).min(2_000.0);
            let wait = again.start - before.end();
            prop_assert!(
                wait > 0.0 && wait < ceiling,
                "c{} waited {} ms before attempt {}, not within (0, {})",
                c,
                wait,
                k + 2,
                ceiling
            );
        }
        match case.calls[c].method {
            Method::Post => {
                for a in attempts {
                    prop_assert_eq!(a.keys.len(), 1, "c{}: one Idempotency-Key per POST", c);
                }
                if let Some(first) = attempts.first() {
                    prop_assert!(
                        attempts.iter().all(|a| a.keys == first.keys),
                        "c{}: the key changed across retries",
                        c
                    );
                    prop_assert!(
                        !keys.contains(&first.keys[0].as_str()),
                        "c{} reuses another call's key",
                        c
                    );
                    keys.push(&first.keys[0]);
                }
            }
            _ => prop_assert!(attempts.iter().all(|a| a.keys.is_empty())),
        }
    }
    // A transient failure under the cap ends a call only when the budget is spent or the
    // composition failed first. Without a failure, every retry decided was also sent.
    let gave_up_early: Vec<usize> = (0..n)
        .filter(|&c| {
            o.attempts[c].last().is_some_and(|l| {
                l.failed() && l.fate.transient() && o.attempts[c].len() < case.max_attempts as usize
            })
        })
        .collect();
    match o.failed_at() {
        None => prop_assert!(
            retries == budget || gave_up_early.is_empty(),
            "calls {:?} were not retried, though only {} of {} retries were spent",
            gave_up_early,
            retries,
            budget
        ),
        Some(t) => {
            // The failing call itself gave up: if it could have been retried, the budget
            // was spent on retries sent or on calls still waiting to retry.
            let f = o.failed_call().unwrap_or_default();
            if gave_up_early.contains(&f) {
                let waiting = gave_up_early
                    .iter()
                    .filter(|&&c| c != f && o.attempts[c].last().is_some_and(|l| l.end() <= t))
                    .count();
                prop_assert!(
                    retries + waiting >= budget,
                    "c{} failed the composition without a retry, with {} of {} retries spent",
                    f,
                    retries,
                    budget
                );
            }
        }
    }
    Ok(())
}

/// The progress events keep their contract (see `events.rs`): per call, a `start` for
/// each request the network saw, at the time it saw it, a `retry` before each later one,
/// then exactly one terminal event that agrees with the record, and nothing after it; a
/// call's first `start` comes after the terminal events of the calls it needs; `t` never
/// goes back.
fn events_keep_their_contract(case: &Case, o: &Observed) -> Result<(), TestCaseError> {
    let n = case.calls.len();
    let mut terminal: Vec<Option<(usize, EventKind)>> = vec![None; n];
    let mut starts: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut retries = vec![0u32; n];
    let mut last_t = 0.0;
    for (at, &(c, kind, t)) in o.events.iter().enumerate() {
        prop_assert!(t >= last_t, "event {} of c{} goes back in time", at, c);
        last_t = t;
        prop_assert!(
            terminal[c].is_none(),
            "c{}: {:?} after its terminal event",
            c,
            kind
        );
        match kind {
            EventKind::Start { attempt } => {
                prop_assert_eq!(attempt as usize, starts[c].len() + 1, "c{} attempt", c);
                prop_assert_eq!(
                    retries[c] + 1,
                    attempt,
                    "c{}: a retry before attempt {}",
                    c,
                    attempt
                );
                if attempt == 1 {
                    for d in case.calls[c].deps() {
                        prop_assert!(terminal[d].is_some(), "c{} started before c{} ended", c, d);
                    }
                }
                starts[c].push(t);
            }
            EventKind::Retry { attempt, .. } => {
                prop_assert_eq!(attempt as usize, starts[c].len(), "c{} retry", c);
                retries[c] += 1;
            }
            EventKind::Compensate { .. } => prop_assert!(false, "no compensations in these plans"),
            _ => terminal[c] = Some((at, kind)),
        }
    }
    for c in 0..n {
        let record = &o.out.records[c];
        let Some((at, kind)) = terminal[c] else {
            return Err(TestCaseError::fail(format!("c{c} got no terminal event")));
        };
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
                prop_assert_eq!(
                    (attempts, status),
                    (record.attempts, record.status),
                    "c{}",
                    c
                );
                state
            }
            _ => CallState::Skipped,
        };
        prop_assert_eq!(state, record.state, "c{}'s terminal event", c);
        if let Some(end) = record.end_ms {
            prop_assert_eq!(o.events[at].2, end, "c{}'s terminal event is at its end", c);
        }
        let wire: Vec<f64> = o.attempts[c].iter().map(|a| a.start).collect();
        prop_assert_eq!(
            &starts[c],
            &wire,
            "c{}: one start per request, when it was sent",
            c
        );
    }
    Ok(())
}

/// `cases` per property, unless `PROPTEST_CASES` asks for another number (for a soak run).
fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        return default;
    }
    ProptestConfig { cases, ..default }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn dependents_never_start_before_their_inputs_succeed(case in case()) {
        let o = simulate(&case, None);
        wire_is_sane(&case, &o)?;
        inputs_come_first(&case, &o)?;
    }

    #[test]
    fn every_call_ends_in_the_one_state_its_requests_explain(case in case()) {
        let o = simulate(&case, None);
        wire_is_sane(&case, &o)?;
        states(&case, &o)?;
    }

    #[test]
    fn a_failure_skips_its_descendants_and_nothing_else(case in case()) {
        let o = simulate(&case, None);
        wire_is_sane(&case, &o)?;
        failures_skip_descendants(&case, &o)?;
    }

    #[test]
    fn progress_events_keep_their_contract(case in case()) {
        let o = simulate(&case, None);
        wire_is_sane(&case, &o)?;
        events_keep_their_contract(&case, &o)?;
    }

    #[test]
    fn attempts_stay_within_the_cap_and_retries_within_the_budget(case in case()) {
        let o = simulate(&case, None);
        wire_is_sane(&case, &o)?;
        retries_within_limits(&case, &o)?;
    }

    /// With no failure, other latencies and another schedule change only the timing: each
    /// call sends the same request and gets the same data. Replies name everything their
    /// request carried, inputs included, so a call that read the wrong input shows up.
    /// Keys come from an operation id here: the simulated network's random-key stand-in
    /// numbers keys in sending order.
    #[test]
    fn the_aggregate_does_not_depend_on_completion_order(
        case in healthy_case(),
        latencies in prop::collection::vec(1u32..=200, 40).prop_map(Latencies),
        other in schedule(),
    ) {
        let mut reordered = case.clone();
        reordered.schedule = other;
        for (c, &ms) in reordered.calls.iter_mut().zip(&latencies.0) {
            c.answers = vec![(ms, Fate::Ok)];
        }
        let a = simulate(&case, Some("op"));
        let b = simulate(&reordered, Some("op"));
        for o in [&a, &b] {
            prop_assert!(o.out.error.is_none(), "{:?}", o.out.error.as_ref().map(Error::message));
            for (c, r) in o.out.records.iter().enumerate() {
                prop_assert_eq!(r.state, CallState::Ok, "c{}", c);
            }
        }
        for c in 0..case.calls.len() {
            let wire = |o: &Observed| o.attempts[c].iter().map(|a| a.wire.clone()).collect::<Vec<_>>();
            prop_assert_eq!(wire(&a), wire(&b), "c{}'s request", c);
            prop_assert_eq!(&a.out.replies[c], &b.out.replies[c], "c{}'s reply", c);
        }
    }

    /// With no failure, eager takes exactly the critical path, stages the sum of each
    /// level's slowest call, and sequential the sum of all latencies; the composition
    /// resolves when its last call ends.
    #[test]
    fn without_failures_eager_takes_the_critical_path(case in healthy_case()) {
        let latency: Vec<f64> = case.calls.iter().map(|c| f64::from(c.answers[0].0)).collect();
        let mut finish = vec![0.0f64; case.calls.len()];
        for (i, c) in case.calls.iter().enumerate() {
            finish[i] = c.deps().map(|d| finish[d]).fold(0.0, f64::max) + latency[i];
        }
        let critical = finish.iter().copied().fold(0.0, f64::max);
        let levels = case.levels();
        let depth = levels.iter().max().map_or(0, |l| l + 1);
        let staged: f64 = (0..depth)
            .map(|l| (0..latency.len()).filter(|&i| levels[i] == l).map(|i| latency[i]).fold(0.0, f64::max))
            .sum();
        let total: f64 = latency.iter().sum();
        for schedule in [Schedule::Eager, Schedule::Stages, Schedule::Sequential] {
            let case = Case { schedule, ..case.clone() };
            let o = simulate(&case, None);
            prop_assert!(o.out.error.is_none());
            let makespan = o.out.records.iter().filter_map(|r| r.end_ms).fold(0.0, f64::max);
            let expected = match schedule {
                Schedule::Eager => critical,
                Schedule::Stages => staged,
                Schedule::Sequential => total,
            };
            prop_assert_eq!(makespan, expected, "{} makespan", schedule.as_str());
            prop_assert_eq!(o.resolved_at, makespan, "{} resolved after its last call", schedule.as_str());
            prop_assert_eq!(o.order.len(), case.calls.len(), "one request per call");
        }
    }
}
