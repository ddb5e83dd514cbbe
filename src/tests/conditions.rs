//! `when` in the scheduler, on the simulated network: a false condition sends nothing, its
//! call is `not-needed`, a fallback feeds its dependents, readers without one are not
//! needed either, calls only ordered after it run, and nothing of it fails the composition.

use crate::engine::events::{EventKind, OnEvent};
use crate::engine::outcome::Outcome;
use crate::engine::record::CallState;
use crate::engine::settings::{Schedule, Settings};
use crate::engine::transport::Reply;
use crate::plan::json::Json;
use crate::tests::sim::{json, plan, run_to_end, service, Answer, Lcg, Sim};
use std::cell::RefCell;
use std::rc::Rc;

/// A network where `http://svc/<name>` answers, after 10 ms, the body `replies` gives
/// `name`, or `{"name": name}`.
fn network(replies: &'static [(&'static str, &'static str)]) -> Sim {
    Sim::new(move |req| -> Answer {
        let name = service(&req.url);
        let body = replies.iter().find(|(n, _)| *n == name).map_or_else(
            || json(&format!(r#"{{"name":"{name}"}}"#)),
            |(_, b)| json(b),
        );
        (
            10.0,
            Ok(Reply {
                bytes: 0,
                status: 200,
                body,
                replayed: false,
            }),
        )
    })
}

/// Runs `src` with `input` under `schedule`; its outcome, the URLs the network saw, and
/// the events as `(call, kind)`.
fn run(
    sim: &Sim,
    src: &str,
    input: &str,
    schedule: Schedule,
) -> (Outcome<Json>, Vec<String>, Vec<(usize, EventKind)>) {
    let events = Rc::new(RefCell::new(Vec::new()));
    let keep = events.clone();
    let settings = Settings {
        on_event: Some(OnEvent::new(move |e| {
            keep.borrow_mut().push((e.call, e.kind))
        })),
        ..Settings::from(schedule)
    };
    let out = run_to_end(sim, &plan(src), &json(input), settings);
    let urls = sim.seen().into_iter().map(|s| s.request.url).collect();
    let events = events.borrow().clone();
    (out, urls, events)
}

fn states(out: &Outcome<Json>) -> Vec<CallState> {
    out.records.iter().map(|r| r.state).collect()
}

const LOYALTY: &str = r#"{"calls":{
    "customer": {"url":"http://svc/customer"},
    "points":   {"url":"http://svc/points/{customer.id}",
                 "when":{"equals":["{customer.tier}","gold"]}},
    "badge":    {"url":"http://svc/badge/{points.total}"},
    "audit":    {"url":"http://svc/audit","after":["points"]},
    "summary":  {"url":"http://svc/summary/{customer.id}"}
}}"#;

#[test]
fn a_false_condition_sends_nothing_and_its_readers_are_not_needed() {
    use CallState::{NotNeeded, Ok};
    for schedule in [Schedule::Eager, Schedule::Stages, Schedule::Sequential] {
        let sim = network(&[("customer", r#"{"id":7,"tier":"silver"}"#)]);
        let (out, urls, events) = run(&sim, LOYALTY, "{}", schedule);
        assert!(out.error.is_none(), "{schedule:?}: {:?}", out.error);
        assert_eq!(
            states(&out),
            [Ok, NotNeeded, NotNeeded, Ok, Ok],
            "{schedule:?}"
        );
        let mut urls = urls;
        urls.sort();
        assert_eq!(
            urls,
            [
                "http://svc/audit",
                "http://svc/customer",
                "http://svc/summary/7"
            ],
            "{schedule:?}: `after` alone does not make a call not needed"
        );
        for i in [1, 2] {
            let record = &out.records[i];
            assert_eq!(
                (record.attempts, record.start_ms, record.end_ms),
                (0, None, None)
            );
            assert!(!record.fell_back && record.error.is_none());
            assert!(out.replies[i].is_none());
            let skips: Vec<_> = events.iter().filter(|(call, _)| *call == i).collect();
            assert_eq!(
                skips,
                [&(i, EventKind::Skip { state: NotNeeded })],
                "{schedule:?}: one event, the skip"
            );
        }
    }
}

#[test]
fn a_true_condition_runs_the_call_as_any_other() {
    let sim = network(&[
        ("customer", r#"{"id":7,"tier":"gold"}"#),
        ("points", r#"{"total":30}"#),
    ]);
    let (out, urls, _) = run(&sim, LOYALTY, "{}", Schedule::Eager);
    assert!(out.error.is_none());
    assert!(out.records.iter().all(|r| r.state == CallState::Ok));
    assert!(urls.contains(&"http://svc/badge/30".to_owned()));
}

#[test]
fn a_fallback_stands_in_for_the_reply_of_a_call_not_needed() {
    let src = LOYALTY.replace(r#""when":{"#, r#""fallback":{"total":0},"when":{"#);
    let sim = network(&[("customer", r#"{"id":7,"tier":"silver"}"#)]);
    let (out, urls, _) = run(&sim, &src, "{}", Schedule::Eager);
    assert!(out.error.is_none());
    assert_eq!(out.records[1].state, CallState::NotNeeded);
    assert!(out.records[1].fell_back, "its fallback fed its dependents");
    assert_eq!(out.replies[1], Some(json(r#"{"total":0}"#)));
    assert_eq!(out.records[2].state, CallState::Ok);
    assert!(urls.contains(&"http://svc/badge/0".to_owned()));
    assert!(!urls.iter().any(|u| u.contains("/points")));
}

#[test]
fn conditions_read_the_input_and_missing_paths_read_as_null() {
    let src = r#"{"calls":{
        "customer": {"url":"http://svc/customer"},
        "vip":      {"url":"http://svc/vip", "when":{"exists":"{input.vip}"}},
        "rank":     {"url":"http://svc/rank", "when":{"equals":["{customer.rank}", null]}},
        "big":      {"url":"http://svc/big", "when":{"and":[
                        {"gt":["{customer.spent}", 100]},
                        {"in":["{customer.country}", ["DE","FR"]]},
                        {"not":{"equals":["{customer.tier}","basic"]}}]}},
        "small":    {"url":"http://svc/small", "when":{"lte":["{customer.spent}", 100]}}
    }}"#;
    let sim = network(&[("customer", r#"{"spent":250,"country":"FR","tier":"gold"}"#)]);
    let (out, _, _) = run(&sim, src, r#"{"vip":null}"#, Schedule::Eager);
    use CallState::{NotNeeded, Ok};
    assert_eq!(states(&out), [Ok, NotNeeded, Ok, Ok, NotNeeded]);
    let sim = network(&[("customer", r#"{"spent":250,"country":"FR","tier":"gold"}"#)]);
    let (out, _, _) = run(&sim, src, r#"{"vip":true}"#, Schedule::Stages);
    assert_eq!(states(&out), [Ok, Ok, Ok, Ok, NotNeeded]);
}

#[test]
fn a_required_call_not_needed_leaves_the_composition_resolved_with_its_deadline() {
    // Every other required call succeeded: the composition resolves, as with a skip.
    let sim = network(&[("customer", r#"{"id":7,"tier":"silver"}"#)]);
    let settings = Settings {
        deadline_ms: Some(1000.0),
        ..Settings::from(Schedule::Eager)
    };
    let out = run_to_end(&sim, &plan(LOYALTY), &json("{}"), settings);
    assert!(out.error.is_none());
    assert_eq!(out.records[2].state, CallState::NotNeeded);
}

/// One random call: the earlier calls it reads (`{c<j>.v}` in its URL) and those it is only
/// ordered after; the call its condition reads (`{c<j>.flag}` or `{input.flag}`), if any;
/// whether it has a fallback; and the `flag` its reply holds.
struct Random {
    reads: Vec<usize>,
    after: Vec<usize>,
    when: Option<Option<usize>>,
    fallback: bool,
    flag: bool,
}

fn random_plan(rng: &mut Lcg, n: usize) -> Vec<Random> {
    (0..n)
        .map(|i| {
            let mut reads = Vec::new();
            let mut after = Vec::new();
            for j in 0..i {
                match rng.next(6) {
                    0 => reads.push(j),
                    1 => after.push(j),
                    _ => {}
                }
            }
            let when = match rng.next(3) {
                0 => None,
                _ if i == 0 || rng.next(4) == 0 => Some(None),
                _ => Some(Some(rng.next(i as u64) as usize)),
            };
            Random {
                reads,
                after,
                when,
                fallback: rng.next(4) == 0,
                flag: rng.next(2) == 0,
            }
        })
        .collect()
}

fn plan_json(calls: &[Random]) -> String {
    let call = |(i, c): (usize, &Random)| {
        let path: String = c.reads.iter().map(|j| format!("/{{c{j}.v}}")).collect();
        let mut fields = vec![format!(r#""url":"http://svc/c{i}{path}""#)];
        if !c.after.is_empty() {
            let after: Vec<String> = c.after.iter().map(|j| format!(r#""c{j}""#)).collect();
            fields.push(format!(r#""after":[{}]"#, after.join(",")));
        }
        match c.when {
            Some(Some(j)) => fields.push(format!(r#""when":{{"equals":["{{c{j}.flag}}",true]}}"#)),
            Some(None) => fields.push(r#""when":{"equals":["{input.flag}",true]}"#.to_owned()),
            None => {}
        }
        if c.fallback {
            fields.push(r#""fallback":{"v":0,"flag":false}"#.to_owned());
        }
        format!(r#""c{i}":{{{}}}"#, fields.join(","))
    };
    let calls: Vec<String> = calls.iter().enumerate().map(call).collect();
    format!(r#"{{"calls":{{{}}}}}"#, calls.join(","))
}

#[test]
fn not_needed_reaches_exactly_the_readers_in_random_plans() {
    let mut rng = Lcg(7);
    for round in 0..300 {
        let n = 2 + rng.next(9) as usize;
        let calls = random_plan(&mut rng, n);
        let input_flag = rng.next(2) == 0;
        let src = plan_json(&calls);
        let flags: Vec<bool> = calls.iter().map(|c| c.flag).collect();
        let sim = Sim::new(move |req| -> Answer {
            let i: usize = service(&req.url)[1..].parse().unwrap();
            let body = json(&format!(r#"{{"v":{i},"flag":{}}}"#, flags[i]));
            (
                1.0 + (i % 3) as f64,
                Ok(Reply {
                    bytes: 0,
                    status: 200,
                    body,
                    replayed: false,
                }),
            )
        });
        let schedule = [Schedule::Eager, Schedule::Stages, Schedule::Sequential][round % 3];
        let input = format!(r#"{{"flag":{input_flag}}}"#);
        let (out, urls, events) = run(&sim, &src, &input, schedule);
        assert!(out.error.is_none(), "round {round}: {src}");
        // The model: in plan order, every call's inputs come before it. A call's flag
        // value as its dependents see it: its reply's, or its fallback's (false).
        let mut needed = vec![false; n];
        let mut flag_seen = vec![false; n];
        for (i, c) in calls.iter().enumerate() {
            let readable = |j: usize| needed[j] || calls[j].fallback;
            let holds = match c.when {
                None => true,
                Some(None) => input_flag,
                Some(Some(j)) => readable(j) && flag_seen[j],
            };
            let inputs_there =
                c.reads.iter().all(|&j| readable(j)) && c.when.flatten().map_or(true, readable);
            needed[i] = holds && inputs_there;
            flag_seen[i] = if needed[i] { c.flag } else { false };
        }
        for (i, record) in out.records.iter().enumerate() {
            let expected = if needed[i] {
                CallState::Ok
            } else {
                CallState::NotNeeded
            };
            assert_eq!(record.state, expected, "round {round}, c{i}: {src}");
            let sent = urls.iter().any(|u| service(u) == format!("c{i}"));
            assert_eq!(sent, needed[i], "round {round}, c{i} sent: {src}");
            assert_eq!(
                record.fell_back,
                !needed[i] && calls[i].fallback,
                "round {round}, c{i}"
            );
            let terminal = events
                .iter()
                .filter(|(call, kind)| *call == i && kind.is_terminal())
                .count();
            assert_eq!(terminal, 1, "round {round}, c{i}: one terminal event");
        }
    }
}
