//! Each call's value on its terminal event ([`Event::value`]): handed over once, as soon as
//! it is known, with the call's final record, in every schedule; a fallback's too, and
//! nothing for a call that failed without one, was skipped, cancelled or not needed. What
//! `composeStream()` makes its parts of.

use crate::engine::events::{Event, OnEvent};
use crate::engine::hooks::NoHooks;
use crate::engine::outcome::Outcome;
use crate::engine::record::{CallRecord, CallState};
use crate::engine::run::run;
use crate::engine::settings::{Schedule, Settings};
use crate::engine::transport::{Reply, TransportError};
use crate::plan::json::Json;
use crate::plan::Plan;
use crate::tests::sim::{json, plan, service, Answer, Sim};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A terminal event as the observer saw it: its call, its record, and its value.
#[derive(Debug, PartialEq)]
struct Told {
    call: usize,
    record: CallRecord,
    value: Option<Json>,
}

/// A network where `http://svc/<name>` answers after `answers[name]`'s latency with its
/// status (0: a network error), or after 10 ms with a 200; a 200's body is `{"name": ...}`.
fn network(answers: &[(&str, f64, u16)]) -> Sim {
    let answers: HashMap<String, (f64, u16)> = answers
        .iter()
        .map(|&(name, ms, status)| (name.to_owned(), (ms, status)))
        .collect();
    Sim::new(move |req| -> Answer {
        let name = service(&req.url);
        let (ms, status) = answers.get(&name).copied().unwrap_or((10.0, 200));
        let result = match status {
            0 => Err(TransportError::Network("connection reset".into())),
            200..=299 => Ok(Reply {
                bytes: 0,
                status,
                body: json(&format!(r#"{{"name":"{name}"}}"#)),
                replayed: false,
            }),
            _ => Err(TransportError::Status(status)),
        };
        (ms, result)
    })
}

/// Runs `p` on `sim` under `settings`, keeping the terminal events; cancelled at
/// `cancel_at` ms when given.
fn observe(
    sim: &Sim,
    p: &Plan,
    settings: Settings,
    cancel_at: Option<f64>,
) -> (Outcome<Json>, Vec<Told>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let keep = seen.clone();
    let settings = Settings {
        on_event: Some(OnEvent::new(move |e: &Event<'_>| {
            if let Some(record) = e.record {
                assert!(e.kind.is_terminal(), "a record only on a terminal event");
                let (record, value) = (record.clone(), e.value::<Json>().cloned());
                keep.borrow_mut().push(Told {
                    call: e.call,
                    record,
                    value,
                });
            } else {
                assert!(
                    e.value::<Json>().is_none(),
                    "a value only on a terminal event"
                );
            }
        })),
        ..settings
    };
    let cancel = async {
        match cancel_at {
            Some(ms) => sim.sleep(ms).await,
            None => std::future::pending().await,
        }
    };
    let out = sim.block_on(run(p, &json("{}"), sim, sim, &NoHooks, settings, cancel));
    let seen = std::mem::take(&mut *seen.borrow_mut());
    (out, seen)
}

/// The calls whose terminal events carried a value, in order; each event's value and record
/// checked against the outcome's, and every call told exactly once.
fn valued_in_order(out: &Outcome<Json>, seen: &[Told]) -> Vec<usize> {
    let mut told = vec![0; out.records.len()];
    let mut calls = Vec::new();
    for Told {
        call,
        record,
        value,
    } in seen
    {
        told[*call] += 1;
        assert_eq!(
            value.as_ref(),
            out.replies[*call].as_ref(),
            "c{call}'s value"
        );
        assert_eq!(record, &out.records[*call], "c{call}'s record is final");
        if value.is_some() {
            calls.push(*call);
        }
    }
    assert!(told.iter().all(|&n| n == 1), "one terminal event per call");
    calls
}

fn names(p: &Plan, calls: &[usize]) -> Vec<String> {
    calls.iter().map(|&i| p.calls()[i].name.clone()).collect()
}

#[test]
fn each_value_comes_once_in_the_order_it_became_known_in_every_schedule() {
    let p = plan(
        r#"{"calls":{
        "a": {"url":"http://svc/a"},
        "b": {"url":"http://svc/b"},
        "c": {"url":"http://svc/c/{b.name}"},
        "d": {"url":"http://svc/d","after":["a"]}
    }}"#,
    );
    let sim = || network(&[("a", 30.0, 200), ("b", 10.0, 200), ("d", 5.0, 200)]);
    let expected = [
        (Schedule::Eager, ["b", "c", "a", "d"]),
        (Schedule::Stages, ["b", "a", "d", "c"]),
        (Schedule::Sequential, ["a", "b", "c", "d"]),
    ];
    for (schedule, order) in expected {
        let (out, seen) = observe(&sim(), &p, Settings::from(schedule), None);
        assert!(out.error.is_none(), "{schedule:?}");
        assert_eq!(
            names(&p, &valued_in_order(&out, &seen)),
            order,
            "{schedule:?}"
        );
    }
}

#[test]
fn a_fallback_is_a_value_and_failed_skipped_or_unneeded_calls_carry_none() {
    let p = plan(
        r#"{"calls":{
        "a":      {"url":"http://svc/a"},
        "opt":    {"url":"http://svc/opt", "fallback":{"name":"none"}},
        "reader": {"url":"http://svc/reader/{opt.name}"},
        "bare":   {"url":"http://svc/bare", "optional":true},
        "dep":    {"url":"http://svc/dep/{bare.name}"},
        "off":    {"url":"http://svc/off", "when":{"equals":["{a.name}","b"]},
                   "fallback":{"name":"default"}},
        "offbare":{"url":"http://svc/offbare", "when":{"equals":["{a.name}","b"]}}
    }}"#,
    );
    let sim = network(&[("opt", 20.0, 404), ("bare", 5.0, 404)]);
    let (out, seen) = observe(&sim, &p, Settings::from(Schedule::Eager), None);
    assert!(out.error.is_none());
    let calls = valued_in_order(&out, &seen);
    assert_eq!(names(&p, &calls), ["a", "off", "opt", "reader"]);
    let record = |name: &str| {
        let i = p.position(name).unwrap();
        let told = seen.iter().find(|t| t.call == i).unwrap();
        (told.value.clone().unwrap(), told.record.clone())
    };
    let (reply, opt) = record("opt");
    assert_eq!(reply, json(r#"{"name":"none"}"#));
    assert!(opt.fell_back && opt.state == CallState::Failed && opt.error.is_some());
    let (reply, off) = record("off");
    assert_eq!(reply, json(r#"{"name":"default"}"#));
    assert!(off.fell_back && off.state == CallState::NotNeeded);
    let (_, a) = record("a");
    assert!(!a.fell_back && a.state == CallState::Ok && a.status == Some(200));
    let states = |name: &str| out.records[p.position(name).unwrap()].state;
    assert_eq!(states("bare"), CallState::Failed);
    assert_eq!(states("dep"), CallState::Skipped);
    assert_eq!(states("offbare"), CallState::NotNeeded);
}

#[test]
fn a_failure_still_hands_over_the_values_known_before_and_the_writes_that_finish() {
    let p = plan(
        r#"{"calls":{
        "early": {"url":"http://svc/early"},
        "bad":   {"url":"http://svc/bad"},
        "slow":  {"url":"http://svc/slow"},
        "write": {"url":"http://svc/write", "method":"POST"},
        "next":  {"url":"http://svc/next/{bad.name}"}
    }}"#,
    );
    let sim = network(&[
        ("early", 5.0, 200),
        ("bad", 20.0, 404),
        ("slow", 50.0, 200),
        ("write", 40.0, 200),
    ]);
    for schedule in [Schedule::Eager, Schedule::Stages] {
        let (out, seen) = observe(&sim, &p, Settings::from(schedule), None);
        assert_eq!(out.error.as_ref().and_then(|e| e.call()), Some("bad"));
        let calls = valued_in_order(&out, &seen);
        // The write in flight at the failure finishes, and its success is a value known.
        assert_eq!(names(&p, &calls), ["early", "write"], "{schedule:?}");
        let state = |name: &str| out.records[p.position(name).unwrap()].state;
        assert_eq!(state("slow"), CallState::Cancelled);
        assert_eq!(state("next"), CallState::Skipped);
    }
}

#[test]
fn an_abort_hands_over_what_came_before_it_and_nothing_after() {
    let p = plan(r#"{"calls":{"a":{"url":"http://svc/a"},"b":{"url":"http://svc/b"}}}"#);
    let sim = network(&[("a", 10.0, 200), ("b", 30.0, 200)]);
    let (out, seen) = observe(&sim, &p, Settings::from(Schedule::Eager), Some(15.0));
    assert_eq!(
        out.error.as_ref().map(|e| e.kind()),
        Some(crate::error::ErrorKind::Aborted)
    );
    assert_eq!(names(&p, &valued_in_order(&out, &seen)), ["a"]);
    assert_eq!(out.records[1].state, CallState::Cancelled);
}

#[test]
fn a_shared_read_is_the_value_of_each_call_that_shares_it() {
    let p = plan(r#"{"calls":{"a":{"url":"http://svc/x"},"b":{"url":"http://svc/x"}}}"#);
    let (out, seen) = observe(&network(&[]), &p, Settings::from(Schedule::Eager), None);
    assert_eq!(sorted(valued_in_order(&out, &seen)), [0, 1]);
    assert_eq!(out.records[1].shared_from, Some(0));
}

fn sorted(mut calls: Vec<usize>) -> Vec<usize> {
    calls.sort_unstable();
    calls
}

#[test]
fn a_value_reads_as_the_transports_reply_type_only() {
    let p = plan(r#"{"calls":{"a":{"url":"http://svc/a"}}}"#);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let keep = seen.clone();
    let settings = Settings {
        on_event: Some(OnEvent::new(move |e: &Event<'_>| {
            let read = (e.value::<Json>().cloned(), e.value::<String>().cloned());
            keep.borrow_mut().push(read);
        })),
        ..Settings::from(Schedule::Eager)
    };
    let sim = network(&[]);
    let out = crate::tests::sim::run_to_end(&sim, &p, &json("{}"), settings);
    assert!(out.replies[0].is_some());
    let start_then_end = [(None, None), (out.replies[0].clone(), None)];
    assert_eq!(*seen.borrow(), start_then_end);
}
