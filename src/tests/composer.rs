//! A composer's memory on the simulated network: the reply cache (freshness, staleness,
//! eviction, keys, sharing in flight, invalidation), prefetch, hedged reads and their
//! budget, and circuit breakers across compositions.

use crate::engine::breaker::{BreakerPolicy, CircuitState};
use crate::engine::events::{EventKind, OnEvent};
use crate::engine::hooks::NoHooks;
use crate::engine::memory::{Memory, MemoryOptions};
use crate::engine::outcome::Outcome;
use crate::engine::record::CallState;
use crate::engine::run::{run, run_in};
use crate::engine::settings::{Schedule, Settings};
use crate::engine::transport::{BoxFuture, Clock, Reply, Request, TransportError};
use crate::error::ErrorKind;
use crate::plan::json::Json;
use crate::plan::reuse::HedgePolicy;
use crate::plan::Plan;
use crate::tests::sim::{json, plan, service, Answer, Sim};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A memory over `sim`'s clock whose background work is kept in `spawned`, to be driven
/// by [`settle`].
fn memory(sim: &Sim, options: MemoryOptions) -> (Memory<Json>, Spawned) {
    let spawned: Spawned = Rc::default();
    let keep = spawned.clone();
    let clock = sim.clone();
    let memory = Memory::new(
        &options,
        Rc::new(move |f| keep.borrow_mut().push(f)),
        Rc::new(move || clock.now()),
    );
    (memory, spawned)
}

type Spawned = Rc<RefCell<Vec<BoxFuture<()>>>>;

/// Drives the background work spawned so far to its end.
fn settle(sim: &Sim, spawned: &Spawned) {
    let all: Vec<_> = spawned.borrow_mut().drain(..).collect();
    sim.block_on(futures::future::join_all(all));
}

/// A composition of `p` through `memory` on `sim`, with the input `{}`.
fn composing<'a>(
    sim: &'a Sim,
    memory: &'a Memory<Json>,
    p: &'a Plan,
    input: &'a Json,
    settings: Settings,
) -> impl std::future::Future<Output = Outcome<Json>> + 'a {
    run_in(
        memory,
        false,
        p,
        input,
        sim,
        sim,
        &NoHooks,
        settings,
        std::future::pending(),
    )
}

fn compose(sim: &Sim, memory: &Memory<Json>, p: &Plan, settings: Settings) -> Outcome<Json> {
    let input = json("{}");
    sim.block_on(composing(sim, memory, p, &input, settings))
}

/// Two compositions at once, with settings `a` and `b`.
fn compose_two(
    sim: &Sim,
    memory: &Memory<Json>,
    p: &Plan,
    (a, b): (Settings, Settings),
) -> (Outcome<Json>, Outcome<Json>) {
    let input = json("{}");
    let both = futures::future::join(
        composing(sim, memory, p, &input, a),
        composing(sim, memory, p, &input, b),
    );
    sim.block_on(both)
}

fn eager() -> Settings {
    Settings::from(Schedule::Eager)
}

/// Waits `ms` virtual milliseconds.
fn wait(sim: &Sim, ms: f64) {
    sim.block_on(sim.sleep(ms));
}

/// A network where every request answers `{"n": <how many requests so far>, "url": ...}`
/// after `ms(url)`.
fn counting(ms: impl Fn(&str) -> f64 + 'static) -> Sim {
    let count = Cell::new(0);
    Sim::new(move |req: &Request<Json>| -> Answer {
        count.set(count.get() + 1);
        let body = Json::Object(vec![
            ("n".into(), Json::Number(count.get() as f64)),
            ("url".into(), Json::String(req.url.clone())),
        ]);
        (
            ms(&req.url),
            Ok(Reply {
                bytes: 100,
                ..Reply::new(200, body)
            }),
        )
    })
}

/// A network where every request answers after `ms`: `status` while the switch it returns
/// is on (as it starts), `{}` with 200 once it is turned off.
fn switchable(ms: f64, status: u16) -> (Sim, Rc<Cell<bool>>) {
    let on = Rc::new(Cell::new(true));
    let failing = on.clone();
    let sim = Sim::new(move |_req: &Request<Json>| -> Answer {
        if failing.get() {
            (ms, Err(TransportError::Status(status)))
        } else {
            (ms, Ok(Reply::new(200, json("{}"))))
        }
    });
    (sim, on)
}

const CACHED: &str = r#"{"calls":{"a":{"url":"http://svc/a","cache":{"maxAgeMs":1000,"staleWhileRevalidateMs":500}}}}"#;

#[test]
fn a_fresh_entry_is_used_without_a_request() {
    let sim = counting(|_| 100.0);
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(CACHED);
    let first = compose(&sim, &memory, &p, eager());
    assert_eq!(first.records[0].cached_age_ms, None);
    assert_eq!(first.records[0].attempts, 1);
    wait(&sim, 400.0);
    let events = Rc::new(RefCell::new(Vec::new()));
    let keep = events.clone();
    let settings = Settings {
        on_event: Some(OnEvent::new(move |e| keep.borrow_mut().push(e.kind))),
        ..eager()
    };
    let second = compose(&sim, &memory, &p, settings);
    assert_eq!(sim.seen().len(), 1, "no second request");
    let record = &second.records[0];
    assert_eq!(record.state, CallState::Ok);
    assert_eq!(record.attempts, 0);
    // As old as the request: asked at 0, answered at 100, used at 500.
    assert_eq!(record.cached_age_ms, Some(500.0));
    assert_eq!(record.start_ms, Some(0.0));
    assert_eq!(second.replies[0], first.replies[0]);
    // Events like any call's, its start marked as attempt 0 with the reply's age.
    let events = events.borrow();
    assert_eq!(
        events[0],
        EventKind::Start {
            attempt: 0,
            cached_age_ms: Some(500.0)
        }
    );
    assert!(matches!(
        events[1],
        EventKind::End {
            attempts: 0,
            state: CallState::Ok,
            ..
        }
    ));
}

#[test]
fn a_stale_entry_is_used_and_refreshed_in_the_background() {
    let sim = counting(|_| 100.0);
    let (memory, spawned) = memory(&sim, MemoryOptions::default());
    let p = plan(CACHED);
    compose(&sim, &memory, &p, eager()); // asked at 0, stored at 100
    wait(&sim, 1200.0); // age 1300: stale, within 500 more
    let stale = compose(&sim, &memory, &p, eager());
    assert_eq!(stale.records[0].cached_age_ms, Some(1300.0));
    assert_eq!(
        stale.records[0].end_ms,
        Some(0.0),
        "the refresh holds nothing open"
    );
    assert_eq!(
        stale.replies[0].as_ref().unwrap().get("n"),
        Some(&Json::Number(1.0))
    );
    assert_eq!(sim.seen().len(), 2, "the refresh was sent");
    // A second stale hit while the refresh runs sends nothing more.
    compose(&sim, &memory, &p, eager());
    assert_eq!(sim.seen().len(), 2);
    settle(&sim, &spawned);
    let fresh = compose(&sim, &memory, &p, eager());
    // The refresh asked at 1300 and was answered at 1400, when this one ran.
    assert_eq!(fresh.records[0].cached_age_ms, Some(100.0));
    assert_eq!(
        fresh.replies[0].as_ref().unwrap().get("n"),
        Some(&Json::Number(2.0))
    );
}

#[test]
fn a_reply_slower_than_its_max_age_is_never_fresh() {
    // Asked at 0 and answered at 500: by then it tells how the service stood up to 500 ms
    // ago, past its 300 ms. Counted from its arrival, it would pass for new.
    let sim = counting(|_| 500.0);
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(r#"{"calls":{"a":{"url":"http://svc/a","cache":{"maxAgeMs":300}}}}"#);
    compose(&sim, &memory, &p, eager());
    let next = compose(&sim, &memory, &p, eager());
    assert_eq!(next.records[0].cached_age_ms, None);
    assert_eq!(sim.seen().len(), 2, "sent again");
}

#[test]
fn an_entry_past_its_staleness_is_fetched_again() {
    let sim = counting(|_| 100.0);
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(CACHED);
    compose(&sim, &memory, &p, eager()); // asked at 0, stored at 100
    wait(&sim, 1401.0); // age 1501: past 1000 + 500
    let again = compose(&sim, &memory, &p, eager());
    assert_eq!(again.records[0].cached_age_ms, None);
    assert_eq!(again.records[0].attempts, 1);
    assert_eq!(sim.seen().len(), 2);
}

#[test]
fn the_key_is_the_filled_in_method_url_headers_and_body() {
    let sim = counting(|_| 10.0);
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(
        r#"{"calls":{
            "a":{"url":"http://svc/q","headers":{"X-A":"1","x-b":"2"},"cache":{"maxAgeMs":1000}},
            "b":{"url":"http://svc/q","headers":{"X-B":"2","x-a":"1"},"cache":{"maxAgeMs":1000},"after":["a"]},
            "c":{"url":"http://svc/q","headers":{"X-A":"1","x-b":"3"},"cache":{"maxAgeMs":1000},"after":["b"]},
            "d":{"url":"http://svc/q","method":"POST","safe":true,"body":{"x":1},"cache":{"maxAgeMs":1000},"after":["c"]},
            "e":{"url":"http://svc/q","method":"POST","safe":true,"body":{"x":2},"cache":{"maxAgeMs":1000},"after":["d"]},
            "f":{"url":"http://svc/q","method":"POST","safe":true,"body":{"x":1},"cache":{"maxAgeMs":1000},"after":["e"]}}}"#,
    );
    let settings = Settings {
        dedupe: false,
        trace: Some(crate::engine::trace::TraceContext::new(
            [7; 24],
            vec!["http://svc".into()],
            None,
        )),
        ..eager()
    };
    let o = compose(&sim, &memory, &p, settings);
    let cached: Vec<bool> = o
        .records
        .iter()
        .map(|r| r.cached_age_ms.is_some())
        .collect();
    // b: the same headers in another case and order (and another traceparent); c: another
    // header value; e: another body; f: d's body again.
    assert_eq!(cached, [false, true, false, false, false, true]);
    assert_eq!(sim.seen().len(), 4);
    // A safe POST carries no Idempotency-Key: it would make every request different.
    assert!(sim.seen()[2]
        .request
        .headers
        .iter()
        .all(|(n, _)| n != "Idempotency-Key"));
}

#[test]
fn the_least_recently_used_entries_go_first() {
    let sim = counting(|_| 10.0);
    let options = MemoryOptions {
        cache_entries: 2,
        ..MemoryOptions::default()
    };
    let (memory, _) = memory(&sim, options);
    let one = |name: &str| {
        plan(&format!(
            r#"{{"calls":{{"x":{{"url":"http://svc/{name}","cache":{{"maxAgeMs":100000}}}}}}}}"#
        ))
    };
    let (a, b, c) = (one("a"), one("b"), one("c"));
    compose(&sim, &memory, &a, eager());
    compose(&sim, &memory, &b, eager());
    compose(&sim, &memory, &a, eager()); // a used again: b is the least recent
    compose(&sim, &memory, &c, eager()); // evicts b
    assert_eq!(memory.cache_size().0, 2);
    assert!(compose(&sim, &memory, &a, eager()).records[0]
        .cached_age_ms
        .is_some());
    assert!(compose(&sim, &memory, &b, eager()).records[0]
        .cached_age_ms
        .is_none());
    // And by bytes: each reply is 100 bytes here.
    let options = MemoryOptions {
        cache_bytes: 250,
        ..MemoryOptions::default()
    };
    let (memory, _) = self::memory(&sim, options);
    for p in [&a, &b, &c] {
        compose(&sim, &memory, p, eager());
    }
    assert_eq!(memory.cache_size(), (2, 200));
    assert!(compose(&sim, &memory, &a, eager()).records[0]
        .cached_age_ms
        .is_none());
}

#[test]
fn a_read_in_flight_is_shared_across_compositions_and_errors_are_never_kept() {
    let (sim, fail) = switchable(100.0, 503);
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(r#"{"calls":{"a":{"url":"http://svc/a","cache":{"maxAgeMs":1000}}}}"#);
    let settings = Settings {
        retry: crate::engine::retry::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
        ..eager()
    };
    let failed = compose(&sim, &memory, &p, settings.clone());
    assert_eq!(failed.records[0].state, CallState::Failed);
    fail.set(false);
    let (x, y) = compose_two(&sim, &memory, &p, (settings.clone(), settings));
    assert_eq!(
        sim.seen().len(),
        2,
        "the failure was not kept; the second read was shared"
    );
    assert_eq!(x.records[0].state, CallState::Ok);
    assert_eq!(y.records[0].state, CallState::Ok);
    assert_eq!(y.records[0].cached_age_ms, Some(0.0));
    assert_eq!(y.records[0].end_ms, Some(100.0));
}

#[test]
fn a_read_in_flight_is_waited_for_no_longer_than_the_calls_own_limit() {
    // The first request takes 500 ms, later ones 50 ms.
    let sent = Cell::new(0);
    let sim = Sim::new(move |_req: &Request<Json>| -> Answer {
        sent.set(sent.get() + 1);
        let ms = if sent.get() == 1 { 500.0 } else { 50.0 };
        (ms, Ok(Reply::new(200, json("{}"))))
    });
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(r#"{"calls":{"a":{"url":"http://svc/a","cache":{"maxAgeMs":1000}}}}"#);
    let patient = Settings {
        timeout_ms: 1000.0,
        ..eager()
    };
    let hasty = Settings {
        timeout_ms: 100.0,
        ..eager()
    };
    let (slow, quick) = compose_two(&sim, &memory, &p, (patient, hasty));
    assert_eq!(slow.records[0].end_ms, Some(500.0));
    assert_eq!(
        quick.records[0].state,
        CallState::Ok,
        "{:?}",
        quick.records[0]
    );
    assert_eq!(
        quick.records[0].end_ms,
        Some(150.0),
        "waited its own 100 ms, then sent its own request"
    );
    assert_eq!(quick.records[0].cached_age_ms, None);
    assert_eq!(sim.seen().len(), 2);
}

#[test]
fn invalidate_drops_entries_by_call_or_predicate_and_clear_drops_all() {
    let sim = counting(|_| 10.0);
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(
        r#"{"calls":{"a":{"url":"http://svc/a","cache":{"maxAgeMs":100000}},
                     "b":{"url":"http://svc/b?x=1","cache":{"maxAgeMs":100000}},
                     "c":{"url":"http://svc/c","cache":{"maxAgeMs":100000}}}}"#,
    );
    compose(&sim, &memory, &p, eager());
    assert_eq!(memory.invalidate(&mut |call, _, _| call == "a"), 1);
    assert_eq!(memory.invalidate(&mut |_, _, url| url.ends_with("x=1")), 1);
    let o = compose(&sim, &memory, &p, eager());
    let cached: Vec<bool> = o
        .records
        .iter()
        .map(|r| r.cached_age_ms.is_some())
        .collect();
    assert_eq!(cached, [false, false, true]);
    assert_eq!(memory.clear(), 3);
    assert_eq!(memory.cache_size(), (0, 0));
}

/// The order flow's shape: reads and quotes first, then writes.
const ORDER: &str = r#"{"calls":{
    "customer":{"url":"http://svc/customer","cache":{"maxAgeMs":30000}},
    "cart":{"url":"http://svc/cart","cache":{"maxAgeMs":30000}},
    "pricing":{"url":"http://svc/pricing","method":"POST","safe":true,"body":{"c":"{cart.url}","t":"{customer.url}"},"cache":{"maxAgeMs":30000}},
    "tax":{"url":"http://svc/tax","method":"POST","safe":true,"body":{"p":"{pricing.url}"},"cache":{"maxAgeMs":30000}},
    "fraud":{"url":"http://svc/fraud","method":"POST","body":{"c":"{customer.url}"}},
    "audit":{"url":"http://svc/audit","method":"POST","after":["cart"]},
    "payment":{"url":"http://svc/payment","method":"POST","after":["tax","fraud"]},
    "order":{"url":"http://svc/order","method":"POST","after":["payment"]}}}"#;

#[test]
fn prefetch_sends_only_the_cacheable_calls_and_what_they_need_never_a_write() {
    let sim = counting(|_| 100.0);
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(ORDER);
    let input = json("{}");
    let prefetch = run_in(
        &memory,
        true,
        &p,
        &input,
        &sim,
        &sim,
        &NoHooks,
        eager(),
        std::future::pending(),
    );
    let prefetched = sim.block_on(prefetch);
    assert_eq!(prefetched.error, None);
    let sent: Vec<String> = sim.seen().iter().map(|s| service(&s.request.url)).collect();
    assert_eq!(sent, ["customer", "cart", "pricing", "tax"]);
    let states: Vec<CallState> = prefetched.records.iter().map(|r| r.state).collect();
    use CallState::{NotNeeded, Ok};
    assert_eq!(
        states,
        [Ok, Ok, Ok, Ok, NotNeeded, NotNeeded, NotNeeded, NotNeeded]
    );
    // The click: only what was not cached goes, and the makespan is its critical path
    // (fraud -> payment -> order), not the whole chain's.
    let clicked = compose(&sim, &memory, &p, eager());
    let sent: Vec<String> = sim.seen()[4..]
        .iter()
        .map(|s| service(&s.request.url))
        .collect();
    assert_eq!(sent, ["fraud", "audit", "payment", "order"]);
    assert_eq!(clicked.records[7].end_ms, Some(300.0));
    let cold = run(
        &p,
        &input,
        &sim,
        &sim,
        &NoHooks,
        eager(),
        std::future::pending(),
    );
    assert_eq!(sim.block_on(cold).records[7].end_ms, Some(500.0));
}

#[test]
fn a_slow_read_is_hedged_and_the_first_good_reply_wins() {
    // The first request to /a takes 1000 ms, any later one 50.
    let sent = Cell::new(0);
    let sim = Sim::new(move |req: &Request<Json>| -> Answer {
        sent.set(sent.get() + 1);
        let ms = if req.url.ends_with("/a") && sent.get() == 1 {
            1000.0
        } else {
            50.0
        };
        (
            ms,
            Ok(Reply::new(200, json(&format!(r#"{{"n":{}}}"#, sent.get())))),
        )
    });
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let p = plan(
        r#"{"calls":{"a":{"url":"http://svc/a","hedge":{"afterMs":100,"maxExtraPercent":100}}}}"#,
    );
    let o = compose(&sim, &memory, &p, eager());
    let seen = sim.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!((seen[1].start, seen[1].request.fresh), (100.0, true));
    assert!(!seen[0].request.fresh);
    assert!(seen[0].aborted, "the slower copy is aborted");
    assert_eq!(o.records[0].hedged, (true, true));
    assert_eq!(o.records[0].end_ms, Some(150.0));
    assert_eq!(o.replies[0], Some(json(r#"{"n":2}"#)));
    // A read that answers in time is never hedged.
    let fast = compose(&sim, &memory, &p, eager());
    assert_eq!(fast.records[0].hedged, (false, false));
    assert_eq!(sim.seen().len(), 3);
}

#[test]
fn hedges_stay_within_the_budget_and_never_double_a_write() {
    let sim = counting(|url| if url.ends_with("slow") { 500.0 } else { 10.0 });
    let (memory, _) = memory(&sim, MemoryOptions::default());
    let hedge = HedgePolicy {
        after_ms: 100.0,
        max_extra_percent: 10.0,
    };
    let settings = Settings {
        hedge: Some(hedge),
        ..eager()
    };
    let fast = plan(r#"{"calls":{"a":{"url":"http://svc/fast"}}}"#);
    let slow = plan(
        r#"{"calls":{"a":{"url":"http://svc/slow"},"w":{"url":"http://svc/slow","method":"POST"}}}"#,
    );
    for _ in 0..18 {
        compose(&sim, &memory, &fast, settings.clone());
    }
    // 20 reads with the two slow ones below: 10% is 2 hedges, and the write is never
    // hedged.
    let o = compose(&sim, &memory, &slow, settings.clone());
    assert_eq!(o.records[0].hedged, (true, false));
    assert_eq!(o.records[1].hedged, (false, false));
    let o = compose(&sim, &memory, &slow, settings.clone());
    assert_eq!(o.records[0].hedged, (true, false));
    let o = compose(&sim, &memory, &slow, settings.clone());
    assert_eq!(o.records[0].hedged, (false, false), "the budget is spent");
    let writes = sim
        .seen()
        .iter()
        .filter(|s| s.request.method == crate::plan::Method::Post)
        .count();
    assert_eq!(writes, 3);
}

#[test]
fn a_breaker_opens_after_consecutive_failures_probes_after_its_cooldown_and_closes() {
    let (sim, down) = switchable(10.0, 500);
    let policy = BreakerPolicy {
        failures: 3,
        window_ms: 10_000.0,
        cooldown_ms: 5_000.0,
    };
    let options = MemoryOptions {
        breaker: Some(policy),
        ..MemoryOptions::default()
    };
    let (memory, _) = memory(&sim, options);
    let events = Rc::new(RefCell::new(Vec::new()));
    let keep = events.clone();
    let settings = Settings {
        retry: crate::engine::retry::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
        on_event: Some(OnEvent::new(move |e| {
            if let EventKind::Breaker { state, .. } = e.kind {
                keep.borrow_mut()
                    .push((e.origin.unwrap().to_owned(), state));
            }
        })),
        ..eager()
    };
    let p = plan(
        r#"{"calls":{"n":{"url":"http://svc/n","optional":true,"method":"POST"},"a":{"url":"http://svc/a"}}}"#,
    );
    for _ in 0..2 {
        compose(&sim, &memory, &p, settings.clone());
    }
    // Four failures: n and a twice each; the circuit opened at the third.
    assert_eq!(memory.health()[0].1.state, CircuitState::Open);
    let before = sim.seen().len();
    let open = compose(&sim, &memory, &p, settings.clone());
    assert_eq!(sim.seen().len(), before, "nothing is sent while it is open");
    let error = open.error.unwrap();
    assert_eq!(error.kind(), ErrorKind::CircuitOpen);
    let (origin, retry_at) = error.circuit().unwrap();
    assert_eq!(origin, "http://svc");
    assert!(retry_at > sim.now());
    assert!(
        error.message().contains("http://svc is open"),
        "{}",
        error.message()
    );
    // The optional write fails at once too, and stays `failed`: nothing was sent.
    assert_eq!(open.records[0].state, CallState::Failed);
    assert_eq!(open.records[0].end_ms, Some(0.0));
    assert_eq!(
        open.records[0].error.as_ref().unwrap().kind(),
        ErrorKind::CircuitOpen
    );
    // After the cooldown one probe goes; the origin is back, so it closes.
    wait(&sim, 5_000.0);
    down.set(false);
    // While the probe (n) is out, nothing else goes (a).
    let probing = compose(&sim, &memory, &p, settings.clone());
    assert_eq!(probing.records[0].state, CallState::Ok);
    let refused = probing.records[1].error.as_ref().unwrap();
    assert!(
        refused
            .message()
            .ends_with("a probe request is testing it now"),
        "{}",
        refused.message()
    );
    assert_eq!(memory.health()[0].1.state, CircuitState::Closed);
    let back = compose(&sim, &memory, &p, settings.clone());
    assert_eq!(back.error, None);
    let origin = "http://svc".to_owned();
    assert_eq!(
        *events.borrow(),
        [
            (origin.clone(), CircuitState::Open),
            (origin.clone(), CircuitState::HalfOpen),
            (origin, CircuitState::Closed),
        ]
    );
}
