//! The scheduler over the simulated network: schedules, failures, aborts, time limits,
//! retries, fallbacks and the deadline, with exact virtual times.

use crate::engine::hooks::Hooks;
use crate::engine::hooks::NoHooks;
use crate::engine::idempotency::IDEMPOTENCY_KEY;
use crate::engine::outcome::Outcome;
use crate::engine::record::CallState;
use crate::engine::run::run;
use crate::engine::scope::Scope;
use crate::engine::settings::{Schedule, Settings};
use crate::engine::transport::{Reply, TransportError};
use crate::error::{Error, ErrorKind};
use crate::plan::json::Json;
use crate::plan::value::Value;
use crate::plan::Method;
use crate::plan::Plan;
use crate::tests::sim::{json, plan};
use crate::tests::sim::{service, Answer, Lcg, Sim};
use std::collections::HashMap;

/// A network where service `name` takes `latency[name]` ms and echoes its name.
fn network(latency: &[(&str, f64)]) -> Sim {
    let latency: HashMap<String, f64> = latency.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    Sim::new(move |req| -> Answer {
        let name = service(&req.url);
        let ms = latency.get(&name).copied().unwrap_or(10.0);
        (
            ms,
            Ok(Reply {
                bytes: 0,
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
        match service(&req.url).as_str() {
            // 500 is not transient, so it is not retried.
            "bad" => (50.0, Err(TransportError::Status(500))),
            name => (
                200.0,
                Ok(Reply {
                    bytes: 0,
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
        match service(&req.url).as_str() {
            "bad" => (5.0, Err(TransportError::Status(404))),
            _ => (
                10.0,
                Ok(Reply {
                    bytes: 0,
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
        match service(&req.url).as_str() {
            "bad" => (
                5.0,
                Err(TransportError::Network("connection refused".into())),
            ),
            _ => (
                10.0,
                Ok(Reply {
                    bytes: 0,
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
        match service(&req.url).as_str() {
            "pay" => (
                10.0,
                Ok(Reply {
                    bytes: 0,
                    status: 201,
                    body: json(r#"{"status":"declined"}"#),
                    replayed: false,
                }),
            ),
            _ => (
                10.0,
                Ok(Reply {
                    bytes: 0,
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
        match service(&req.url).as_str() {
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
        let name = service(&req.url);
        let mut seen = count.borrow_mut();
        let n = seen.entry(name).or_default();
        *n += 1;
        if *n <= failures {
            (10.0, Err(error.clone()))
        } else {
            (
                10.0,
                Ok(Reply {
                    bytes: 0,
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
            let name = service(&req.url);
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
                        bytes: 0,
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
    let sim =
        Sim::new(|_| -> Answer { (1.0, Err(TransportError::Network("Failed to fetch".into()))) });
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

/// Three independent writes; the caller aborts from inside the send of the first (as an
/// injected `fetch` that calls `controller.abort()` does).
fn aborted_from_inside_the_first_send(schedule: Schedule) -> (Outcome<Json>, Sim) {
    let p = plan(
        r#"{"calls":{"a":{"url":"http://svc/a","method":"POST"},
        "b":{"url":"http://svc/b","method":"POST"},
        "c":{"url":"http://svc/c","method":"POST"}}}"#,
    );
    let (abort, aborted) = futures::channel::oneshot::channel::<()>();
    let abort = std::cell::RefCell::new(Some(abort));
    let sim = Sim::new(move |_| -> Answer {
        if let Some(abort) = abort.borrow_mut().take() {
            let _ = abort.send(());
        }
        (10.0, Ok(Reply::new(201, json("{}"))))
    });
    let cancel = async {
        let _ = aborted.await;
    };
    let out = sim.block_on(run(&p, &json("{}"), &sim, &sim, &NoHooks, schedule, cancel));
    (out, sim)
}

#[test]
fn an_abort_during_a_send_stops_the_calls_not_yet_sent() {
    for schedule in [Schedule::Eager, Schedule::Stages] {
        let (out, sim) = aborted_from_inside_the_first_send(schedule);
        assert_eq!(
            sim.seen().len(),
            1,
            "{}: nothing is sent after the abort",
            schedule.as_str()
        );
        assert_eq!(out.error.unwrap().kind(), ErrorKind::Aborted);
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                CallState::Unknown,
                CallState::Cancelled,
                CallState::Cancelled
            ],
            "{}",
            schedule.as_str()
        );
    }
}

/// Three calls released by one reply, in plan order `short`, `mid`, `long`, with chains of
/// one, two and three calls behind them.
const FAN: &str = r#"{"calls":{
    "root":  {"url":"http://svc/root"},
    "short": {"url":"http://svc/short","after":["root"]},
    "mid":   {"url":"http://svc/mid","after":["root"]},
    "long":  {"url":"http://svc/long","after":["root"]},
    "m2":    {"url":"http://svc/m2","after":["mid"]},
    "l2":    {"url":"http://svc/l2","after":["long"]},
    "l3":    {"url":"http://svc/l3","after":["l2"]}
}}"#;

fn sent_order(sim: &Sim) -> Vec<String> {
    sim.seen().iter().map(|s| service(&s.request.url)).collect()
}

#[test]
fn eager_starts_calls_ready_together_longest_chain_first() {
    let p = plan(FAN);
    let chains: Vec<usize> = p.calls().iter().map(|c| c.chain).collect();
    assert_eq!(chains, [4, 1, 2, 3, 1, 2, 1]);
    let sim = network(&[]);
    let out = go(&sim, &p, "{}", Schedule::Eager);
    assert!(out.error.is_none());
    assert_eq!(sent_order(&sim)[..4], ["root", "long", "mid", "short"]);
}

#[test]
fn stages_and_sequential_keep_stage_then_plan_order() {
    for schedule in [Schedule::Stages, Schedule::Sequential] {
        let sim = network(&[]);
        go(&sim, &plan(FAN), "{}", schedule);
        assert_eq!(
            sent_order(&sim),
            ["root", "short", "mid", "long", "m2", "l2", "l3"],
            "{schedule:?}"
        );
    }
}
