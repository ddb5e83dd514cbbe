//! `forEach` in the scheduler, on the simulated network: one request per element, the
//! replies in list order whatever order they came in, records and events per item, the
//! call's own `concurrency`, one failed item failing the call (the others stopped, the
//! completed writes undone each with its own reply), and the limits on the list.

use crate::engine::events::{EventKind, OnEvent};
use crate::engine::outcome::Outcome;
use crate::engine::record::{CallState, CompensationState};
use crate::engine::settings::{Schedule, Settings};
use crate::engine::transport::{Reply, TransportError};
use crate::error::ErrorKind;
use crate::plan::json::Json;
use crate::tests::sim::{json, plan, run_to_end, service, Answer, Lcg, Sim};
use std::cell::RefCell;
use std::rc::Rc;

/// The cart's lines: the third one's reservation is the slowest, the first the fastest.
const CART: &str = r#"{"items":[{"sku":"a","ms":10},{"sku":"b","ms":30},{"sku":"c","ms":50},{"sku":"d","ms":20}]}"#;

/// A network where `http://svc/cart` answers [`CART`], `http://svc/reserve/<sku>` (or a
/// POST to `http://svc/reserve` with `{"sku": ...}`) answers `{"id": "r-<sku>"}` after the
/// line's `ms`, unless `fail` names the sku, and everything else `{"ok": true}` after 10 ms.
fn network(fail: Option<(&'static str, u16)>) -> Sim {
    Sim::new(move |req| -> Answer {
        let sku = match (&req.body, req.url.rsplit('/').next()) {
            (Some(body), _) => text(body.get("sku")),
            (None, Some(last)) if service(&req.url) == "reserve" => {
                last.split('?').next().map(str::to_owned)
            }
            _ => None,
        };
        let cart = json(CART);
        let line = cart.get("items").and_then(|items| match items {
            Json::Array(lines) => lines.iter().find(|l| text(l.get("sku")) == sku).cloned(),
            _ => None,
        });
        let ms = line
            .as_ref()
            .and_then(|l| l.get("ms"))
            .and_then(|m| match m {
                Json::Number(ms) => Some(*ms),
                _ => None,
            })
            .unwrap_or(10.0);
        if let (Some((bad, status)), Some(sku)) = (fail, &sku) {
            if sku == bad {
                return (ms, Err(TransportError::Status(status)));
            }
        }
        let body = match (service(&req.url).as_str(), &sku) {
            ("cart", _) => json(CART),
            ("reserve", Some(sku)) => json(&format!(r#"{{"id":"r-{sku}"}}"#)),
            _ => json(r#"{"ok":true}"#),
        };
        let reply = Reply {
            bytes: 0,
            status: 200,
            body,
            replayed: false,
        };
        (ms, Ok(reply))
    })
}

/// A JSON string's text.
fn text(value: Option<&Json>) -> Option<String> {
    match value {
        Some(Json::String(s)) => Some(s.clone()),
        _ => None,
    }
}

type Events = Vec<(usize, Option<usize>, EventKind)>;

/// Runs `src` under `settings`; its outcome and its events as `(call, item, kind)`.
fn run(sim: &Sim, src: &str, input: &str, settings: Settings) -> (Outcome<Json>, Events) {
    let events = Rc::new(RefCell::new(Vec::new()));
    let keep = events.clone();
    let settings = Settings {
        on_event: Some(OnEvent::new(move |e| {
            keep.borrow_mut().push((e.call, e.item, e.kind))
        })),
        ..settings
    };
    let out = run_to_end(sim, &plan(src), &json(input), settings);
    let events = events.borrow().clone();
    (out, events)
}

const RESERVE: &str = r#"{"calls":{
    "cart":    {"url":"http://svc/cart"},
    "reserve": {"url":"http://svc/reserve/{line.sku}?at={index}", "forEach":"{cart.items}", "as":"line"},
    "first":   {"url":"http://svc/first/{reserve.0.id}"},
    "all":     {"method":"POST","url":"http://svc/all","body":{"ids":"{reserve}"}}
}}"#;

#[test]
fn one_request_per_element_and_the_replies_in_list_order() {
    for schedule in [Schedule::Eager, Schedule::Stages, Schedule::Sequential] {
        let sim = network(None);
        let (out, events) = run(&sim, RESERVE, "{}", Settings::from(schedule));
        assert!(out.error.is_none(), "{schedule:?}: {:?}", out.error);
        let urls: Vec<String> = sim.seen().into_iter().map(|s| s.request.url).collect();
        for (index, sku) in ["a", "b", "c", "d"].iter().enumerate() {
            let url = format!("http://svc/reserve/{sku}?at={index}");
            assert!(urls.contains(&url), "{schedule:?}: {url} in {urls:?}");
        }
        assert_eq!(
            out.replies[1],
            Some(json(
                r#"[{"id":"r-a"},{"id":"r-b"},{"id":"r-c"},{"id":"r-d"}]"#
            )),
            "{schedule:?}: list order, not the order they came in"
        );
        assert!(urls.contains(&"http://svc/first/r-a".to_owned()));
        let all = sim
            .seen()
            .into_iter()
            .find(|s| s.request.url.ends_with("/all"));
        let ids = all
            .and_then(|s| s.request.body)
            .and_then(|b| b.get("ids").cloned());
        assert_eq!(ids, out.replies[1].clone(), "dependents read it whole");
        let record = &out.records[1];
        assert_eq!(record.state, CallState::Ok);
        assert_eq!(record.items().len(), 4);
        assert!(record
            .items()
            .iter()
            .all(|r| r.state == CallState::Ok && r.attempts == 1));
        assert_eq!(record.attempts, 4);
        assert_eq!(record.status, None);
        let first = record
            .items()
            .iter()
            .filter_map(|r| r.start_ms)
            .reduce(f64::min);
        assert!(record.start_ms.is_some() && record.start_ms <= first);
        // Each item's events, then the call's one terminal event.
        for item in 0..4 {
            let of_item: Vec<_> = events
                .iter()
                .filter(|e| e.0 == 1 && e.1 == Some(item))
                .map(|e| e.2.as_str())
                .collect();
            assert_eq!(of_item, ["start", "end"], "{schedule:?}: item {item}");
        }
        let last_of_call = events.iter().rposition(|e| e.0 == 1).unwrap();
        assert_eq!(events[last_of_call].1, None, "{schedule:?}: {events:?}");
        assert!(matches!(
            events[last_of_call].2,
            EventKind::End {
                state: CallState::Ok,
                attempts: 4,
                ..
            }
        ));
    }
}

#[test]
fn the_call_s_concurrency_bounds_its_items_in_flight() {
    let src = RESERVE.replace(r#""as":"line"}"#, r#""as":"line","concurrency":2}"#);
    for schedule in [Schedule::Eager, Schedule::Stages] {
        let sim = network(None);
        let (out, _) = run(&sim, &src, "{}", Settings::from(schedule));
        assert!(out.error.is_none());
        let spans: Vec<(f64, f64)> = sim
            .seen()
            .into_iter()
            .filter(|s| service(&s.request.url) == "reserve")
            .map(|s| (s.start, s.end.unwrap()))
            .collect();
        assert_eq!(spans.len(), 4);
        for &(start, _) in &spans {
            let in_flight = spans
                .iter()
                .filter(|(s, e)| *s <= start && start < *e)
                .count();
            assert!(
                in_flight <= 2,
                "{schedule:?}: {in_flight} in flight at {start}"
            );
        }
        let overlapped = spans
            .iter()
            .any(|&(s, _)| spans.iter().filter(|(s2, e2)| *s2 <= s && s < *e2).count() == 2);
        assert!(overlapped, "{schedule:?}: two at a time, not one");
    }
}

#[test]
fn an_empty_list_sends_nothing_and_replies_an_empty_array() {
    let src = r#"{"calls":{
        "each": {"url":"http://svc/each/{item}","forEach":"{input.ids}"},
        "after": {"method":"POST","url":"http://svc/after","body":{"got":"{each}"}}
    }}"#;
    let sim = network(None);
    let (out, _) = run(&sim, src, r#"{"ids":[]}"#, Settings::from(Schedule::Eager));
    assert!(out.error.is_none());
    assert_eq!(out.replies[0], Some(json("[]")));
    assert_eq!(out.records[0].state, CallState::Ok);
    assert!(out.records[0].items().is_empty());
    let urls: Vec<String> = sim.seen().into_iter().map(|s| s.request.url).collect();
    assert_eq!(urls, ["http://svc/after"]);
}

#[test]
fn a_list_that_is_no_array_fails_the_call_naming_it() {
    let src = r#"{"calls":{
        "cart": {"url":"http://svc/cart"},
        "bad":  {"url":"http://svc/x/{item}","forEach":"{cart.items.0}"},
        "inp":  {"url":"http://svc/y/{item}","forEach":"{input.ids}","optional":true}
    }}"#;
    let sim = network(None);
    let (out, _) = run(
        &sim,
        src,
        r#"{"ids":{"a":1}}"#,
        Settings::from(Schedule::Eager),
    );
    let error = out.error.expect("a required call failed");
    assert_eq!(error.kind(), ErrorKind::BadResponse);
    assert_eq!(error.call(), Some("bad"));
    assert!(
        error
            .message()
            .contains("`{cart.items.0}`, which is not an array"),
        "{error}"
    );
    let inp = out.records[2].error.as_ref().unwrap();
    assert_eq!(inp.kind(), ErrorKind::InvalidInput);
    assert!(inp.message().contains("`{input.ids}`"));
    assert!(sim.seen().iter().all(|s| service(&s.request.url) == "cart"));
}

#[test]
fn items_count_against_max_calls() {
    let src = r#"{"calls":{"each": {"url":"http://svc/each/{item}","forEach":"{input.ids}"}}}"#;
    let sim = network(None);
    let settings = Settings {
        max_calls: 3,
        ..Settings::from(Schedule::Eager)
    };
    let (out, _) = run(&sim, src, r#"{"ids":[1,2,3]}"#, settings);
    let error = out.error.expect("over the limit");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.message().contains("maxCalls (3)"), "{error}");
    assert!(sim.seen().is_empty(), "nothing of it was sent");
    let settings = Settings {
        max_calls: 3,
        ..Settings::from(Schedule::Eager)
    };
    let (out, _) = run(&network(None), src, r#"{"ids":[1,2]}"#, settings);
    assert!(out.error.is_none());
}

const SAGA: &str = r#"{"calls":{
    "cart":    {"url":"http://svc/cart"},
    "reserve": {"method":"POST","url":"http://svc/reserve","forEach":"{cart.items}","as":"line",
                "body":{"sku":"{line.sku}","at":"{index}"},
                "compensate":{"method":"DELETE","url":"http://svc/release/{reserve.id}?line={line.sku}"}},
    "pay":     {"method":"POST","url":"http://svc/pay","after":["reserve"]}
}}"#;

#[test]
fn a_failed_item_fails_the_call_stops_the_others_and_the_completed_ones_are_undone() {
    // `b` fails at 30 ms (HTTP 400, not retried): `a` (10 ms) and `d` (20 ms) are done,
    // `c` (50 ms) is on the wire.
    let sim = network(Some(("b", 400)));
    let (out, events) = run(&sim, SAGA, "{}", Settings::from(Schedule::Eager));
    let error = out.error.expect("the call failed");
    assert_eq!(error.call(), Some("reserve"));
    assert_eq!(error.item(), Some(1));
    assert!(
        error.message().starts_with("call `reserve` ")
            && error.message().ends_with(" (item 1 of its list)"),
        "{error}"
    );
    let record = &out.records[1];
    assert_eq!(record.state, CallState::Failed);
    let items: Vec<CallState> = record.items().iter().map(|r| r.state).collect();
    // `c` was on the wire when `b` failed: a write, so its outcome is unknown.
    assert_eq!(
        items,
        [
            CallState::Ok,
            CallState::Failed,
            CallState::Unknown,
            CallState::Ok
        ]
    );
    assert_eq!(out.records[2].state, CallState::Skipped);
    let seen = sim.seen();
    let c = seen.iter().find(|s| {
        s.request.body.as_ref().and_then(|b| b.get("sku").cloned()) == Some(json(r#""c""#))
    });
    assert!(c.unwrap().aborted, "the item in flight was aborted");
    // Each completed item undone with its own reply and its own element, last first;
    // the unknown one is listed, left alone.
    let undone: Vec<(usize, Option<usize>, CompensationState)> = out
        .compensations
        .iter()
        .map(|c| (c.call, c.item, c.state))
        .collect();
    use CompensationState::{NotRun, Ok};
    assert_eq!(
        undone,
        [(1, Some(2), NotRun), (1, Some(3), Ok), (1, Some(0), Ok)]
    );
    let reason = out.compensations[0].reason.as_deref().unwrap();
    assert!(
        reason.starts_with("`reserve` (item 2) was not undone: its outcome is unknown"),
        "{reason}"
    );
    let releases: Vec<String> = seen
        .iter()
        .filter(|s| service(&s.request.url) == "release")
        .map(|s| s.request.url.clone())
        .collect();
    assert_eq!(
        releases,
        [
            "http://svc/release/r-d?line=d",
            "http://svc/release/r-a?line=a"
        ]
    );
    let compensated: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.2, EventKind::Compensate { .. }))
        .map(|e| (e.0, e.1))
        .collect();
    assert_eq!(compensated, [(1, Some(2)), (1, Some(3)), (1, Some(0))]);
}

#[test]
fn with_an_operation_id_each_item_s_write_has_its_own_key() {
    // `pay` is refused after every item completed: each is undone.
    let src = SAGA.replace(
        r#""url":"http://svc/pay","after":["reserve"]"#,
        r#""url":"http://svc/pay","after":["reserve"],"body":{"sku":"none"}"#,
    );
    let sim = network(Some(("none", 400)));
    let settings = Settings {
        operation_id: Some("op".into()),
        ..Settings::from(Schedule::Eager)
    };
    let (out, _) = run(&sim, &src, "{}", settings);
    assert_eq!(out.error.and_then(|e| e.status()), Some(400));
    let keys: Vec<String> = sim
        .seen()
        .iter()
        .filter_map(|s| {
            let key = s
                .request
                .headers
                .iter()
                .find(|(k, _)| k == "Idempotency-Key");
            key.map(|(_, v)| v.clone())
        })
        .collect();
    for index in 0..4 {
        for key in [
            format!("op:reserve:{index}"),
            format!("op:reserve.compensate:{index}"),
        ] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
    }
}

#[test]
fn a_fallback_stands_for_the_whole_call() {
    let src = r#"{"calls":{
        "cart":    {"url":"http://svc/cart"},
        "reserve": {"url":"http://svc/reserve/{item.sku}","forEach":"{cart.items}","fallback":[]},
        "next":    {"method":"POST","url":"http://svc/next","body":{"got":"{reserve}"}}
    }}"#;
    let sim = network(Some(("a", 404)));
    let (out, _) = run(&sim, src, "{}", Settings::from(Schedule::Eager));
    assert!(out.error.is_none());
    let record = &out.records[1];
    assert_eq!(record.state, CallState::Failed);
    assert!(record.fell_back);
    assert_eq!(record.error.as_ref().unwrap().item(), Some(0));
    assert_eq!(out.replies[1], Some(json("[]")));
    // Reads in flight were stopped when `a` failed.
    let items: Vec<CallState> = record.items().iter().map(|r| r.state).collect();
    assert_eq!(items[0], CallState::Failed);
    assert!(
        items[1..].iter().all(|&s| s == CallState::Cancelled),
        "{items:?}"
    );
}

#[test]
fn identical_item_reads_are_sent_once() {
    let src = r#"{"calls":{
        "each": {"url":"http://svc/product/{item}","forEach":"{input.skus}"}
    }}"#;
    let sim = network(None);
    let (out, _) = run(
        &sim,
        src,
        r#"{"skus":["a","b","a","a"]}"#,
        Settings::from(Schedule::Eager),
    );
    assert!(out.error.is_none());
    assert_eq!(sim.seen().len(), 2);
    let shared: Vec<Option<usize>> = out.records[0]
        .items()
        .iter()
        .map(|r| r.shared_from)
        .collect();
    assert_eq!(shared, [None, None, Some(0), Some(0)]);
}

#[test]
fn an_element_without_the_field_a_template_reads_names_its_position() {
    let src = r#"{"calls":{
        "each": {"url":"http://svc/product/{item.sku}","forEach":"{input.lines}"}
    }}"#;
    let sim = network(None);
    let input = r#"{"lines":[{"sku":"a"},{"nope":1}]}"#;
    let (out, _) = run(&sim, src, input, Settings::from(Schedule::Sequential));
    let error = out.error.expect("the second element has no sku");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.item(), Some(1));
    assert!(
        error
            .message()
            .contains("element 1 of its list has no `sku`"),
        "{error}"
    );
}

/// One call of a random plan: what it waits for, whether it fans out (over the input's
/// list or over an earlier call's reply), its method, and whether it may fail.
struct Random {
    reads: Vec<usize>,
    over: Option<Option<usize>>,
    concurrency: Option<usize>,
    write: bool,
    optional: bool,
}

fn random_plan(rng: &mut Lcg, n: usize) -> Vec<Random> {
    (0..n)
        .map(|i| {
            let reads = (0..i).filter(|_| rng.next(4) == 0).collect::<Vec<_>>();
            let over = match rng.next(3) {
                0 => None,
                _ if reads.is_empty() || rng.next(3) == 0 => Some(None),
                _ => Some(Some(reads[rng.next(reads.len() as u64) as usize])),
            };
            Random {
                reads,
                over,
                concurrency: [None, Some(1), Some(2)][rng.next(3) as usize],
                write: rng.next(3) == 0,
                optional: rng.next(4) == 0,
            }
        })
        .collect()
}

fn random_json(calls: &[Random]) -> String {
    let call = |(i, c): (usize, &Random)| {
        let path: String = c.reads.iter().map(|j| format!("/{{c{j}.v}}")).collect();
        let item = if c.over.is_some() {
            "/{item}/{index}"
        } else {
            ""
        };
        let mut fields = vec![format!(r#""url":"http://svc/c{i}{path}{item}""#)];
        match c.over {
            Some(Some(j)) => fields.push(format!(r#""forEach":"{{c{j}.list}}""#)),
            Some(None) => fields.push(format!(r#""forEach":"{{input.c{i}}}""#)),
            None => {}
        }
        if let Some(limit) = c.concurrency.filter(|_| c.over.is_some()) {
            fields.push(format!(r#""concurrency":{limit}"#));
        }
        if c.write {
            fields.push(r#""method":"POST""#.to_owned());
            let undo =
                format!(r#""compensate":{{"method":"DELETE","url":"http://svc/undo/c{i}{item}"}}"#);
            fields.push(undo);
        }
        if c.optional {
            fields.push(r#""optional":true"#.to_owned());
        }
        format!(r#""c{i}":{{{}}}"#, fields.join(","))
    };
    let calls: Vec<String> = calls.iter().enumerate().map(call).collect();
    format!(r#"{{"calls":{{{}}}}}"#, calls.join(","))
}

/// The simulated network of a random round: `http://svc/c<i>...` answers `{"v": i,
/// "list": [...]}` with `lists[i]` elements after 1-3 ms, or HTTP 400 when `fails` says so
/// of the request's last path segment (`e<j>` for an element, or the call's name).
fn random_network(lists: Vec<usize>, fails: Vec<String>) -> Sim {
    Sim::new(move |req| -> Answer {
        let name = service(&req.url);
        let last = req.url.rsplit('/').nth(1).unwrap_or_default().to_owned();
        let ms = 1.0 + (req.url.len() % 3) as f64;
        if fails.contains(&last) || fails.contains(&req.url) {
            return (ms, Err(TransportError::Status(400)));
        }
        let body = match name[1..].parse::<usize>() {
            Ok(i) if name.starts_with('c') => {
                let list: Vec<String> = (0..lists[i]).map(|e| format!(r#""e{i}x{e}""#)).collect();
                json(&format!(r#"{{"v":{i},"list":[{}]}}"#, list.join(",")))
            }
            _ => json("{}"),
        };
        let reply = Reply {
            bytes: 0,
            status: 200,
            body,
            replayed: false,
        };
        (ms, Ok(reply))
    })
}

#[test]
fn random_fan_outs_keep_their_limits_their_order_and_their_records() {
    let mut rng = Lcg(11);
    // How often the rounds met what they are about: an item's failure, an undone item.
    let (mut item_failures, mut undone_items) = (0, 0);
    for round in 0..300 {
        let n = 1 + rng.next(7) as usize;
        let calls = random_plan(&mut rng, n);
        let lists: Vec<usize> = (0..n).map(|_| rng.next(5) as usize).collect();
        let input: Vec<String> = (0..n)
            .map(|i| {
                let list: Vec<String> = (0..lists[i]).map(|e| format!(r#""e{i}x{e}""#)).collect();
                format!(r#""c{i}":[{}]"#, list.join(","))
            })
            .collect();
        let input = format!("{{{}}}", input.join(","));
        let mut fails = Vec::new();
        for (i, &len) in lists.iter().enumerate() {
            for e in 0..len {
                if rng.next(12) == 0 {
                    fails.push(format!("e{i}x{e}"));
                }
            }
        }
        let src = random_json(&calls);
        let sim = random_network(lists.clone(), fails.clone());
        let schedule = [Schedule::Eager, Schedule::Stages, Schedule::Sequential][round % 3];
        let (out, events) = run(&sim, &src, &input, Settings::from(schedule));
        let seen = sim.seen();
        let ctx = format!("round {round}: {src} {input} fails {fails:?}");
        for (i, c) in calls.iter().enumerate() {
            let record = &out.records[i];
            let terminal = |item: Option<usize>| {
                let of = events.iter().filter(|e| e.0 == i && e.1 == item);
                of.filter(|e| e.2.is_terminal()).count()
            };
            assert_eq!(terminal(None), 1, "c{i}: one terminal event; {ctx}");
            if c.over.is_none() {
                continue;
            }
            for (k, item) in record.items().iter().enumerate() {
                assert_eq!(terminal(Some(k)), 1, "c{i}[{k}]; {ctx}");
                let starts = events.iter().filter(|e| e.0 == i && e.1 == Some(k));
                let starts = starts.filter(|e| e.2.as_str() == "start").count();
                assert_eq!(starts as u32, item.attempts, "c{i}[{k}]; {ctx}");
            }
            let spans: Vec<(f64, f64)> = seen
                .iter()
                .filter(|s| service(&s.request.url) == format!("c{i}"))
                .map(|s| (s.start, s.end.unwrap_or(f64::INFINITY)))
                .collect();
            let limit = c.concurrency.unwrap_or(usize::MAX);
            for &(start, _) in &spans {
                let in_flight = spans
                    .iter()
                    .filter(|(s, e)| *s <= start && start < *e)
                    .count();
                assert!(in_flight <= limit, "c{i}: {in_flight} in flight; {ctx}");
            }
            if record.state == CallState::Ok {
                let len = match &out.replies[i] {
                    Some(Json::Array(items)) => items.len(),
                    other => panic!("c{i} replied {other:?}; {ctx}"),
                };
                assert_eq!(len, record.items().len(), "c{i}; {ctx}");
                assert!(
                    record.items().iter().all(|r| r.state == CallState::Ok),
                    "{ctx}"
                );
            }
            if let Some(k) = record.error.as_ref().and_then(|e| e.item()) {
                assert_eq!(
                    record.items()[k].state,
                    CallState::Failed,
                    "c{i}[{k}]; {ctx}"
                );
            }
        }
        if let Some(k) = out.error.as_ref().and_then(|e| e.item()) {
            item_failures += 1;
            let call = out.error.as_ref().and_then(|e| e.call()).unwrap();
            let i: usize = call[1..].parse().unwrap();
            assert_eq!(out.records[i].items()[k].state, CallState::Failed, "{ctx}");
        }
        // A failed composition undoes every completed write item once; a success none.
        let mut expected: Vec<(usize, Option<usize>)> = Vec::new();
        if out.error.is_some() {
            for (i, c) in calls.iter().enumerate().filter(|(_, c)| c.write) {
                let record = &out.records[i];
                if c.over.is_none() {
                    if matches!(record.state, CallState::Ok | CallState::Unknown) {
                        expected.push((i, None));
                    }
                    continue;
                }
                for (k, item) in record.items().iter().enumerate() {
                    if matches!(item.state, CallState::Ok | CallState::Unknown) {
                        expected.push((i, Some(k)));
                    }
                }
            }
        }
        let mut undone: Vec<(usize, Option<usize>)> =
            out.compensations.iter().map(|c| (c.call, c.item)).collect();
        undone.sort();
        expected.sort();
        assert_eq!(undone, expected, "{ctx}");
        undone_items += undone.iter().filter(|(_, item)| item.is_some()).count();
    }
    assert!(
        item_failures > 20 && undone_items > 20,
        "{item_failures} {undone_items}"
    );
}

/// A network for items' policies: `http://svc/each/<x>` answers after 10 ms, but `slow`
/// after 100 ms, and `flaky` first with HTTP 503, then as the others.
fn policy_network() -> Sim {
    let tried = Rc::new(RefCell::new(Vec::<String>::new()));
    Sim::new(move |req| -> Answer {
        let last = req.url.rsplit('/').next().unwrap_or_default().to_owned();
        let first = !tried.borrow().contains(&last);
        tried.borrow_mut().push(last.clone());
        if last == "flaky" && first {
            return (10.0, Err(TransportError::Status(503)));
        }
        let ms = if last == "slow" { 100.0 } else { 10.0 };
        let reply = Reply {
            bytes: 0,
            status: 200,
            body: json(&format!(r#"{{"x":"{last}"}}"#)),
            replayed: false,
        };
        (ms, Ok(reply))
    })
}

const EACH: &str =
    r#"{"calls":{"each":{"url":"http://svc/each/{item}","forEach":"{input.xs}","timeoutMs":50}}}"#;

#[test]
fn an_item_is_retried_queued_timed_out_and_traced_as_a_call_is() {
    // Retried: the flaky item's 503 is followed by a second attempt, with its events.
    let sim = policy_network();
    let (out, events) = run(
        &sim,
        EACH,
        r#"{"xs":["a","flaky"]}"#,
        Settings::from(Schedule::Eager),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.records[0].items()[1].attempts, 2);
    let flaky: Vec<&str> = events
        .iter()
        .filter(|e| e.1 == Some(1))
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(flaky, ["start", "retry", "start", "end"]);

    // Queued: with one request at a time overall, the items never overlap.
    let sim = policy_network();
    let settings = Settings {
        concurrency: crate::engine::concurrency::Concurrency {
            max: Some(1),
            per_origin: None,
        },
        ..Settings::from(Schedule::Eager)
    };
    let (out, _) = run(&sim, EACH, r#"{"xs":["a","b","c"]}"#, settings);
    assert!(out.error.is_none());
    let spans: Vec<(f64, f64)> = sim
        .seen()
        .iter()
        .map(|s| (s.start, s.end.unwrap()))
        .collect();
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "one at a time: {spans:?}");
    }
    assert!(out.records[0].items().iter().any(|r| r.queued_ms > 0.0));

    // Timed out: the slow item runs past the call's 50 ms, and fails the call.
    let sim = policy_network();
    let (out, _) = run(
        &sim,
        EACH,
        r#"{"xs":["a","slow"]}"#,
        Settings::from(Schedule::Eager),
    );
    let error = out.error.expect("the slow item timed out");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.item(), Some(1));

    // Traced: each item's request carries a span of its own.
    let sim = policy_network();
    let trace = crate::engine::trace::TraceContext::new([7; 24], vec!["http://svc".into()], None);
    let settings = Settings {
        trace: Some(trace),
        ..Settings::from(Schedule::Eager)
    };
    let (out, _) = run(&sim, EACH, r#"{"xs":["a","b","c"]}"#, settings);
    assert!(out.error.is_none());
    let mut spans: Vec<String> = sim
        .seen()
        .iter()
        .filter_map(|s| {
            let header = s.request.headers.iter().find(|(k, _)| k == "traceparent");
            header.map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(spans.len(), 3, "every item traced");
    spans.sort();
    spans.dedup();
    assert_eq!(spans.len(), 3, "each with its own span");
}
