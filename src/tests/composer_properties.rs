//! Property tests of a composer's memory: random plans of reads, safe calls and writes,
//! some cacheable, over the simulated network.
//!
//! - With an empty cache, a composition through a composer ends exactly as one without.
//! - Through many compositions that share a cache and hedge every read, a write is never
//!   served from the cache, never hedged, and always sent.
//! - The breaker's state machine, driven by random outcomes and requests, only ever lets
//!   one probe through, never lets a retry probe, opens only after its run of failures,
//!   and closes on an answer.

use crate::engine::breaker::{Admit, BreakerPolicy, Breakers, CircuitState, Verdict};
use crate::engine::hooks::NoHooks;
use crate::engine::memory::{Memory, MemoryOptions};
use crate::engine::record::CallState;
use crate::engine::retry::RetryPolicy;
use crate::engine::run::{run, run_in};
use crate::engine::settings::{Schedule, Settings};
use crate::engine::transport::{Clock, Reply, Request, TransportError};
use crate::plan::json::Json;
use crate::plan::reuse::HedgePolicy;
use crate::tests::sim::{json, plan, Answer, Sim};
use proptest::prelude::*;
use std::rc::Rc;

/// One generated call: its kind (0 read, 1 safe POST, 2 write), whether it is cacheable,
/// the earlier calls it needs, its latency and whether its first attempt fails.
#[derive(Clone, Debug)]
struct Spec {
    kind: u8,
    cached: bool,
    deps: Vec<usize>,
    ms: u32,
    fails: bool,
}

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(
        (
            0u8..3,
            any::<bool>(),
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            1u32..300,
            prop::bool::weighted(0.2),
        ),
        1..10,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (kind, cached, deps, ms, fails))| {
                let mut deps: Vec<usize> = if i == 0 {
                    Vec::new()
                } else {
                    deps.iter().map(|d| d.index(i)).collect()
                };
                deps.sort_unstable();
                deps.dedup();
                Spec {
                    kind,
                    cached: cached && kind < 2,
                    deps,
                    ms,
                    fails,
                }
            })
            .collect()
    })
}

/// The plan's JSON: call `c<i>` to its own URL, so that no two calls ask the same.
fn plan_json(specs: &[Spec]) -> String {
    let calls: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let method = ["GET", "POST", "POST"][s.kind as usize];
            let safe = if s.kind == 1 { r#","safe":true"# } else { "" };
            let cache = if s.cached { r#","cache":{"maxAgeMs":100000}"# } else { "" };
            let after: Vec<String> = s.deps.iter().map(|d| format!("\"c{d}\"")).collect();
            format!(
                r#""c{i}":{{"url":"http://svc/c{i}","method":"{method}"{safe}{cache},"after":[{}]}}"#,
                after.join(",")
            )
        })
        .collect();
    format!(r#"{{"calls":{{{}}}}}"#, calls.join(","))
}

/// A network answering `c<i>` after its latency, failing its first attempt with a 503 when
/// the spec says so.
fn network(specs: &[Spec]) -> Sim {
    let specs = specs.to_vec();
    let sent = Rc::new(std::cell::RefCell::new(vec![0u32; specs.len()]));
    Sim::new(move |req: &Request<Json>| -> Answer {
        let i: usize = req.url.trim_start_matches("http://svc/c").parse().unwrap();
        let n = {
            let mut sent = sent.borrow_mut();
            sent[i] += 1;
            sent[i]
        };
        let ms = f64::from(specs[i].ms);
        if specs[i].fails && n == 1 {
            return (ms, Err(TransportError::Status(503)));
        }
        (
            ms,
            Ok(Reply::new(200, json(&format!(r#"{{"c":{i},"n":{n}}}"#)))),
        )
    })
}

fn memory(sim: &Sim, breaker: Option<BreakerPolicy>) -> Memory<Json> {
    let clock = sim.clone();
    let options = MemoryOptions {
        breaker,
        ..MemoryOptions::default()
    };
    Memory::new(&options, Rc::new(|_| {}), Rc::new(move || clock.now()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn with_an_empty_cache_a_composition_ends_as_without_a_composer(specs in specs()) {
        let p = plan(&plan_json(&specs));
        let input = json("{}");
        let plain_sim = network(&specs);
        let plain = plain_sim.block_on(run(&p, &input, &plain_sim, &plain_sim, &NoHooks, Schedule::Eager, std::future::pending()));
        let sim = network(&specs);
        let m = memory(&sim, None);
        let through = sim.block_on(run_in(&m, false, &p, &input, &sim, &sim, &NoHooks, Schedule::Eager, std::future::pending()));
        prop_assert_eq!(&through.records, &plain.records);
        prop_assert_eq!(&through.replies, &plain.replies);
        prop_assert_eq!(&through.error, &plain.error);
        let wire = |s: &Sim| s.seen().iter().map(|x| (x.request.url.clone(), x.start, x.end)).collect::<Vec<_>>();
        prop_assert_eq!(wire(&sim), wire(&plain_sim));
    }

    #[test]
    fn a_write_is_never_served_from_the_cache_nor_hedged(specs in specs(), rounds in 2usize..5) {
        let p = plan(&plan_json(&specs));
        let input = json("{}");
        let sim = network(&specs);
        let m = memory(&sim, None);
        let settings = Settings {
            hedge: Some(HedgePolicy { after_ms: 5.0, max_extra_percent: 100.0 }),
            retry: RetryPolicy { max_attempts: 2, ..RetryPolicy::default() },
            ..Settings::from(Schedule::Eager)
        };
        for _ in 0..rounds {
            let before = sim.seen().len();
            let o = sim.block_on(run_in(&m, false, &p, &input, &sim, &sim, &NoHooks, settings.clone(), std::future::pending()));
            for (i, s) in specs.iter().enumerate() {
                let r = &o.records[i];
                if s.kind != 2 {
                    continue;
                }
                prop_assert_eq!(r.cached_age_ms, None, "c{} is a write", i);
                prop_assert_eq!(r.hedged, (false, false), "c{} is a write", i);
                let url = format!("http://svc/c{i}");
                let sent = sim.seen()[before..].iter().filter(|x| x.request.url == url).count();
                prop_assert_eq!(sent as u32, r.attempts, "c{}: every attempt is a request", i);
                if r.state == CallState::Ok {
                    prop_assert!(sent >= 1, "c{} succeeded without a request", i);
                }
            }
            prop_assert!(sim.seen().iter().all(|x| !x.request.fresh || x.request.method.is_read()));
        }
    }

    #[test]
    fn the_breaker_state_machine(ops in prop::collection::vec((0u8..5, 1u32..3000, any::<bool>()), 1..80)) {
        let policy = BreakerPolicy { failures: 3, window_ms: 1000.0, cooldown_ms: 2000.0 };
        let mut b = Breakers::new(Some(policy));
        let mut now = 0.0;
        let mut probing = false;
        let mut run = 0u32; // consecutive failures reported while closed
        let mut state = CircuitState::Closed;
        for (op, dt, retry) in ops {
            now += f64::from(dt % 700);
            match op {
                0 => {
                    let (admit, change) = b.admit("o", now, retry);
                    match admit {
                        Admit::Probe => {
                            prop_assert!(!retry, "a retry never probes");
                            prop_assert!(!probing, "one probe at a time");
                            prop_assert!(state != CircuitState::Closed);
                            probing = true;
                        }
                        Admit::Refuse { retry_at } => {
                            prop_assert!(state != CircuitState::Closed);
                            prop_assert!(retry || probing || now < retry_at);
                        }
                        Admit::Pass => prop_assert_eq!(state, CircuitState::Closed),
                    }
                    if let Some(s) = change {
                        state = s;
                    }
                }
                _ => {
                    let verdict = [Verdict::Up, Verdict::Down, Verdict::Down, Verdict::Unknown][usize::from(op - 1)];
                    let probe = probing && retry;
                    if probe {
                        probing = false;
                    }
                    let change = b.report("o", now, verdict, probe);
                    match verdict {
                        Verdict::Up => {
                            run = 0;
                            prop_assert_eq!(change.is_some(), state != CircuitState::Closed);
                            state = CircuitState::Closed;
                        }
                        Verdict::Down if state == CircuitState::Closed => {
                            run += 1;
                            if change == Some(CircuitState::Open) {
                                prop_assert!(run >= 1 && b.health(now)[0].1.failures >= policy.failures);
                                state = CircuitState::Open;
                                run = 0;
                            }
                        }
                        _ => {
                            if let Some(s) = change {
                                prop_assert_eq!(s, CircuitState::Open);
                                state = s;
                            }
                        }
                    }
                }
            }
        }
    }
}
