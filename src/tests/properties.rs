//! Property tests of the scheduler: random plans of 1 to 40 calls over the simulated
//! network, with random latencies and failures, in all three schedules.
//!
//! What each property expects is derived from what the network saw (which requests were
//! sent, when, whether they were aborted, and what each was answered) and from the plan's
//! graph as generated here, never from the scheduler's own bookkeeping: a property fails
//! when the records and the wire disagree. A failing case shrinks to a small plan, printed
//! with each call's method, inputs and answers, and the plan's JSON to paste into a test.
//! `PROPTEST_RNG_SEED=<n>` replays a run; failures are also kept in proptest-regressions/.

use crate::engine::concurrency::Concurrency;
use crate::engine::events::{EventKind, OnEvent};
use crate::engine::hooks::NoHooks;
use crate::engine::idempotency::IDEMPOTENCY_KEY;
use crate::engine::outcome::Outcome;
use crate::engine::record::{CallRecord, CallState};
use crate::engine::retry::RetryPolicy;
use crate::engine::run::run;
use crate::engine::settings::{Schedule, Settings};
use crate::engine::transport::{Clock, Reply, Request, TransportError};
use crate::error::Error;
use crate::plan::json::Json;
use crate::plan::{Method, Plan};
use crate::tests::sim::{Answer, Sim};
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

impl Fate {
    /// Whether a write answered so may still have been carried out (see
    /// `TransportError::may_have_acted`): all but a 4xx other than 408 and 429.
    fn may_have_acted(self) -> bool {
        match self {
            Fate::Ok | Fate::Network => true,
            Fate::Status(s) => !(400..500).contains(&s) || matches!(s, 408 | 429),
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
    fn json(&self, i: usize, host: &str) -> String {
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
                fields.push(format!(r#""url":"http://{host}/c{i}""#));
                fields.push(format!(r#""body":{{{}}}"#, body.join(",")));
            }
            _ => {
                let query: Vec<String> =
                    named.iter().map(|j| format!("c{j}={{c{j}.id}}")).collect();
                let sep = if query.is_empty() { "" } else { "?" };
                fields.push(format!(
                    r#""url":"http://{host}/c{i}{sep}{}""#,
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
    /// Concurrency limits (none but in `limited_case`).
    limits: Concurrency,
    /// How many origins the calls are spread over, call `i` on origin `i % origins`.
    origins: usize,
}

impl Case {
    /// The host of call `i`: `svc`, or `svc<k>` when the calls are spread over origins.
    fn host(&self, i: usize) -> String {
        if self.origins > 1 {
            format!("svc{}", i % self.origins)
        } else {
            "svc".to_owned()
        }
    }

    fn limited(&self) -> bool {
        self.limits != Concurrency::default()
    }

    fn plan_json(&self) -> String {
        let calls: Vec<String> = self
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| c.json(i, &self.host(i)))
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
        if self.limited() || self.origins > 1 {
            writeln!(
                f,
                "maxConcurrency {:?}, maxConcurrencyPerOrigin {:?}, {} origins",
                self.limits.max, self.limits.per_origin, self.origins
            )?;
        }
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

/// Call `i`'s dependencies, each generated index taken among the calls before it (the
/// first call has none), without repeats: `(call, whether a placeholder names it)`.
fn earlier_calls(i: usize, deps: Vec<(Index, bool)>) -> Vec<(usize, bool)> {
    let mut resolved: Vec<(usize, bool)> = Vec::new();
    if i > 0 {
        for (at, named) in deps {
            let d = at.index(i);
            if resolved.iter().all(|r| r.0 != d) {
                resolved.push((d, named));
            }
        }
    }
    resolved
}

fn resolve(raw: Vec<RawCall>, schedule: Schedule, max_attempts: u32) -> Case {
    let calls = raw
        .into_iter()
        .enumerate()
        .map(|(i, (deps, post, optional, answers))| {
            let resolved = earlier_calls(i, deps);
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
        limits: Concurrency::default(),
        origins: 1,
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
    /// What the events with a record carried, in the order they came: (call, value, record).
    told: Vec<(usize, Option<Json>, CallRecord)>,
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
                .split('?')
                .next()
                .and_then(|path| path.rsplit_once("/c"))
                .and_then(|(_, n)| n.parse().ok())
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
                    bytes: 0,
                    status: if req.method == Method::Post { 201 } else { 200 },
                    body: Json::Object(vec![
                        ("id".into(), Json::String(id)),
                        ("n".into(), Json::Number(i as f64)),
                    ]),
                    replayed: false,
                }),
                Fate::Status(s) => Err(TransportError::Status(s)),
                Fate::Network => Err(TransportError::Network("connection reset".into())),
            };
            (f64::from(ms), result)
        }
    });
    let events = Rc::new(RefCell::new(Vec::new()));
    let keep = events.clone();
    let told = Rc::new(RefCell::new(Vec::new()));
    let keep_told = told.clone();
    let settings = Settings {
        on_event: Some(OnEvent::new(move |e| {
            keep.borrow_mut().push((e.call, e.kind, e.t));
            if let Some(record) = e.record {
                let value = e.value::<Json>().cloned();
                keep_told.borrow_mut().push((e.call, value, record.clone()));
            }
        })),
        operation_id: operation_id.map(str::to_owned),
        retry: RetryPolicy {
            max_attempts: case.max_attempts,
            ..RetryPolicy::default()
        },
        concurrency: case.limits,
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
    let told = told.borrow().clone();
    Observed {
        plan,
        out,
        attempts,
        order,
        resolved_at,
        events,
        told,
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
                    let url = format!("http://{}/c{c}{sep}{}", case.host(c), query.join("&"));
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
                if all && failed_at.map_or(true, |t| ready < t) && case.limited() {
                    // Under a limit it is queued from that moment until a slot is free:
                    // sent exactly that much later, or, if the composition failed first,
                    // never sent and queued until the failure.
                    let record = &o.out.records[c];
                    match o.attempts[c].first() {
                        Some(first) => {
                            prop_assert!(first.start >= ready, "c{} started early", c);
                            if record.state == CallState::Ok && o.attempts[c].len() == 1 {
                                prop_assert_eq!(first.start, ready + record.queued_ms, "c{}", c);
                            }
                        }
                        None => {
                            prop_assert_eq!(record.state, CallState::NotSent, "c{}", c);
                            prop_assert_eq!(Some(ready + record.queued_ms), failed_at, "c{}", c);
                        }
                    }
                } else if all && failed_at.map_or(true, |t| ready < t) {
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
                // any of its attempts met a network error or an answer that does not rule
                // out that the service acted (a 5xx, 408, 429), whatever its later attempts
                // were answered.
                let could_wait = last.fate.transient()
                    && attempts.len() < case.max_attempts as usize
                    && failed_call != Some(c)
                    && failed_at.is_some_and(|t| t >= last.end());
                let lost = attempts.iter().any(|a| a.fate.may_have_acted());
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
            CallState::Skipped | CallState::NotSent | CallState::NotNeeded => {
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
                // The status its last attempt was answered with; none when that attempt
                // got no HTTP answer, whatever earlier attempts got.
                let answered = attempts
                    .last()
                    .filter(|a| !a.aborted)
                    .and_then(|a| match a.fate {
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
            // Under a concurrency limit a retry may also wait for a slot.
            prop_assert!(
                wait > 0.0 && (wait < ceiling || case.limited()),
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

/// How many of the requests in `spans` were on the wire at `t` (a request leaving at
/// `t` no longer is; one sent at `t` already is).
fn on_wire_at(spans: &[(f64, f64, usize)], t: f64, origin: Option<usize>) -> usize {
    spans
        .iter()
        .filter(|&&(s, e, o)| s <= t && t < e && origin.map_or(true, |x| x == o))
        .count()
}

/// Concurrency limits hold on the wire, a queued call waits only while its slots are
/// all taken (a limit never idles the wire), and calls queue first come first served.
fn within_limits(case: &Case, o: &Observed) -> Result<(), TestCaseError> {
    let origin = |c: usize| c % case.origins.max(1);
    // (start, end, origin) of every request, from the wire.
    let spans: Vec<(f64, f64, usize)> = o
        .attempts
        .iter()
        .enumerate()
        .flat_map(|(c, a)| a.iter().map(move |a| (a.start, a.end(), origin(c))))
        .collect();
    let max = case.limits.max.unwrap_or(usize::MAX);
    let per_origin = case.limits.per_origin.unwrap_or(usize::MAX);
    for &(t, _, x) in &spans {
        let all = on_wire_at(&spans, t, None);
        prop_assert!(all <= max, "{} on the wire at {}, limit {}", all, t, max);
        let mine = on_wire_at(&spans, t, Some(x));
        prop_assert!(
            mine <= per_origin,
            "{} on the wire to svc{} at {}, limit {}",
            mine,
            x,
            t,
            per_origin
        );
    }
    // A call sent once and fine waited from `ready` to its start: throughout, either
    // every slot or every slot of its origin was taken.
    let ready_of = |c: usize| -> Option<f64> {
        let record = &o.out.records[c];
        let first = o.attempts[c].first()?;
        (record.state == CallState::Ok && o.attempts[c].len() == 1)
            .then_some(first.start - record.queued_ms)
    };
    for c in 0..case.calls.len() {
        let (Some(ready), Some(first)) = (ready_of(c), o.attempts[c].first()) else {
            continue;
        };
        let moments = std::iter::once(ready).filter(|&t| t < first.start).chain(
            spans
                .iter()
                .map(|s| s.1)
                .filter(|&e| ready < e && e < first.start),
        );
        for t in moments {
            let full = on_wire_at(&spans, t, None) >= max
                || on_wire_at(&spans, t, Some(origin(c))) >= per_origin;
            prop_assert!(
                full,
                "c{} waited at {} (ready at {}, sent at {}) with a slot free",
                c,
                t,
                ready,
                first.start
            );
        }
        // First come first served, among the calls that compete for the same slots.
        for d in 0..case.calls.len() {
            let Some(other) = ready_of(d) else { continue };
            let same_slots = case.limits.per_origin.is_none() || origin(c) == origin(d);
            if same_slots && ready < other {
                let start_d = o.attempts[d][0].start;
                prop_assert!(
                    first.start <= start_d,
                    "c{} was ready at {} but sent at {}, after c{} (ready at {}, sent at {})",
                    c,
                    ready,
                    first.start,
                    d,
                    other,
                    start_d
                );
            }
        }
    }
    Ok(())
}

/// Concurrency limits: at most 1 to 4 requests at once, or 1 to 3 per origin, or both,
/// over 1 to 3 origins (one in three cases has no limit, for comparison).
fn limits() -> impl Strategy<Value = Concurrency> {
    (
        prop::option::weighted(0.7, 1usize..=4),
        prop::option::weighted(0.4, 1usize..=3),
    )
        .prop_map(|(max, per_origin)| Concurrency { max, per_origin })
}

/// [`case`] with concurrency limits, its calls spread over 1 to 3 origins.
fn limited_case() -> impl Strategy<Value = Case> {
    (case(), limits(), 1usize..=3).prop_map(|(case, limits, origins)| Case {
        limits,
        origins,
        ..case
    })
}

/// One call of a dedupe case: a read or a write of one of three resources, maybe with a
/// header, maybe taking a query value from its first named input.
#[derive(Clone)]
struct ShareSpec {
    method: Method,
    path: u8,
    header: Option<u8>,
    /// Earlier calls it needs; the first named one fills `?k=` (reads) or the body.
    deps: Vec<(usize, bool)>,
    optional: bool,
}

impl ShareSpec {
    fn named(&self) -> Option<usize> {
        self.deps.iter().find(|d| d.1).map(|d| d.0)
    }
}

/// A composition whose reads often coincide once filled in.
#[derive(Clone)]
struct ShareCase {
    calls: Vec<ShareSpec>,
    /// Per resource: latency and answer of the 1st, 2nd, ... request of one exact
    /// request (the last one repeats).
    answers: Vec<Vec<(u32, Fate)>>,
    schedule: Schedule,
    max_attempts: u32,
    dedupe: bool,
    limits: Concurrency,
}

impl ShareCase {
    fn plan_json(&self) -> String {
        let calls: Vec<String> = self
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let named = c.named();
                let mut fields = vec![format!(r#""method":"{}""#, c.method.as_str())];
                let query = match (named, c.method) {
                    (Some(j), Method::Get | Method::Head) => format!("?k={{c{j}.k}}"),
                    _ => String::new(),
                };
                fields.push(format!(r#""url":"http://svc/p{}{query}""#, c.path));
                if c.method == Method::Post {
                    let body = named.map_or(String::new(), |j| format!(r#""k":"{{c{j}.k}}""#));
                    fields.push(format!(r#""body":{{{body}}}"#));
                }
                if let Some(h) = c.header {
                    fields.push(format!(r#""headers":{{"X-H":"{h}"}}"#));
                }
                let after: Vec<String> = c
                    .deps
                    .iter()
                    .filter(|d| Some(d.0) != named)
                    .map(|d| format!("\"c{}\"", d.0))
                    .collect();
                if !after.is_empty() {
                    fields.push(format!(r#""after":[{}]"#, after.join(",")));
                }
                if c.optional {
                    fields.push(r#""optional":true"#.to_owned());
                }
                format!(r#""c{i}":{{{}}}"#, fields.join(","))
            })
            .collect();
        format!(r#"{{"calls":{{{}}}}}"#, calls.join(","))
    }

    /// What call `c`'s read asks for once filled in (each reply's `k` is its resource's
    /// number): what the network tells requests apart by. `None` for a write.
    fn read_key(&self, c: usize) -> Option<String> {
        let spec = &self.calls[c];
        if spec.method == Method::Post {
            return None;
        }
        let query = spec
            .named()
            .map_or(String::new(), |j| format!("?k={}", self.calls[j].path));
        Some(wire_key(
            spec.method,
            &format!("http://svc/p{}{query}", spec.path),
            spec.header.map(|h| h.to_string()).as_deref(),
        ))
    }
}

/// A request as the dedupe properties tell requests apart: method, URL and `X-H`.
fn wire_key(method: Method, url: &str, header: Option<&str>) -> String {
    format!("{method} {url} {header:?}")
}

impl fmt::Debug for ShareCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "schedule {}, max_attempts {}, dedupe {}, maxConcurrency {:?}, {} calls:",
            self.schedule.as_str(),
            self.max_attempts,
            self.dedupe,
            self.limits.max,
            self.calls.len()
        )?;
        for (i, c) in self.calls.iter().enumerate() {
            let deps: Vec<String> = c
                .deps
                .iter()
                .map(|&(d, named)| format!("c{d}{}", if named { "" } else { " (after)" }))
                .collect();
            writeln!(
                f,
                "  c{i:<3} {:<4} p{} {:?}{} needs [{}]",
                c.method.as_str(),
                c.path,
                c.header,
                if c.optional { " optional" } else { "" },
                deps.join(", ")
            )?;
        }
        for (p, answers) in self.answers.iter().enumerate() {
            writeln!(f, "  p{p} answers {answers:?}")?;
        }
        write!(f, "plan: {}", self.plan_json())
    }
}

type RawShare = (u8, u8, Option<u8>, Vec<(Index, bool)>, bool);

fn share_call() -> impl Strategy<Value = RawShare> {
    (
        prop_oneof![6 => Just(0u8), 2 => Just(1u8), 2 => Just(2u8)],
        0u8..3,
        prop::option::weighted(0.3, 0u8..2),
        prop::collection::vec((any::<Index>(), any::<bool>()), 0..=2),
        prop::bool::weighted(0.2),
    )
}

fn share_case(failure_weight: impl Strategy<Value = u32>) -> impl Strategy<Value = ShareCase> {
    failure_weight.prop_flat_map(|weight| {
        (
            prop::collection::vec(share_call(), 1..=24),
            prop::collection::vec(prop::collection::vec((1u32..=200, fate(weight)), 1..=4), 3),
            schedule(),
            1u32..=4,
            prop::bool::weighted(0.85),
            prop::option::weighted(0.3, 1usize..=3),
        )
            .prop_map(|(raw, answers, schedule, max_attempts, dedupe, max)| {
                let calls = raw
                    .into_iter()
                    .enumerate()
                    .map(|(i, (method, path, header, deps, optional))| {
                        let resolved = earlier_calls(i, deps);
                        ShareSpec {
                            method: [Method::Get, Method::Head, Method::Post][method as usize],
                            path,
                            header,
                            deps: resolved,
                            optional,
                        }
                    })
                    .collect();
                ShareCase {
                    calls,
                    answers,
                    schedule,
                    max_attempts,
                    dedupe,
                    limits: Concurrency {
                        max,
                        per_origin: None,
                    },
                }
            })
    })
}

/// One request of a dedupe case as the network saw it.
#[derive(Clone, Debug)]
struct Heard {
    key: String,
    method: Method,
    start: f64,
    end: Option<f64>,
}

fn simulate_sharing(case: &ShareCase) -> (Plan, Outcome<Json>, Vec<Heard>) {
    let json: Json = serde_json::from_str(&case.plan_json()).expect("generated JSON");
    let plan = Plan::from_json(&json).expect("generated plans are valid");
    let answers = case.answers.clone();
    let heard: Rc<RefCell<Vec<String>>> = Rc::default();
    let sim = Sim::new({
        let heard = heard.clone();
        move |req: &Request<Json>| -> Answer {
            let path: usize = req.url["http://svc/p".len()..]
                .split('?')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("a generated URL");
            let header = req.headers.iter().find(|(h, _)| h == "X-H").map(|(_, v)| v);
            let key = wire_key(req.method, &req.url, header.map(String::as_str));
            let mut heard = heard.borrow_mut();
            let n = heard.iter().filter(|k| **k == key).count();
            let (ms, fate) = answers[path][n.min(answers[path].len() - 1)];
            // The same data for the same request, whoever sends it.
            let body = Json::Object(vec![
                ("k".into(), Json::Number(path as f64)),
                (
                    "id".into(),
                    Json::String(format!("{:016x}", fingerprint(&key))),
                ),
            ]);
            heard.push(key);
            let result = match fate {
                Fate::Ok => Ok(Reply::new(200, body)),
                Fate::Status(s) => Err(TransportError::Status(s)),
                Fate::Network => Err(TransportError::Network("connection reset".into())),
            };
            (f64::from(ms), result)
        }
    });
    let settings = Settings {
        operation_id: Some("op".into()),
        retry: RetryPolicy {
            max_attempts: case.max_attempts,
            ..RetryPolicy::default()
        },
        dedupe: case.dedupe,
        concurrency: case.limits,
        ..Settings::from(case.schedule)
    };
    let out = sim.block_on(run(
        &plan,
        &Json::Object(Vec::new()),
        &sim,
        &sim,
        &NoHooks,
        settings,
        futures::future::pending(),
    ));
    let heard = heard.borrow();
    let requests = sim
        .seen()
        .iter()
        .zip(heard.iter())
        .map(|(s, key)| Heard {
            key: key.clone(),
            method: s.request.method,
            start: s.start,
            end: s.end,
        })
        .collect();
    (plan, out, requests)
}

/// Each distinct read is requested by at most one call (its attempts one after another),
/// and every other call that makes it shares that call's request and outcome; writes are
/// never shared; with `dedupe: false` nothing is. Every call settles.
fn sharing_is_sound(
    case: &ShareCase,
    out: &Outcome<Json>,
    heard: &[Heard],
) -> Result<(), TestCaseError> {
    let n = case.calls.len();
    let records = &out.records;
    for c in 0..n {
        let record = &records[c];
        let Some(l) = record.shared_from else {
            continue;
        };
        prop_assert!(case.dedupe, "c{} shared c{} with dedupe off", c, l);
        prop_assert!(case.read_key(c).is_some(), "the write c{} shared c{}", c, l);
        prop_assert_eq!(
            case.read_key(c),
            case.read_key(l),
            "c{} shared c{}, another read",
            c,
            l
        );
        prop_assert_eq!(
            records[l].shared_from,
            None,
            "c{} shared c{}, itself a sharer",
            c,
            l
        );
        prop_assert_eq!(record.attempts, 0, "c{} shared, yet sent", c);
        // A leader's start is when its request was sent, after any time in the queue.
        let leader_ready = records[l].start_ms.map(|s| s - records[l].queued_ms);
        prop_assert!(
            record.start_ms.is_some() && record.start_ms >= leader_ready,
            "c{} joined before c{} was ready",
            c,
            l
        );
        // The leader's outcome is the sharer's.
        let (mine, theirs) = (record.state, records[l].state);
        match theirs {
            CallState::Ok => {
                prop_assert_eq!(mine, CallState::Ok, "c{} shares the ok c{}", c, l);
                prop_assert_eq!(&out.replies[c], &out.replies[l], "c{}'s reply", c);
                prop_assert_eq!(record.status, records[l].status);
                prop_assert!(record.end_ms >= records[l].end_ms);
            }
            CallState::Failed => {
                prop_assert_eq!(mine, CallState::Failed, "c{} shares the failed c{}", c, l);
                let kind = |i: usize| records[i].error.as_ref().map(Error::kind);
                prop_assert_eq!(kind(c), kind(l));
                // The final outcome's status: the leader's record may also keep the status
                // of an earlier attempt (a 503 before a network error), which was its own.
                let status = |i: usize| records[i].error.as_ref().and_then(Error::status);
                prop_assert_eq!(status(c), status(l));
                prop_assert_eq!(record.status, status(l));
                let name = format!("c{c}");
                prop_assert_eq!(
                    records[c].error.as_ref().and_then(Error::call),
                    Some(name.as_str()),
                    "c{}'s error names it",
                    c
                );
            }
            // Its request was aborted, or never left the queue.
            CallState::Cancelled | CallState::NotSent => {
                prop_assert_eq!(
                    mine,
                    CallState::Cancelled,
                    "c{} shares c{}, {:?}",
                    c,
                    l,
                    theirs
                );
            }
            other => prop_assert!(false, "c{} shares c{}, which is {:?}", c, l, other),
        }
    }
    // From the wire: each read's requests are one call's attempts, never overlapping.
    let mut keys: Vec<&str> = heard
        .iter()
        .filter(|h| h.method != Method::Post)
        .map(|h| h.key.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let requests: Vec<&Heard> = heard.iter().filter(|h| h.key == key).collect();
        let senders: Vec<usize> = (0..n)
            .filter(|&c| case.read_key(c).as_deref() == Some(key) && records[c].attempts > 0)
            .collect();
        let sent: u32 = senders.iter().map(|&c| records[c].attempts).sum();
        prop_assert_eq!(
            requests.len(),
            sent as usize,
            "{}: requests vs attempts",
            key
        );
        if case.dedupe {
            prop_assert!(senders.len() <= 1, "{} was requested by {:?}", key, senders);
            for pair in requests.windows(2) {
                prop_assert!(
                    pair[0].end.is_some_and(|e| e <= pair[1].start),
                    "{} was in flight twice at once: {:?}",
                    key,
                    pair
                );
            }
        }
    }
    let writes = heard.iter().filter(|h| h.method == Method::Post).count();
    let write_attempts: u32 = (0..n)
        .filter(|&c| case.calls[c].method == Method::Post)
        .map(|c| records[c].attempts)
        .sum();
    prop_assert_eq!(writes, write_attempts as usize, "every write sends its own");
    // Every call settled: none is left without an outcome while nothing failed.
    if out.error.is_none() {
        for (c, record) in records.iter().enumerate() {
            prop_assert!(
                !matches!(record.state, CallState::NotSent | CallState::Cancelled),
                "c{} is {:?} though nothing failed",
                c,
                record.state
            );
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
            EventKind::Start { attempt, .. } => {
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

/// Each terminal event, and no other, carries the call's final record, and its value
/// exactly when the outcome holds one: so one value per call whose value is known, in the
/// order the calls settled.
fn values_keep_their_contract(o: &Observed) -> Result<(), TestCaseError> {
    let terminal = o.events.iter().filter(|e| e.1.is_terminal());
    prop_assert_eq!(
        terminal.count(),
        o.told.len(),
        "a record on each terminal event only"
    );
    for (c, value, record) in &o.told {
        let c = *c;
        prop_assert_eq!(value.as_ref(), o.out.replies[c].as_ref(), "c{}'s value", c);
        prop_assert_eq!(record, &o.out.records[c], "c{}'s final record", c);
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
        values_keep_their_contract(&o)?;
    }

    #[test]
    fn attempts_stay_within_the_cap_and_retries_within_the_budget(case in case()) {
        let o = simulate(&case, None);
        wire_is_sane(&case, &o)?;
        retries_within_limits(&case, &o)?;
    }

    /// Under concurrency limits every property above still holds (eager's start times
    /// shifted by each call's time in the queue), no more requests than the limits allow
    /// are ever on the wire, a limit never leaves a slot idle while a call waits for it,
    /// calls queue first come first served, and every call settles.
    #[test]
    fn concurrency_limits_bound_the_wire_and_every_call_settles(case in limited_case()) {
        let o = simulate(&case, None);
        wire_is_sane(&case, &o)?;
        inputs_come_first(&case, &o)?;
        states(&case, &o)?;
        failures_skip_descendants(&case, &o)?;
        retries_within_limits(&case, &o)?;
        within_limits(&case, &o)?;
        values_keep_their_contract(&o)?;
    }

    /// Identical reads (same method, filled-in URL and headers) are requested once, by
    /// one call, and every other call that makes one shares its outcome, under any
    /// schedule, failures, retries and concurrency limit.
    #[test]
    fn each_distinct_read_is_requested_once_and_shared(case in share_case(0u32..=3)) {
        let (_, out, heard) = simulate_sharing(&case);
        sharing_is_sound(&case, &out, &heard)?;
    }

    /// Without failures, sharing changes nothing a caller reads: the same data with the
    /// dedupe on and off, and with it on, exactly one request per distinct read.
    #[test]
    fn dedupe_changes_the_requests_not_the_data(case in share_case(Just(0u32))) {
        let on = ShareCase { dedupe: true, ..case.clone() };
        let off = ShareCase { dedupe: false, ..case };
        let (_, a, heard_on) = simulate_sharing(&on);
        let (_, b, heard_off) = simulate_sharing(&off);
        sharing_is_sound(&on, &a, &heard_on)?;
        sharing_is_sound(&off, &b, &heard_off)?;
        prop_assert!(a.error.is_none() && b.error.is_none());
        prop_assert_eq!(&a.replies, &b.replies);
        let mut reads: Vec<String> = (0..on.calls.len()).filter_map(|c| on.read_key(c)).collect();
        reads.sort_unstable();
        reads.dedup();
        let sent = heard_on.iter().filter(|h| h.method != Method::Post).count();
        prop_assert_eq!(sent, reads.len(), "one request per distinct read");
        prop_assert_eq!(heard_off.len(), on.calls.len(), "one request per call when off");
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

/// How a composition is cut short: by its deadline, or by the caller's abort, at `at` ms.
#[derive(Clone, Copy, Debug)]
struct Cut {
    at: u32,
    abort: bool,
}

/// Runs `case` until it ends or is cut, with or without an operationId; returns the
/// outcome and what the network saw.
fn simulate_cut(
    case: &Case,
    cut: Cut,
    operation: bool,
) -> (Outcome<Json>, Vec<crate::tests::sim::Seen>) {
    let plan = case.plan();
    let calls = case.calls.clone();
    let sent: Rc<RefCell<Vec<usize>>> = Rc::new(RefCell::new(vec![0; calls.len()]));
    let sim = Sim::new(move |req: &Request<Json>| -> Answer {
        let i: usize = req
            .url
            .split('?')
            .next()
            .and_then(|p| p.rsplit_once("/c"))
            .and_then(|(_, n)| n.parse().ok())
            .expect("a generated URL");
        let k = std::mem::replace(&mut sent.borrow_mut()[i], 0);
        sent.borrow_mut()[i] = k + 1;
        let (ms, fate) = calls[i].answer(k);
        let result = match fate {
            Fate::Ok => Ok(Reply::new(
                200,
                Json::Object(vec![("id".into(), Json::String(format!("c{i}")))]),
            )),
            Fate::Status(s) => Err(TransportError::Status(s)),
            Fate::Network => Err(TransportError::Network("connection reset".into())),
        };
        (f64::from(ms), result)
    });
    let settings = Settings {
        operation_id: operation.then(|| "op".to_owned()),
        retry: RetryPolicy {
            max_attempts: case.max_attempts,
            ..RetryPolicy::default()
        },
        deadline_ms: (!cut.abort).then_some(f64::from(cut.at)),
        ..Settings::from(case.schedule)
    };
    let abort = {
        let sim = sim.clone();
        async move {
            if cut.abort {
                sim.sleep(f64::from(cut.at)).await;
            } else {
                std::future::pending::<()>().await;
            }
        }
    };
    let out = sim.block_on(run(
        &plan,
        &Json::Object(Vec::new()),
        &sim,
        &sim,
        &NoHooks,
        settings,
        abort,
    ));
    (out, sim.seen())
}

proptest! {
    #![proptest_config(config(256))]

    /// The deadline or an abort fails a composition only while a required call is
    /// unfinished: once every required call succeeded (or was skipped after an optional
    /// failure) it resolves, whatever optional calls were still doing; those end
    /// `cancelled` (a read, or never started) or `unknown` (a write in flight), naming
    /// what stopped them. Nothing starts after the cut, and the advice to resubmit agrees
    /// with what was left.
    #[test]
    fn the_deadline_or_an_abort_fails_only_an_unfinished_composition(
        case in case(),
        at in 1u32..=600,
        abort in any::<bool>(),
        operation in any::<bool>(),
    ) {
        let cut = Cut { at, abort };
        let (out, seen) = simulate_cut(&case, cut, operation);
        let plan = case.plan();
        let required = || plan.calls().iter().zip(&out.records).filter(|(c, _)| !c.optional);
        // Resolved: every required call succeeded, or was skipped after an optional call
        // failed. Cut short: some required call had not succeeded (a call skipped because
        // the cut stopped what it needed had not).
        match out.error.as_ref().map(Error::kind) {
            None => prop_assert!(
                required().all(|(_, r)| matches!(r.state, CallState::Ok | CallState::Skipped)),
                "resolved with a required call unfinished"
            ),
            Some(crate::error::ErrorKind::Aborted | crate::error::ErrorKind::Timeout) => prop_assert!(
                required().any(|(_, r)| r.state != CallState::Ok),
                "{:?} with every required call done", out.error.as_ref().map(Error::message)
            ),
            Some(_) => {}
        }
        for s in &seen {
            prop_assert!(s.start <= f64::from(cut.at), "a request started at {} after the cut at {}", s.start, cut.at);
        }
        if out.error.is_none() {
            for (c, r) in out.records.iter().enumerate() {
                prop_assert!(r.state != CallState::NotSent, "c{} left not-sent in a resolved composition", c);
                if matches!(r.state, CallState::Cancelled | CallState::Unknown) {
                    let e = r.error.as_ref();
                    prop_assert!(e.is_some(), "c{} {:?} without a reason", c, r.state);
                    let kind = e.unwrap().kind();
                    if !matches!(kind, crate::error::ErrorKind::Network | crate::error::ErrorKind::HttpStatus) {
                        let expected = if cut.abort { crate::error::ErrorKind::Aborted } else { crate::error::ErrorKind::Timeout };
                        prop_assert_eq!(kind, expected, "c{}", c);
                    }
                }
            }
            prop_assert_eq!(out.resubmit(), None);
        } else {
            let unknown = out.records.iter().any(|r| r.state == CallState::Unknown);
            if unknown {
                prop_assert_eq!(out.resubmit(), Some(crate::Resubmit::SameOperation));
            }
        }
    }
}
