//! Dedupe: identical reads within one composition are sent once, in the style of
//! dataloader.
//!
//! Two calls make the same read when, once their placeholders are filled, they have the
//! same method (`GET`, or `HEAD`), the same URL, the same headers (names in any case and
//! order) and the same time limit. The first call to become ready sends the request (the
//! *leader*); a call that becomes ready while that request is in flight, waiting to
//! retry or queued, joins it; one that becomes ready after it ended reuses its outcome at
//! once. Such a call sends nothing: its record says `sharedFrom: <leader>` and
//! `attempts: 0`.
//!
//! What each sharer gets is the request's final outcome, after the leader's retries
//! (retries are the request's, so a sharer never retries on its own), and the call's own
//! rules then apply to it as if it had sent the request: its own record and error (the
//! message names the call itself), its own `optional` and `fallback`, and whether its
//! reply must be JSON. A failure therefore fails every sharer, each with its own record,
//! and fails the composition if any of them is required. A sharer's `startMs` is when it
//! joined, its `endMs` when the outcome reached it, and its `status` the final answer's
//! (the leader's record may also keep the status of an earlier attempt of its own).
//!
//! Choices, and why:
//! - **Only reads.** A write has effects; two identical writes are two intents, so they
//!   are always sent, whatever their headers.
//! - **The time limit is part of the identity.** Calls with different `timeoutMs` each
//!   send their own request: sharing would cut one short or hold the other past its
//!   limit. A call that joins a request in flight may then hear its timeout sooner than
//!   its own limit, never later. The other limits (`maxAttempts`, `maxResponseBytes`,
//!   `deadlineMs`, credentials by origin) are the composition's, the same for all.
//! - **Trace context is not.** A `traceparent` or `tracestate` header names the call
//!   that carries it, not what it asks for; the shared request carries the leader's.
//! - **One reply object.** Sharers get the very same parsed reply: `data.a === data.b`.
//!   The engine never changes a reply; a page that mutates one and wants the other kept
//!   copies it first (`structuredClone`). Copying every shared reply would cost what the
//!   dedupe saves.
//! - **Aborts.** An abort, the deadline, or a failure elsewhere that aborts reads, aborts
//!   the shared request and marks every call waiting on it `cancelled`.
//!
//! `options.dedupe: false` turns it off. When on, each read costs a hash of its method,
//! URL and headers, a probe of a `HashMap` and a copy of its outcome's handle (a reply
//! stays one JS object), except a read the plan itself shows no other call can repeat
//! (`plan/repeats.rs`: its URL is fixed and no other read's could be the same), which
//! skips all of it.

use crate::engine::record::CallRecord;
use crate::engine::transport::Request;
use crate::engine::transport::Sent;
use crate::plan::Method;
use futures::channel::oneshot;
use rustc_hash::{FxHashMap as HashMap, FxHasher};
use std::hash::{Hash, Hasher};

/// The requests sent so far, by what they ask for, and the calls sharing them.
pub(crate) struct Dedupe<V> {
    on: bool,
    /// The last entry made for each fingerprint of a request; the fingerprint only finds
    /// candidates (the entries chained from it by [`Entry::same_print`]), the whole
    /// request is compared before sharing. A chain rather than a list per fingerprint:
    /// a list was an allocation for every read.
    index: HashMap<u64, usize>,
    entries: Vec<Entry<V>>,
    /// Per call: the entry it leads, if any.
    leads: Vec<Option<usize>>,
}

struct Entry<V> {
    leader: usize,
    /// The entry made before this one for the same fingerprint.
    same_print: Option<usize>,
    timeout_ms: f64,
    /// The leader's last attempt's outcome; final once `done`.
    outcome: Option<Sent<V>>,
    done: bool,
    /// Calls waiting for the final outcome, and where to send it.
    waiting: Vec<(usize, oneshot::Sender<Sent<V>>)>,
}

impl<V> std::fmt::Debug for Dedupe<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dedupe")
            .field("on", &self.on)
            .field("requests", &self.entries.len())
            .finish()
    }
}

/// Headers that say who sends a request rather than what it asks (the reply cache's keys
/// leave them out too, `cache.rs`).
pub(crate) fn ignored(name: &str) -> bool {
    name.eq_ignore_ascii_case("traceparent") || name.eq_ignore_ascii_case("tracestate")
}

/// `value`'s FxHash: the fingerprints here, the reply cache's keys.
pub(crate) fn hash_one(value: impl Hash) -> u64 {
    let mut hasher = FxHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

/// What a request asks for, as a number: equal requests get equal fingerprints. Headers
/// count in any order and their names in any case, so theirs are summed.
fn fingerprint<V>(request: &Request<V>, timeout_ms: f64) -> u64 {
    let headers = request
        .headers
        .iter()
        .filter(|(name, _)| !ignored(name))
        .fold(0u64, |sum, (name, value)| {
            sum.wrapping_add(hash_one((name.to_ascii_lowercase(), value)))
        });
    hash_one((
        request.method.as_str(),
        &request.url,
        headers,
        timeout_ms.to_bits(),
    ))
}

/// Whether every header of `a` that counts is one of `b`'s (names in any case).
fn headers_within(a: &[(String, String)], b: &[(String, String)]) -> bool {
    a.iter()
        .filter(|(name, _)| !ignored(name))
        .all(|(name, value)| {
            b.iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value)
        })
}

fn same<V>(a: &Request<V>, b: &Request<V>) -> bool {
    let counted = |r: &Request<V>| r.headers.iter().filter(|(n, _)| !ignored(n)).count();
    a.method == b.method
        && a.url == b.url
        && counted(a) == counted(b)
        && headers_within(&a.headers, &b.headers)
        && headers_within(&b.headers, &a.headers)
}

/// Call `leader`'s read stands for this call's, from `now` on.
pub(crate) fn follow(record: &mut CallRecord, leader: usize, now: f64) {
    record.shared_from = Some(leader);
    record.start_ms = Some(now);
}

/// A call's share of another call's read: the leader, and its outcome, known already or
/// to come.
pub(crate) struct Shared<V> {
    leader: usize,
    outcome: Result<Sent<V>, oneshot::Receiver<Sent<V>>>,
}

impl<V> Shared<V> {
    /// The call whose request stands for this one's.
    pub(crate) fn leader(&self) -> usize {
        self.leader
    }

    /// The read's final outcome, after the leader's retries. (When the leader is stopped
    /// first, so is every call waiting on it: see [`Dedupe::drop_waiting`].)
    pub(crate) async fn outcome(self) -> Sent<V> {
        match self.outcome {
            Ok(outcome) => outcome,
            Err(later) => later.await.unwrap_or_else(|_| {
                Err(crate::engine::transport::TransportError::Network(
                    "the shared request was stopped".into(),
                ))
            }),
        }
    }
}

impl<V: Clone> Dedupe<V> {
    /// A dedupe over `calls` calls that shares nothing when `on` is false.
    pub(crate) fn new(on: bool, calls: usize) -> Self {
        Dedupe {
            on,
            index: HashMap::default(),
            entries: Vec::new(),
            leads: if on { vec![None; calls] } else { Vec::new() },
        }
    }

    /// Call `i` is about to send `request` with a time limit of `timeout_ms`. Returns its
    /// share of an identical read (its outcome known at once if that read ended, or when
    /// it does), or `None` when it sends its own and leads it for the calls after it.
    /// `sent` holds the requests of the calls before it.
    pub(crate) fn share(
        &mut self,
        i: usize,
        request: &Request<V>,
        timeout_ms: f64,
        sent: &[Option<Request<V>>],
    ) -> Option<Shared<V>> {
        if !self.on || !matches!(request.method, Method::Get | Method::Head) {
            return None;
        }
        let key = fingerprint(request, timeout_ms);
        let last = self.index.get(&key).copied();
        let mut candidates = std::iter::successors(last, |&e| self.entries[e].same_print);
        let found = candidates.find(|&e| {
            let entry = &self.entries[e];
            entry.timeout_ms == timeout_ms
                && sent[entry.leader]
                    .as_ref()
                    .is_some_and(|l| same(l, request))
        });
        let Some(e) = found else {
            let e = self.entries.len();
            self.index.insert(key, e);
            if let Some(lead) = self.leads.get_mut(i) {
                *lead = Some(e);
            }
            self.entries.push(Entry {
                leader: i,
                same_print: last,
                timeout_ms,
                outcome: None,
                done: false,
                waiting: Vec::new(),
            });
            return None;
        };
        let entry = &mut self.entries[e];
        let outcome = match (&entry.outcome, entry.done) {
            (Some(outcome), true) => Ok(outcome.clone()),
            _ => {
                let (tell, told) = oneshot::channel();
                entry.waiting.push((i, tell));
                Err(told)
            }
        };
        Some(Shared {
            leader: entry.leader,
            outcome,
        })
    }

    /// Room for `m` more calls: a fan-out call's items.
    pub(crate) fn grow(&mut self, m: usize) {
        if self.on {
            self.leads.resize(self.leads.len() + m, None);
        }
    }

    fn led_by(&mut self, i: usize) -> Option<&mut Entry<V>> {
        let e = (*self.leads.get(i)?)?;
        self.entries.get_mut(e)
    }

    /// An attempt of call `i` ended with `result`: kept if `i` leads a read.
    pub(crate) fn keep(&mut self, i: usize, result: &Sent<V>) {
        if let Some(entry) = self.led_by(i) {
            entry.outcome = Some(result.clone());
        }
    }

    /// Call `i`'s last kept outcome is final (no retry follows): the calls waiting for
    /// its read get it, in the order they joined, and later ones reuse it.
    pub(crate) fn settled(&mut self, i: usize) {
        let Some(entry) = self.led_by(i) else {
            return;
        };
        entry.done = true;
        let waiting = std::mem::take(&mut entry.waiting);
        if let Some(outcome) = &entry.outcome {
            for (_, tell) in waiting {
                let _ = tell.send(outcome.clone());
            }
        }
    }

    /// The composition stops: the calls waiting for a read that will not end (it is
    /// aborted with them) stop waiting.
    pub(crate) fn drop_waiting(&mut self) -> Vec<usize> {
        let mut dropped = Vec::new();
        for entry in &mut self.entries {
            dropped.extend(entry.waiting.drain(..).map(|(f, _)| f));
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::hooks::NoHooks;
    use crate::engine::outcome::Outcome;
    use crate::engine::record::CallState;
    use crate::engine::run::run;
    use crate::engine::settings::{Schedule, Settings};
    use crate::engine::transport::{Reply, TransportError};
    use crate::error::ErrorKind;
    use crate::plan::json::Json;
    use crate::plan::Plan;
    use crate::tests::sim::{json, plan, Answer, Sim};

    fn ok(ms: f64, body: &str) -> Answer {
        (
            ms,
            Ok(Reply {
                bytes: 0,
                status: 200,
                body: json(body),
                replayed: false,
            }),
        )
    }

    /// Echoes each request's path and headers after `ms`; the last path segment may
    /// pick a failure: `/404`, `/503-once`, `/empty`, `/huge`, `/hang`.
    fn network(ms: f64) -> Sim {
        let failed = std::rc::Rc::new(std::cell::Cell::new(false));
        Sim::new(move |req| -> Answer {
            let path = req.url.trim_start_matches("http://svc");
            let last = path.rsplit('/').next().unwrap_or_default();
            match last {
                "404" => (ms, Err(TransportError::Status(404))),
                "503-once" if !failed.replace(true) => (ms, Err(TransportError::Status(503))),
                "empty" => (
                    ms,
                    Err(TransportError::Empty {
                        status: 204,
                        content_type: None,
                    }),
                ),
                "huge" => (
                    ms,
                    Err(TransportError::TooLarge {
                        status: 200,
                        limit: 10,
                        declared: Some(20),
                    }),
                ),
                "hang" => ok(1e9, "{}"),
                _ => ok(
                    ms,
                    &format!(r#"{{"path":"{path}","headers":{}}}"#, req.headers.len()),
                ),
            }
        })
    }

    fn go(sim: &Sim, p: &Plan, settings: impl Into<Settings>) -> Outcome<Json> {
        crate::tests::sim::run_to_end(sim, p, &json(r#"{"id":"7"}"#), settings)
    }

    fn at(p: &Plan, name: &str) -> usize {
        p.position(name).unwrap()
    }

    #[test]
    fn identical_gets_in_flight_together_share_one_request() {
        // `a` and `b` fill in to the same URL from different templates; `c` differs.
        let p = plan(
            r#"{"calls":{
            "a":{"url":"http://svc/users/{input.id}","headers":{"X-A":"1","x-b":"2"}},
            "b":{"url":"http://svc/users/7","headers":{"x-B":"2","X-a":"1"}},
            "c":{"url":"http://svc/users/7","headers":{"X-A":"1"}}
        }}"#,
        );
        let sim = network(100.0);
        let out = go(&sim, &p, Schedule::Eager);
        assert!(out.error.is_none());
        assert_eq!(sim.seen().len(), 2, "a and b share; c has other headers");
        let (a, b, c) = (&out.records[0], &out.records[1], &out.records[2]);
        assert_eq!((a.shared_from, a.attempts), (None, 1));
        assert_eq!((b.shared_from, b.attempts), (Some(0), 0));
        assert_eq!((c.shared_from, c.attempts), (None, 1));
        assert_eq!(
            (b.state, b.status, b.start_ms, b.end_ms),
            (CallState::Ok, Some(200), Some(0.0), Some(100.0))
        );
        assert_eq!(out.replies[0], out.replies[1]);

        let sim = network(100.0);
        let out = go(
            &sim,
            &p,
            Settings {
                dedupe: false,
                ..Settings::from(Schedule::Eager)
            },
        );
        assert_eq!(sim.seen().len(), 3, "dedupe: false sends each");
        assert!(out
            .records
            .iter()
            .all(|r| r.shared_from.is_none() && r.attempts == 1));
    }

    #[test]
    fn a_read_ready_after_the_request_ended_reuses_its_reply_at_once() {
        let p = plan(
            r#"{"calls":{
            "a":{"url":"http://svc/x"},
            "slow":{"url":"http://svc/slow"},
            "b":{"url":"http://svc/x","after":["slow"]}
        }}"#,
        );
        let sim = Sim::new(|req| {
            let ms = if req.url.ends_with("slow") {
                300.0
            } else {
                100.0
            };
            ok(ms, r#"{"x":1}"#)
        });
        let out = go(&sim, &p, Schedule::Eager);
        let b = &out.records[at(&p, "b")];
        assert_eq!((b.start_ms, b.end_ms), (Some(300.0), Some(300.0)));
        assert_eq!((b.shared_from, b.attempts), (Some(0), 0));
        assert_eq!(out.replies[0], out.replies[2]);
        assert_eq!(sim.seen().len(), 2);
    }

    #[test]
    fn writes_and_reads_of_other_methods_or_time_limits_are_never_shared() {
        let p = plan(
            r#"{"calls":{
            "p1":{"url":"http://svc/w","method":"POST","headers":{"Idempotency-Key":"k"}},
            "p2":{"url":"http://svc/w","method":"POST","headers":{"Idempotency-Key":"k"}},
            "d1":{"url":"http://svc/w","method":"DELETE"},
            "d2":{"url":"http://svc/w","method":"DELETE"},
            "h1":{"url":"http://svc/w","method":"HEAD"},
            "h2":{"url":"http://svc/w","method":"HEAD"},
            "g1":{"url":"http://svc/w"},
            "g2":{"url":"http://svc/w","timeoutMs":5000},
            "g3":{"url":"http://svc/w","timeoutMs":10000}
        }}"#,
        );
        let sim = network(10.0);
        let out = go(&sim, &p, Schedule::Eager);
        assert!(out.error.is_none());
        let shared: Vec<Option<usize>> = out.records.iter().map(|r| r.shared_from).collect();
        let (h1, g1) = (at(&p, "h1"), at(&p, "g1"));
        assert_eq!(
            shared,
            [None, None, None, None, None, Some(h1), None, None, Some(g1)],
            "only HEAD with HEAD, and the GET whose limit is the default 10 s"
        );
        assert_eq!(sim.seen().len(), 7);
    }

    #[test]
    fn a_shared_failure_fails_each_sharer_under_its_own_rules() {
        let p = plan(
            r#"{"calls":{
            "opt":{"url":"http://svc/404","optional":true},
            "fb":{"url":"http://svc/404","fallback":{"n":0}},
            "req":{"url":"http://svc/404"}
        }}"#,
        );
        let sim = network(50.0);
        let out = go(&sim, &p, Schedule::Eager);
        assert_eq!(sim.seen().len(), 1);
        let e = out.error.unwrap();
        assert_eq!(
            (e.kind(), e.call(), e.status()),
            (ErrorKind::HttpStatus, Some("req"), Some(404))
        );
        assert_eq!(
            e.message(),
            "call `req` (GET http://svc/404) failed: the service answered HTTP 404"
        );
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(states, [CallState::Failed; 3]);
        assert!(out
            .records
            .iter()
            .all(|r| r.status == Some(404) && r.end_ms == Some(50.0)));
        assert!(out.records[1].fell_back);
        assert_eq!(out.replies[1], Some(json(r#"{"n":0}"#)));
        let messages: Vec<String> = out
            .records
            .iter()
            .map(|r| r.error.as_ref().unwrap().call().unwrap().to_owned())
            .collect();
        assert_eq!(
            messages,
            ["opt", "fb", "req"],
            "each record names its own call"
        );
    }

    #[test]
    fn sharers_wait_through_the_leaders_retries_and_never_retry_themselves() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/503-once"},"b":{"url":"http://svc/503-once"}}}"#,
        );
        let sim = network(10.0);
        let out = go(&sim, &p, Schedule::Eager);
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(sim.seen().len(), 2, "two attempts of one request");
        assert_eq!(out.records[0].attempts, 2);
        assert_eq!(out.records[1].attempts, 0);
        assert_eq!(out.records[1].end_ms, out.records[0].end_ms);
        assert_eq!(out.records[1].state, CallState::Ok);

        // With one attempt allowed, the 503 is final for both: b does not try again.
        let sim = network(10.0);
        let out = go(
            &sim,
            &p,
            Settings {
                retry: crate::engine::retry::RetryPolicy {
                    max_attempts: 1,
                    ..Default::default()
                },
                ..Settings::from(Schedule::Eager)
            },
        );
        assert_eq!(sim.seen().len(), 1);
        assert_eq!(out.records[1].state, CallState::Failed);
    }

    #[test]
    fn whether_an_empty_reply_is_an_error_is_each_callers_own() {
        // `quiet`'s reply is read by nobody: empty is null. `read`'s is read by `next`:
        // empty is a bad response, though it is the same request.
        let p = plan(
            r#"{"calls":{
            "quiet":{"url":"http://svc/empty"},
            "read":{"url":"http://svc/empty","optional":true},
            "next":{"url":"http://svc/n/{read.id}"}
        }}"#,
        );
        let sim = network(10.0);
        let out = go(&sim, &p, Schedule::Eager);
        assert_eq!(sim.seen().len(), 1);
        assert_eq!(out.records[0].state, CallState::Ok);
        assert_eq!(out.replies[0], Some(Json::Null));
        assert_eq!(out.records[1].state, CallState::Failed);
        let e = out.records[1].error.as_ref().unwrap();
        assert_eq!((e.kind(), e.call()), (ErrorKind::BadResponse, Some("read")));
        assert_eq!(out.records[2].state, CallState::Skipped);
    }

    #[test]
    fn a_reply_over_the_byte_cap_fails_every_sharer() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/huge"},"b":{"url":"http://svc/huge","optional":true}}}"#,
        );
        let sim = network(10.0);
        let out = go(&sim, &p, Schedule::Eager);
        assert_eq!(sim.seen().len(), 1);
        for r in &out.records {
            assert_eq!(
                r.error.as_ref().map(|e| e.kind()),
                Some(ErrorKind::BadResponse)
            );
        }
    }

    #[test]
    fn an_abort_cancels_the_shared_request_and_everyone_waiting_on_it() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/hang"},"b":{"url":"http://svc/hang"},"c":{"url":"http://svc/hang"}}}"#,
        );
        let sim = network(10.0);
        let out = sim.block_on(run(
            &p,
            &Json::Null,
            &sim,
            &sim,
            &NoHooks,
            Schedule::Eager,
            sim.sleep(40.0),
        ));
        assert_eq!(out.error.unwrap().kind(), ErrorKind::Aborted);
        assert!(out
            .records
            .iter()
            .all(|r| r.state == CallState::Cancelled && r.end_ms == Some(40.0)));
        let seen = sim.seen();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].aborted);
    }

    #[test]
    fn a_leaders_timeout_is_its_sharers_and_their_messages_name_them() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/hang","timeoutMs":50,"optional":true},
            "b":{"url":"http://svc/hang","timeoutMs":50}}}"#,
        );
        let sim = network(10.0);
        let out = go(&sim, &p, Schedule::Eager);
        let e = out.error.unwrap();
        assert_eq!((e.kind(), e.call()), (ErrorKind::Timeout, Some("b")));
        assert_eq!(
            e.message(),
            "call `b` (GET http://svc/hang) timed out after 50 ms; the request was aborted"
        );
        assert_eq!(out.records[1].end_ms, Some(50.0));
        assert_eq!(sim.seen().len(), 1);
    }

    #[test]
    fn a_queued_leader_is_joined_and_sharers_take_no_slot() {
        let p = plan(
            r#"{"calls":{"busy":{"url":"http://svc/busy"},"a":{"url":"http://svc/x"},"b":{"url":"http://svc/x"}}}"#,
        );
        let sim = network(100.0);
        let out = go(
            &sim,
            &p,
            Settings {
                concurrency: crate::engine::concurrency::Concurrency {
                    max: Some(1),
                    per_origin: None,
                },
                ..Settings::from(Schedule::Eager)
            },
        );
        assert!(out.error.is_none());
        assert_eq!(sim.seen().len(), 2);
        let (a, b) = (&out.records[1], &out.records[2]);
        assert_eq!(
            (a.start_ms, a.queued_ms, a.end_ms),
            (Some(100.0), 100.0, Some(200.0))
        );
        assert_eq!(
            (b.start_ms, b.queued_ms, b.end_ms),
            (Some(0.0), 0.0, Some(200.0))
        );
        assert_eq!(b.shared_from, Some(1));
    }
}
