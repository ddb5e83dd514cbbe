//! Compensation, the saga pattern: when a composition fails after some writes completed,
//! the writes that declared how to undo themselves are undone, last finished first.
//!
//! A compensation is itself a write that can fail, so each one is reported with its own
//! outcome; together with the call records this lists every write that reached a service
//! and what became of it. Compensations are retried like keyed writes (each carries an
//! `Idempotency-Key`), bounded by their own time limit rather than the composition's
//! deadline: a held reservation costs more than a late rejection.
//!
//! A fan-out call's items are undone one by one, each completed write item with its own
//! reply (its compensation reads it as the call's) and its own key.

use crate::engine::composition::Composition;
use crate::engine::failure::transport_error;
use crate::engine::idempotency::add_idempotency_key;
use crate::engine::record::{CallRecord, CallState, Compensation, CompensationState};
use crate::engine::retry::Decision;
use crate::engine::scope::Scope;
use crate::engine::settings::Settings;
use crate::engine::transport::Sent;
use crate::engine::transport::{Clock, Reply, Transport, TransportError};
use crate::plan::value::Value;
use crate::plan::Plan;
use futures::future::{select, Either};
use std::collections::BinaryHeap;
use std::future::Future;

/// What sending needs: the transport, the clock, the settings and the composition's
/// time origin.
pub(crate) struct Sender<'a, T, C> {
    pub transport: &'a T,
    pub clock: &'a C,
    pub settings: &'a Settings,
    pub origin: f64,
}

/// Whether call `i`'s reply came back replayed (`Idempotent-Replayed`) for a key another
/// composition may have used: one made from `operationId`, or written in the plan. A key
/// this composition drew at random can only have been used by its own earlier attempt, so
/// that write is its own to undo.
fn replayed_for_a_shared_key(
    plan: &Plan,
    (records, call): (&[CallRecord], usize),
    i: usize,
    settings: &Settings,
) -> bool {
    let keyed_by_plan = plan.calls()[call]
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(crate::engine::idempotency::IDEMPOTENCY_KEY));
    records[i].replayed && (settings.operation_id.is_some() || keyed_by_plan)
}

/// Why a write stays as it is instead of being undone.
enum Left {
    /// The caller aborted: nothing is sent after an abort.
    Aborted,
    /// Its own outcome is unknown: there is no reply to undo it from.
    Unknown,
    /// Its reply was replayed: an earlier request with the same key made it, an earlier
    /// submission's, or one of its own that the network or the browser repeated (a
    /// browser resends a request by itself when a reused connection closes before any
    /// reply byte). Which, cannot be told; an earlier submission's order may rest on it.
    Replayed,
    /// An unknown write depends on it and may have used it.
    HeldBy(usize),
    /// With an operationId, the operation is left whole for a resubmission, because of
    /// this write: unknown, or (`true`) replayed.
    Resumable(usize, bool),
}

impl Left {
    /// Why the write of `name` (the call's name in backquotes, and which item) stays.
    fn reason(&self, calls: &[crate::plan::Call], name: &str) -> String {
        let whole = "the operation is left whole for a resubmission under the same operationId";
        match self {
            Left::Aborted => format!(
                "{name} was not undone: the composition was aborted, and nothing is sent after an abort"
            ),
            Left::Unknown => format!(
                "{name} was not undone: its outcome is unknown, so there is no reply to undo it from"
            ),
            Left::Replayed => format!(
                "{name} was not undone: the service replayed its reply (Idempotent-Replayed), so an earlier \
                 request with the same Idempotency-Key made it, an earlier submission's (whose order may rest \
                 on it) or a repeat of this one's; {whole}"
            ),
            Left::HeldBy(u) => {
                let u = &calls[*u].name;
                format!(
                    "{name} was not undone: `{u}` depends on it and its outcome is unknown; undoing {name} could break what `{u}` did"
                )
            }
            Left::Resumable(u, replayed) => {
                let u = &calls[*u].name;
                let why = if *replayed {
                    format!("`{u}` was replayed, so an earlier submission may be under way")
                } else {
                    format!("the outcome of `{u}` is unknown")
                };
                format!("{name} was not undone: {why}, so {whole}, which gets {name} back by key")
            }
        }
    }
}

/// For each call, the unknown write that depends on it, if any: that write may have acted
/// on it, so undoing it could break what that write did.
fn held_by<V: Value>(state: &Composition<'_, V>) -> Vec<Option<usize>> {
    let calls = state.plan.calls();
    let mut held_by: Vec<Option<usize>> = vec![None; calls.len()];
    for (u, record) in state.records.iter().enumerate() {
        let u = state.call_of(u);
        if record.state == CallState::Unknown {
            let mut stack = calls[u].deps.clone();
            while let Some(j) = stack.pop() {
                if held_by[j].is_none() {
                    held_by[j] = Some(u);
                    stack.extend_from_slice(&calls[j].deps);
                }
            }
        }
    }
    held_by
}

/// Why call (or item) `i`, a completed write with a compensation, is left as it is, if it
/// is.
fn left_alone<V: Value>(
    state: &Composition<'_, V>,
    i: usize,
    aborted: bool,
    settings: &Settings,
    held_by: &[Option<usize>],
    resumable: Option<(usize, bool)>,
) -> Option<Left> {
    let (records, call) = (&state.records[..], state.call_of(i));
    if replayed_for_a_shared_key(state.plan, (records, call), i, settings) {
        return Some(Left::Replayed);
    }
    if aborted {
        return Some(Left::Aborted);
    }
    if records[i].state == CallState::Unknown {
        return Some(Left::Unknown);
    }
    held_by[call]
        .map(Left::HeldBy)
        .or(resumable.map(|(u, replayed)| Left::Resumable(u, replayed)))
}

/// The writes to undo (calls, or a fan-out call's items), last finished first (later in
/// the plan first among equal times), each with why it must stay as it is, if it must,
/// and whether its reply was replayed.
fn due<V: Value>(
    state: &Composition<'_, V>,
    aborted: bool,
    settings: &Settings,
) -> Vec<(usize, Option<String>, bool)> {
    let (plan, records) = (state.plan, &state.records[..]);
    let calls = plan.calls();
    let held_by = held_by(state);
    // A resubmission under the same operationId can finish what an unknown write left
    // open, but only if nothing was undone: an undone write comes back by key undone (a
    // released reservation), and the operation could never complete. So once a write is
    // unknown, or was replayed (an earlier submission may be under way), nothing is undone.
    let resumable = (0..records.len()).find_map(|u| {
        let call = state.call_of(u);
        let replayed = replayed_for_a_shared_key(plan, (records, call), u, settings);
        let unknown = settings.operation_id.is_some() && records[u].state == CallState::Unknown;
        (unknown || replayed).then_some((call, replayed))
    });
    // Last finished first, the later call first on a tie: the order a max-heap of
    // `(end, index)` pops. `to_bits` orders times that are not negative (`+ 0.0` makes a
    // -0 a 0) as the times themselves. A heap because timeouts.rs has one already: a
    // sort would add its own 2.6 KB to the .wasm.
    let end = |i: usize| (records[i].end_ms.unwrap_or(0.0) + 0.0).to_bits();
    // A fan-out call's items are undone, not the call.
    let fans = |i: usize| i < calls.len() && calls[i].for_each.is_some();
    let mut due: BinaryHeap<(u64, usize)> = (0..records.len())
        .filter(|&i| {
            calls[state.call_of(i)].compensate.is_some()
                && !fans(i)
                && matches!(records[i].state, CallState::Ok | CallState::Unknown)
        })
        .map(|i| (end(i), i))
        .collect();
    std::iter::from_fn(|| due.pop().map(|(_, i)| i))
        .map(|i| {
            let left = left_alone(state, i, aborted, settings, &held_by, resumable);
            let reason = left.as_ref().map(|l| l.reason(calls, &who(state, i)));
            (i, reason, records[i].replayed && left.is_some())
        })
        .collect()
}

/// The call (or item) `i` as messages name it: `` `reserve` `` or `` `reserve` (item 2) ``.
fn who<V: Value>(state: &Composition<'_, V>, i: usize) -> String {
    let name = &state.plan.calls()[state.call_of(i)].name;
    match state.item_of(i) {
        Some((_, index)) => format!("`{name}` (item {index})"),
        None => format!("`{name}`"),
    }
}

/// Undoes the completed writes of a failed composition (`state`, over `input`), one after
/// another, last finished first, and reports each. After an abort nothing is sent: every
/// one is `not-run`; an abort while they run (`cancel`) stops them the same way.
pub(crate) async fn compensate<T: Transport, C: Clock>(
    state: &Composition<'_, T::Value>,
    input: &T::Value,
    aborted: bool,
    sender: Sender<'_, T, C>,
    cancel: impl Future<Output = ()> + Clone + Unpin,
) -> Vec<Compensation> {
    let plan = state.plan;
    let mut stopped = aborted;
    let mut out = Vec::new();
    for (i, reason, replayed) in due(state, aborted, sender.settings) {
        let mut done = Compensation {
            call: state.call_of(i),
            item: state.item_of(i).map(|(_, index)| index),
            state: CompensationState::NotRun,
            status: None,
            attempts: 0,
            error: None,
            reason,
            start_ms: None,
            end_ms: None,
            replayed,
        };
        if stopped && done.reason.is_none() {
            done.reason = Some(format!(
                "{} was not undone: the composition was aborted, and nothing is sent after an abort",
                who(state, i)
            ));
        }
        if done.reason.is_none() {
            let scope = state.scope(i, input);
            let span = state.records.len() + i;
            stopped = undo(&scope, &sender, &mut done, (span, cancel.clone())).await;
        }
        // Each outcome is reported to the progress observer the moment it is known.
        let now = || sender.clock.now() - sender.origin;
        crate::engine::events::compensated(sender.settings.on_event.as_ref(), plan, &done, now);
        out.push(done);
    }
    out
}

/// Runs the compensation of `done.call`, retrying it like a keyed write, each attempt
/// within its own time limit (not the composition's deadline). Returns whether the
/// caller's abort stopped it, after which nothing more is sent.
async fn undo<T: Transport, C: Clock>(
    scope: &Scope<'_, T::Value>,
    sender: &Sender<'_, T, C>,
    done: &mut Compensation,
    (span, cancel): (usize, impl Future<Output = ()> + Clone + Unpin),
) -> bool {
    let (transport, clock, settings) = (sender.transport, sender.clock, sender.settings);
    let plan = scope.plan();
    let Some(undo) = plan.calls()[done.call].compensate.as_deref() else {
        return false;
    };
    let mut request = match scope.request(undo, None) {
        Ok(request) => request,
        Err(e) => {
            done.state = CompensationState::Failed;
            done.error = Some(e);
            return false;
        }
    };
    let key = crate::engine::fan_out::key_name(&undo.name, done.item);
    add_idempotency_key(&mut request, &key, settings, transport);
    if let Some(trace) = &settings.trace {
        // Span ids past the calls and items are the compensations' own.
        trace.add_to(&mut request, span);
    }
    done.start_ms = Some(clock.now() - sender.origin);
    let limit = undo.timeout_ms.unwrap_or(settings.timeout_ms);
    let stopped = loop {
        done.attempts += 1;
        let attempt = select(transport.send(&request), clock.sleep(limit));
        let result = match select(attempt, cancel.clone()).await {
            Either::Left((Either::Left((result, _)), _)) => result,
            // Out of time: the request is dropped, which aborts it.
            Either::Left((Either::Right(((), _)), _)) => Err(TransportError::TimedOut {
                after_ms: limit,
                deadline: false,
            }),
            Either::Right(((), _)) => {
                done.state = CompensationState::Unknown;
                done.error = Some(crate::error::Error::new(
                    crate::error::ErrorKind::Aborted,
                    format!("`{}` was aborted by the signal while it ran", undo.name),
                ));
                break true;
            }
        };
        let Some(wait) = judge_undo(done, undo, result, &request, scope, sender) else {
            break false;
        };
        if let Either::Right(_) = select(clock.sleep(wait), cancel.clone()).await {
            break true;
        }
    };
    done.end_ms = Some(clock.now() - sender.origin);
    stopped
}

/// Records what one attempt of a compensation came to; returns the wait before the next
/// attempt when it is retried.
fn judge_undo<T: Transport, C: Clock>(
    done: &mut Compensation,
    undo: &crate::plan::Call,
    result: Sent<T::Value>,
    request: &crate::engine::transport::Request<T::Value>,
    scope: &Scope<'_, T::Value>,
    sender: &Sender<'_, T, C>,
) -> Option<f64> {
    // Nobody reads a compensation's reply: an empty 2xx (a 204 to a DELETE) is fine.
    let e = match result {
        Ok(Reply { status, .. }) | Err(TransportError::Empty { status, .. }) => {
            done.state = CompensationState::Ok;
            done.status = Some(status);
            return None;
        }
        Err(e) => e,
    };
    done.status = e.status();
    // Once an attempt may have been carried out, a later refusal does not undo it.
    let unknown = e.may_have_acted() || done.state == CompensationState::Unknown;
    let decision = sender.settings.retry.decide(
        done.attempts,
        &e,
        true,
        f64::INFINITY,
        true,
        sender.transport.random(),
    );
    done.state = if unknown {
        CompensationState::Unknown
    } else {
        CompensationState::Failed
    };
    done.error = Some(transport_error(undo, e, Some((request, scope))));
    match decision {
        Decision::RetryAfter(wait) => Some(wait),
        Decision::Stop => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hooks::NoHooks;
    use crate::engine::outcome::Outcome;
    use crate::engine::run::run;
    use crate::engine::settings::{Schedule, Settings};
    use crate::engine::transport::Request;
    use crate::error::ErrorKind;
    use crate::plan::json::Json;
    use crate::tests::sim::json;
    use crate::tests::sim::{Answer, Sim};

    /// A saga: `reserve` and `charge` are writes that declare how to undo themselves,
    /// `quote` is a write that does not, and `place` needs them all.
    const SAGA: &str = r#"{"calls":{
        "reserve": {"method":"POST","url":"http://svc/reserve",
                    "compensate":{"method":"DELETE","url":"http://svc/release/{reserve.id}"}},
        "quote":   {"method":"POST","url":"http://svc/quote"},
        "charge":  {"method":"POST","url":"http://svc/charge","after":["quote"],
                    "compensate":{"method":"POST","url":"http://svc/void/{charge.id}","body":{"why":"{input.why}"}}},
        "place":   {"method":"POST","url":"http://svc/place","after":["reserve","charge"]}
    }}"#;

    /// Each service's path segment after `http://svc/`.
    fn service(req: &Request<Json>) -> String {
        req.url["http://svc/".len()..]
            .split('/')
            .next()
            .unwrap()
            .to_owned()
    }

    /// `reserve` takes 30 ms, `charge` 20 ms after `quote`'s 20; what `answer` gives for
    /// a service overrides the default 200 reply `{"id": "<service>-1"}`.
    fn saga_network(answer: impl Fn(&str, usize) -> Option<Answer> + 'static) -> Sim {
        let count = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
        Sim::new(move |req| -> Answer {
            let name = service(req);
            count.borrow_mut().push(name.clone());
            let nth = count.borrow().iter().filter(|n| **n == name).count();
            answer(&name, nth).unwrap_or_else(|| {
                let ms = if name == "reserve" { 30.0 } else { 20.0 };
                let body = json(&format!(r#"{{"id":"{name}-1"}}"#));
                (ms, Ok(Reply::new(200, body)))
            })
        })
    }

    fn go(sim: &Sim, plan: &str, cancel_at: Option<f64>) -> Outcome<Json> {
        let p = Plan::from_json(&json(plan)).unwrap();
        let input = json(r#"{"why":"order failed"}"#);
        let cancel = async {
            match cancel_at {
                Some(ms) => sim.sleep(ms).await,
                None => std::future::pending().await,
            }
        };
        sim.block_on(run(&p, &input, sim, sim, &NoHooks, Schedule::Eager, cancel))
    }

    fn urls(sim: &Sim) -> Vec<(String, String)> {
        sim.seen()
            .iter()
            .map(|s| (s.request.method.to_string(), s.request.url.clone()))
            .collect()
    }

    fn summary(out: &Outcome<Json>, plan: &str) -> Vec<(String, CompensationState)> {
        let p = Plan::from_json(&json(plan)).unwrap();
        out.compensations
            .iter()
            .map(|c| (p.calls()[c.call].name.clone(), c.state))
            .collect()
    }

    #[test]
    fn a_later_failure_undoes_completed_writes_last_first() {
        let sim = saga_network(|name, _| {
            (name == "place").then_some((10.0, Err(TransportError::Status(409))))
        });
        let out = go(&sim, SAGA, None);
        let e = out.error.as_ref().unwrap();
        assert_eq!((e.kind(), e.call()), (ErrorKind::HttpStatus, Some("place")));
        // charge ended at 40 ms, reserve at 30: charge is undone first.
        assert_eq!(
            summary(&out, SAGA),
            [
                ("charge".into(), CompensationState::Ok),
                ("reserve".into(), CompensationState::Ok)
            ]
        );
        let seen = urls(&sim);
        assert_eq!(
            seen[seen.len() - 2..],
            [
                ("POST".into(), "http://svc/void/charge-1".into()),
                ("DELETE".into(), "http://svc/release/reserve-1".into())
            ]
        );
        let void = &sim.seen()[seen.len() - 2].request;
        assert_eq!(void.body, Some(json(r#"{"why":"order failed"}"#)));
        assert!(
            void.headers
                .iter()
                .any(|(k, v)| k == "Idempotency-Key" && !v.is_empty()),
            "a compensation is a keyed write, safe to retry"
        );
        let c = &out.compensations[0];
        assert_eq!((c.status, c.attempts), (Some(200), 1));
        assert!(c.start_ms.unwrap() >= 50.0, "undone only after the failure");
    }

    fn go_as(sim: &Sim, plan: &str, operation: Option<&str>) -> Outcome<Json> {
        let p = Plan::from_json(&json(plan)).unwrap();
        let input = json(r#"{"why":"order failed"}"#);
        let settings = Settings {
            operation_id: operation.map(str::to_owned),
            ..Settings::from(Schedule::Eager)
        };
        sim.block_on(run(
            &p,
            &input,
            sim,
            sim,
            &NoHooks,
            settings,
            std::future::pending(),
        ))
    }

    /// `reserve` answered with a replayed reply on attempt `replayed_on`; `place` fails.
    fn replaying(replayed_on: usize) -> Sim {
        saga_network(move |name, nth| match name {
            "place" => Some((10.0, Err(TransportError::Status(409)))),
            "reserve" if nth < replayed_on => {
                Some((5.0, Err(TransportError::Network("reset".into()))))
            }
            "reserve" => Some((
                30.0,
                Ok(Reply {
                    bytes: 0,
                    status: 201,
                    body: json(r#"{"id":"reserve-1"}"#),
                    replayed: true,
                }),
            )),
            _ => None,
        })
    }

    #[test]
    fn a_replayed_write_is_never_undone_and_leaves_the_operation_whole() {
        // Replayed on its first request (an earlier submission made it, or the browser
        // repeated this one's), and after a lost reply: the same either way.
        for replayed_on in [1, 2] {
            let sim = replaying(replayed_on);
            let out = go_as(&sim, SAGA, Some("op-7"));
            assert!(out.records[0].replayed && !out.records[1].replayed);
            assert_eq!(out.records[0].attempts as usize, replayed_on);
            let reserve = out.compensations.iter().find(|c| c.call == 0).unwrap();
            assert_eq!(
                (reserve.state, reserve.replayed, reserve.attempts),
                (CompensationState::NotRun, true, 0)
            );
            assert_eq!(
                reserve.reason.as_deref(),
                Some(
                    "`reserve` was not undone: the service replayed its reply (Idempotent-Replayed), so an \
                     earlier request with the same Idempotency-Key made it, an earlier submission's (whose order \
                     may rest on it) or a repeat of this one's; the operation is left whole for a resubmission \
                     under the same operationId"
                )
            );
            // An earlier submission may be under way: charge stays for the resubmission.
            let charge = out.compensations.iter().find(|c| c.call == 2).unwrap();
            assert_eq!(
                (charge.state, charge.replayed),
                (CompensationState::NotRun, false)
            );
            assert_eq!(
                charge.reason.as_deref(),
                Some(
                    "`charge` was not undone: `reserve` was replayed, so an earlier submission may be under \
                     way, so the operation is left whole for a resubmission under the same operationId, which \
                     gets `charge` back by key"
                )
            );
            assert!(!urls(&sim)
                .iter()
                .any(|(_, u)| u.contains("release") || u.contains("void")));
            assert_eq!(out.resubmit(), Some(crate::Resubmit::SameOperation));
        }
    }

    #[test]
    fn a_replay_of_a_key_this_composition_drew_is_its_own_to_undo() {
        // Without an operationId the key is random: only this composition's own earlier
        // attempt can have made the write.
        let sim = replaying(2);
        let out = go_as(&sim, SAGA, None);
        assert!(out.records[0].replayed);
        // reserve's second attempt ended after charge: it is undone first.
        assert_eq!(
            summary(&out, SAGA),
            [
                ("reserve".into(), CompensationState::Ok),
                ("charge".into(), CompensationState::Ok)
            ]
        );
        assert!(!out.compensations[0].replayed);
    }

    #[test]
    fn a_key_written_in_the_plan_may_have_been_used_before() {
        let plan = SAGA.replace(
            r#""url":"http://svc/reserve","#,
            r#""url":"http://svc/reserve","headers":{"Idempotency-Key":"cart-{input.why}"},"#,
        );
        let out = go_as(&replaying(1), &plan, None);
        assert_eq!(out.compensations[1].state, CompensationState::NotRun);
        assert!(out.compensations[1].replayed);
    }

    #[test]
    fn with_an_operation_id_an_unknown_write_leaves_the_operation_whole() {
        // charge's replies are all lost: it may have happened. reserve does not feed it.
        let lost = || {
            saga_network(|name, _| {
                (name == "charge").then_some((5.0, Err(TransportError::Network("reset".into()))))
            })
        };
        let out = go_as(&lost(), SAGA, None);
        assert_eq!(out.records[2].state, CallState::Unknown);
        assert_eq!(
            summary(&out, SAGA),
            [
                ("charge".into(), CompensationState::NotRun),
                ("reserve".into(), CompensationState::Ok)
            ],
            "without an operationId nothing can resume it: undo what can be undone"
        );
        assert_eq!(out.resubmit(), Some(crate::Resubmit::SameOperation));

        let sim = lost();
        let out = go_as(&sim, SAGA, Some("op-8"));
        assert_eq!(
            summary(&out, SAGA),
            [
                ("charge".into(), CompensationState::NotRun),
                ("reserve".into(), CompensationState::NotRun)
            ]
        );
        assert_eq!(
            out.compensations[1].reason.as_deref(),
            Some(
                "`reserve` was not undone: the outcome of `charge` is unknown, so the operation is left \
                 whole for a resubmission under the same operationId, which gets `reserve` back by key"
            )
        );
        assert!(!urls(&sim).iter().any(|(_, u)| u.contains("release")));
        assert_eq!(out.resubmit(), Some(crate::Resubmit::SameOperation));
    }

    #[test]
    fn only_writes_that_completed_are_undone() {
        // charge is declined with a 402: it never happened, so only reserve is undone.
        let sim = saga_network(|name, _| {
            (name == "charge").then_some((20.0, Err(TransportError::Status(402))))
        });
        let out = go(&sim, SAGA, None);
        assert_eq!(out.error.as_ref().unwrap().call(), Some("charge"));
        assert_eq!(
            summary(&out, SAGA),
            [("reserve".into(), CompensationState::Ok)]
        );
        assert_eq!(out.records[3].state, CallState::Skipped);
    }

    #[test]
    fn an_empty_reply_to_a_compensation_is_a_success() {
        let sim = saga_network(|name, _| match name {
            "place" => Some((10.0, Err(TransportError::Status(409)))),
            "release" | "void" => Some((
                5.0,
                Err(TransportError::Empty {
                    status: 204,
                    content_type: None,
                }),
            )),
            _ => None,
        });
        let out = go(&sim, SAGA, None);
        assert!(out
            .compensations
            .iter()
            .all(|c| c.state == CompensationState::Ok && c.status == Some(204)));
    }

    #[test]
    fn a_success_undoes_nothing() {
        let sim = saga_network(|_, _| None);
        let out = go(&sim, SAGA, None);
        assert!(out.error.is_none() && out.compensations.is_empty());
        assert_eq!(sim.seen().len(), 4);
    }

    #[test]
    fn a_failed_compensation_is_retried_then_reported() {
        let sim = saga_network(|name, nth| match name {
            "place" => Some((10.0, Err(TransportError::Status(409)))),
            "void" if nth < 3 => Some((5.0, Err(TransportError::Status(503)))),
            "release" => Some((5.0, Err(TransportError::Status(404)))),
            _ => None,
        });
        let out = go(&sim, SAGA, None);
        let charge = &out.compensations[0];
        assert_eq!(
            (charge.state, charge.attempts, charge.status),
            (CompensationState::Ok, 3, Some(200)),
            "503 is retried, with backoff, up to the attempt cap"
        );
        let reserve = &out.compensations[1];
        assert_eq!(
            (reserve.state, reserve.attempts, reserve.status),
            (CompensationState::Failed, 1, Some(404)),
            "a 404 is not retried"
        );
        let e = reserve.error.as_ref().unwrap();
        assert_eq!(e.call(), Some("reserve.compensate"));
        assert!(
            e.message()
                .contains("(DELETE http://svc/release/{reserve.id})"),
            "names the template, not the filled URL: {}",
            e.message()
        );
        assert_eq!(
            out.error.as_ref().unwrap().call(),
            Some("place"),
            "the composition's error stays the failure that caused the undoing"
        );
    }

    #[test]
    fn writes_an_unknown_write_depends_on_are_left_for_the_caller() {
        // place's reply is lost: it may have used the reservation and the charge.
        let sim = saga_network(|name, _| {
            (name == "place").then_some((10.0, Err(TransportError::Network("reset".into()))))
        });
        let out = go(&sim, SAGA, None);
        assert_eq!(out.records[3].state, CallState::Unknown);
        assert_eq!(
            summary(&out, SAGA),
            [
                ("charge".into(), CompensationState::NotRun),
                ("reserve".into(), CompensationState::NotRun)
            ]
        );
        assert!(out.compensations[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("`place` depends on it and its outcome is unknown"));
        assert!(
            !urls(&sim)
                .iter()
                .any(|(_, u)| u.contains("void") || u.contains("release")),
            "nothing was undone"
        );
    }

    #[test]
    fn after_an_abort_nothing_is_undone_and_the_writes_are_listed() {
        // Aborted at 45 ms: reserve (30) and charge (40) completed, place is in flight.
        let sim = saga_network(|name, _| {
            (name == "place").then_some({
                (
                    100.0,
                    Ok(Reply {
                        bytes: 0,
                        status: 201,
                        body: json("{}"),
                        replayed: false,
                    }),
                )
            })
        });
        let out = go(&sim, SAGA, Some(45.0));
        assert_eq!(out.error.as_ref().unwrap().kind(), ErrorKind::Aborted);
        assert_eq!(out.records[3].state, CallState::Unknown);
        assert_eq!(
            summary(&out, SAGA),
            [
                ("charge".into(), CompensationState::NotRun),
                ("reserve".into(), CompensationState::NotRun)
            ]
        );
        assert!(out.compensations[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("aborted"));
        assert!(
            sim.seen().iter().all(|s| s.start < 45.0),
            "nothing sent after the abort"
        );
    }

    #[test]
    fn an_abort_while_undoing_stops_the_undoing() {
        // place fails at 50 ms; the void hangs until the abort at 80 ms.
        let sim = saga_network(|name, _| match name {
            "place" => Some((10.0, Err(TransportError::Status(409)))),
            "void" => Some((
                1000.0,
                Ok(Reply {
                    bytes: 0,
                    status: 200,
                    body: json("{}"),
                    replayed: false,
                }),
            )),
            _ => None,
        });
        let out = go(&sim, SAGA, Some(80.0));
        assert_eq!(
            summary(&out, SAGA),
            [
                ("charge".into(), CompensationState::Unknown),
                ("reserve".into(), CompensationState::NotRun)
            ]
        );
        let void = sim
            .seen()
            .into_iter()
            .find(|s| s.request.url.contains("void"))
            .unwrap();
        assert!(void.aborted && void.end == Some(80.0));
        assert!(!urls(&sim).iter().any(|(_, u)| u.contains("release")));
    }

    #[test]
    fn a_compensation_that_cannot_be_built_fails_without_sending() {
        // reserve's reply has no `id`, so its compensation's URL cannot be filled.
        let sim = saga_network(|name, _| match name {
            "reserve" => Some((
                30.0,
                Ok(Reply {
                    bytes: 0,
                    status: 200,
                    body: json("{}"),
                    replayed: false,
                }),
            )),
            "place" => Some((10.0, Err(TransportError::Status(409)))),
            _ => None,
        });
        let out = go(&sim, SAGA, None);
        let reserve = &out.compensations[1];
        assert_eq!(
            (reserve.state, reserve.attempts),
            (CompensationState::Failed, 0)
        );
        let e = reserve.error.as_ref().unwrap();
        assert_eq!(e.kind(), ErrorKind::BadResponse);
        assert_eq!(
            e.message(),
            "call `reserve.compensate` needs `{reserve.id}`, but the reply of `reserve` has no `id`"
        );
        assert!(!urls(&sim).iter().any(|(_, u)| u.contains("release")));
    }
}
