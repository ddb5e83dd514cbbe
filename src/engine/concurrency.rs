//! Concurrency limits: how many requests one composition keeps on the wire at once,
//! overall (`maxConcurrency`) and per origin (`maxConcurrencyPerOrigin`).
//!
//! A request that would pass a limit waits in a queue, first come first served: by the
//! moment it was ready to be sent (a call whose inputs arrived, or a retry whose backoff
//! ended), and among requests ready at the same moment in the order the schedule starts
//! them (`composition.rs`, `ready_key`). When a slot frees, the first waiting request that fits
//! goes: one for an origin at its own limit does not hold up requests to other origins.
//!
//! Only requests on the wire hold a slot. A call waiting out a retry's backoff, or
//! sharing another call's read (`dedupe.rs`), holds none. The time a call waits here
//! counts against the composition's deadline, not against its own `timeoutMs`, which
//! starts when its request is sent: the queue is this page's doing, not the service's.
//!
//! Without limits there is no queue at all ([`Queue::new`] returns `None`), so the
//! scheduler pays nothing for it.

use crate::plan::template::origin_of;

/// The most requests a composition may have on the wire at once. `None`: no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Concurrency {
    /// Overall (`options.maxConcurrency`).
    pub max: Option<usize>,
    /// Per origin, as `URL.origin` writes it (`options.maxConcurrencyPerOrigin`). A URL
    /// starting with `/` counts for the page's origin.
    pub per_origin: Option<usize>,
}

/// The slots in use and the calls waiting for one.
#[derive(Debug)]
pub(crate) struct Queue {
    max: usize,
    per_origin: usize,
    on_wire: usize,
    /// Per call: whether a request of its is on the wire, holding a slot.
    holding: Vec<bool>,
    /// Per call: its origin's index in `origins`, plus one (0: not looked up yet). Empty
    /// without a per-origin limit.
    origin: Vec<u32>,
    /// Every origin seen, with its requests on the wire.
    origins: Vec<(String, usize)>,
    /// Calls waiting for a slot, first come first, with the moment each started waiting.
    /// A `Vec`: the queue is short, and `VecDeque` costs 2.5 KB of .wasm.
    waiting: Vec<(usize, f64)>,
}

impl Queue {
    /// A queue for `n` calls under `limits`; `None` when there is no limit.
    pub(crate) fn new(limits: Concurrency, n: usize) -> Option<Queue> {
        if limits.max.is_none() && limits.per_origin.is_none() {
            return None;
        }
        let per_origin = limits.per_origin.unwrap_or(usize::MAX);
        Some(Queue {
            max: limits.max.unwrap_or(usize::MAX).max(1),
            per_origin: per_origin.max(1),
            on_wire: 0,
            holding: vec![false; n],
            origin: if limits.per_origin.is_some() {
                vec![0; n]
            } else {
                Vec::new()
            },
            origins: Vec::new(),
            waiting: Vec::new(),
        })
    }

    /// Room for `m` more calls: a fan-out call's items.
    pub(crate) fn grow(&mut self, m: usize) {
        self.holding.resize(self.holding.len() + m, false);
        if !self.origin.is_empty() {
            self.origin.resize(self.origin.len() + m, 0);
        }
    }

    /// Call `i`'s origin, as an index into `origins`, when there is a per-origin limit.
    fn origin_of(&mut self, i: usize, url: &str) -> Option<usize> {
        let known = *self.origin.get(i)?;
        if known > 0 {
            return Some(known as usize - 1);
        }
        // A relative URL goes to the page's origin: one bucket, named "".
        let origin = origin_of(url).unwrap_or_default();
        let index = match self.origins.iter().position(|(o, _)| *o == origin) {
            Some(index) => index,
            None => {
                self.origins.push((origin, 0));
                self.origins.len() - 1
            }
        };
        self.origin[i] = index as u32 + 1;
        Some(index)
    }

    fn has_room(&self, i: usize) -> bool {
        self.on_wire < self.max
            && match self.origin.get(i) {
                Some(&o) if o > 0 => self.origins[o as usize - 1].1 < self.per_origin,
                _ => true,
            }
    }

    fn take(&mut self, i: usize) {
        self.holding[i] = true;
        self.on_wire += 1;
        if let Some(&o) = self.origin.get(i).filter(|&&o| o > 0) {
            self.origins[o as usize - 1].1 += 1;
        }
    }

    /// Whether call `i` may send its request to `url` now; if not, it waits from `now`
    /// on. The scheduler asks after it has let every waiting call that fits go
    /// ([`next`](Self::next)), so a call that finds room overtakes no one who could use it.
    pub(crate) fn admit(&mut self, i: usize, url: &str, now: f64) -> bool {
        self.origin_of(i, url);
        if self.has_room(i) {
            self.take(i);
            true
        } else {
            self.waiting.push((i, now));
            false
        }
    }

    /// The first waiting call that fits now, with the moment it started waiting; it then
    /// holds its slot.
    pub(crate) fn next(&mut self) -> Option<(usize, f64)> {
        if self.on_wire >= self.max {
            return None;
        }
        let k = self.waiting.iter().position(|&(i, _)| self.has_room(i))?;
        let (i, since) = self.waiting.remove(k);
        self.take(i);
        Some((i, since))
    }

    /// Call `i`'s request left the wire (answered, timed out or aborted): its slot frees.
    /// Nothing happens for a call that held none.
    pub(crate) fn release(&mut self, i: usize) {
        if !std::mem::take(&mut self.holding[i]) {
            return;
        }
        self.on_wire -= 1;
        if let Some(&o) = self.origin.get(i).filter(|&&o| o > 0) {
            self.origins[o as usize - 1].1 -= 1;
        }
    }

    /// Takes call `i` out of the queue (the composition ended while it waited); returns
    /// when it started waiting, or `None` if it was not waiting.
    pub(crate) fn withdraw(&mut self, i: usize) -> Option<f64> {
        let k = self.waiting.iter().position(|&(j, _)| j == i)?;
        Some(self.waiting.remove(k).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hooks::NoHooks;
    use crate::engine::outcome::Outcome;
    use crate::engine::record::CallState;
    use crate::engine::record::CompensationState;
    use crate::engine::run::run;
    use crate::engine::settings::{Schedule, Settings};
    use crate::engine::transport::{Clock, Reply, TransportError};
    use crate::error::ErrorKind;
    use crate::plan::json::Json;
    use crate::plan::Plan;
    use crate::tests::sim::{json, plan, Answer, Seen, Sim};

    #[test]
    fn slots_are_taken_in_order_and_per_origin_limits_skip_past_a_full_origin() {
        let mut q = Queue::new(
            Concurrency {
                max: Some(3),
                per_origin: Some(1),
            },
            5,
        )
        .unwrap();
        assert!(q.admit(0, "http://a.example/x", 0.0));
        assert!(!q.admit(1, "http://A.example:80/y", 1.0), "same origin");
        assert!(q.admit(2, "http://b.example/x", 2.0));
        assert!(!q.admit(3, "http://a.example/z", 3.0));
        assert!(q.admit(4, "/relative", 4.0), "the page's origin");
        assert!(q.next().is_none(), "3 on the wire");
        q.release(2);
        assert!(
            q.next().is_none(),
            "room overall, but both waiters are for a.example"
        );
        q.release(0);
        assert_eq!(q.next(), Some((1, 1.0)), "first come first");
        assert!(q.next().is_none());
        q.release(1);
        assert_eq!(q.withdraw(3), Some(3.0));
        assert!(q.next().is_none(), "withdrawn");
        q.release(1);
        assert_eq!(q.on_wire, 1, "a second release of one slot changes nothing");
    }

    #[test]
    fn no_limit_no_queue() {
        assert!(Queue::new(Concurrency::default(), 1000).is_none());
    }

    fn limited(max: Option<usize>, per_origin: Option<usize>) -> Settings {
        Settings {
            concurrency: Concurrency { max, per_origin },
            ..Settings::from(Schedule::Eager)
        }
    }

    /// Every request answers `{}` after `ms`, except paths containing `fail` (503 once),
    /// `bad` (500) and `hang` (never, in practice).
    fn network(ms: f64) -> Sim {
        let failed = std::rc::Rc::new(std::cell::Cell::new(false));
        Sim::new(move |req| -> Answer {
            if req.url.contains("/fail") && !failed.replace(true) {
                return (ms, Err(TransportError::Status(503)));
            }
            if req.url.contains("/bad") {
                return (ms, Err(TransportError::Status(500)));
            }
            let ms = if req.url.contains("/hang") { 1e9 } else { ms };
            (
                ms,
                Ok(Reply {
                    bytes: 0,
                    status: 200,
                    body: json("{}"),
                    replayed: false,
                }),
            )
        })
    }

    fn go(sim: &Sim, p: &Plan, settings: Settings) -> Outcome<Json> {
        crate::tests::sim::run_to_end(sim, p, &Json::Null, settings)
    }

    /// The most requests on the wire at once, from what the network saw.
    fn most_at_once(seen: &[Seen], filter: impl Fn(&Seen) -> bool) -> usize {
        let spans: Vec<(f64, f64)> = seen
            .iter()
            .filter(|s| filter(s))
            .map(|s| (s.start, s.end.unwrap()))
            .collect();
        spans
            .iter()
            .map(|&(t, _)| spans.iter().filter(|&&(s, e)| s <= t && t < e).count())
            .max()
            .unwrap_or(0)
    }

    fn wide(n: usize, url: impl Fn(usize) -> String) -> Plan {
        let calls: Vec<String> = (0..n)
            .map(|k| format!(r#""c{k}":{{"url":"{}"}}"#, url(k)))
            .collect();
        plan(&format!(r#"{{"calls":{{{}}}}}"#, calls.join(",")))
    }

    #[test]
    fn at_most_max_concurrency_on_the_wire_the_rest_queued_in_order() {
        let p = wide(6, |k| format!("http://svc/{k}"));
        let sim = network(100.0);
        let out = go(&sim, &p, limited(Some(2), None));
        assert!(out.error.is_none());
        assert_eq!(most_at_once(&sim.seen(), |_| true), 2);
        let starts: Vec<Option<f64>> = out.records.iter().map(|r| r.start_ms).collect();
        let want = [0.0, 0.0, 100.0, 100.0, 200.0, 200.0];
        assert_eq!(starts, want.map(Some), "plan order, two at a time");
        let queued: Vec<f64> = out.records.iter().map(|r| r.queued_ms).collect();
        assert_eq!(queued, want, "each waited from 0 until its start");
        assert!(out.records.iter().all(|r| r.attempts == 1));

        let sim = network(100.0);
        let out = go(&sim, &p, Settings::from(Schedule::Eager));
        assert_eq!(
            most_at_once(&sim.seen(), |_| true),
            6,
            "unlimited by default"
        );
        assert!(out.records.iter().all(|r| r.queued_ms == 0.0));
    }

    #[test]
    fn a_per_origin_limit_lets_other_origins_overlap() {
        let p = wide(6, |k| format!("http://o{}.example/{k}", k % 2));
        let sim = network(100.0);
        let out = go(&sim, &p, limited(None, Some(1)));
        assert!(out.error.is_none());
        let seen = sim.seen();
        for o in ["o0", "o1"] {
            assert_eq!(most_at_once(&seen, |s| s.request.url.contains(o)), 1, "{o}");
        }
        assert_eq!(most_at_once(&seen, |_| true), 2, "one per origin, together");
        let ends: Vec<Option<f64>> = out.records.iter().map(|r| r.end_ms).collect();
        assert_eq!(ends, [100.0, 100.0, 200.0, 200.0, 300.0, 300.0].map(Some));

        // Both limits: the overall one binds first.
        let p = wide(6, |k| format!("http://o{}.example/{k}", k % 3));
        let sim = network(100.0);
        go(&sim, &p, limited(Some(2), Some(1)));
        assert_eq!(most_at_once(&sim.seen(), |_| true), 2);
    }

    #[test]
    fn a_call_waits_behind_earlier_ready_calls_even_if_later_in_the_plan() {
        // `late` is first in the plan but ready only at 10 ms; `b` and `c` were queued
        // at 0 behind `a`; `late` goes after both.
        let p = plan(
            r#"{"calls":{
            "late":{"url":"http://svc/late","after":["first"]},
            "first":{"url":"http://svc/first","timeoutMs":5000},
            "a":{"url":"http://svc/a"},"b":{"url":"http://svc/b"},"c":{"url":"http://svc/c"}
        }}"#,
        );
        let sim = Sim::new(|req| -> Answer {
            let ms = if req.url.ends_with("first") {
                10.0
            } else {
                100.0
            };
            (
                ms,
                Ok(Reply {
                    bytes: 0,
                    status: 200,
                    body: json("{}"),
                    replayed: false,
                }),
            )
        });
        let out = go(&sim, &p, limited(Some(2), None));
        let start = |name: &str| out.records[p.position(name).unwrap()].start_ms.unwrap();
        assert_eq!((start("first"), start("a")), (0.0, 0.0));
        assert_eq!(start("b"), 10.0, "the first slot to free");
        assert_eq!(start("c"), 100.0);
        assert_eq!(start("late"), 110.0, "ready at 10, behind b and c");
        assert_eq!(out.records[0].queued_ms, 100.0);
    }

    #[test]
    fn queueing_counts_against_the_deadline_not_the_call_timeout() {
        // Each call may take 150 ms; the third waits 200 ms in the queue and still has
        // its whole 150 ms once sent.
        let p = wide(3, |k| format!("http://svc/{k}"));
        let sim = network(100.0);
        let settings = Settings {
            timeout_ms: 150.0,
            ..limited(Some(1), None)
        };
        let out = go(&sim, &p, settings.clone());
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.records[2].start_ms, Some(200.0));
        assert_eq!(out.records[2].end_ms, Some(300.0));

        // A deadline of 150 ms: the second is cut off on the wire, the third was never
        // sent and says so, though it waited.
        let sim = network(100.0);
        let out = go(
            &sim,
            &p,
            Settings {
                deadline_ms: Some(150.0),
                ..settings
            },
        );
        assert_eq!(out.error.unwrap().kind(), ErrorKind::Timeout);
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [CallState::Ok, CallState::Cancelled, CallState::NotSent]
        );
        let third = &out.records[2];
        assert_eq!((third.attempts, third.start_ms), (0, None));
        assert_eq!(third.queued_ms, 150.0);
        assert_eq!(
            sim.seen().len(),
            2,
            "the queued call never reached the wire"
        );
    }

    #[test]
    fn an_abort_empties_the_queue_and_a_queued_write_is_cancelled_not_unknown() {
        let p = plan(
            r#"{"calls":{"a":{"url":"http://svc/a"},
            "w":{"url":"http://svc/w","method":"POST"},
            "r":{"url":"http://svc/r"}}}"#,
        );
        let sim = network(100.0);
        let out = sim.block_on(run(
            &p,
            &Json::Null,
            &sim,
            &sim,
            &NoHooks,
            limited(Some(1), None),
            sim.sleep(30.0),
        ));
        assert_eq!(out.error.unwrap().kind(), ErrorKind::Aborted);
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                CallState::Cancelled,
                CallState::Cancelled,
                CallState::Cancelled
            ],
            "the write never left the queue: it was not sent, so it is not unknown"
        );
        assert_eq!(out.records[1].attempts, 0);
        assert_eq!(out.records[1].start_ms, None);
        assert_eq!(out.records[1].queued_ms, 30.0);
        assert_eq!(out.records[2].queued_ms, 30.0);
        assert_eq!(sim.seen().len(), 1);
    }

    #[test]
    fn a_required_failure_leaves_queued_calls_not_sent() {
        let p = plan(
            r#"{"calls":{"bad":{"url":"http://svc/bad"},
            "w":{"url":"http://svc/w","method":"POST"},
            "r":{"url":"http://svc/r"}}}"#,
        );
        let sim = network(50.0);
        let out = go(&sim, &p, limited(Some(1), None));
        assert_eq!(out.error.unwrap().call(), Some("bad"));
        let states: Vec<CallState> = out.records.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [CallState::Failed, CallState::NotSent, CallState::NotSent]
        );
        assert_eq!(out.records[1].queued_ms, 50.0);
        assert_eq!(
            sim.seen().len(),
            1,
            "nothing left the queue after the failure"
        );
    }

    #[test]
    fn retries_queue_for_a_slot_like_any_request() {
        // `fail` answers 503 at 100 ms and retries after 50 ms of backoff; by then `b`
        // holds the only slot, so the retry waits until 200.
        let p = plan(
            r#"{"calls":{"fail":{"url":"http://svc/fail"},"b":{"url":"http://svc/b"},
            "c":{"url":"http://svc/c"}}}"#,
        );
        let sim = network(100.0);
        let out = go(&sim, &p, limited(Some(1), None));
        assert!(out.error.is_none(), "{:?}", out.error);
        let seen = sim.seen();
        assert_eq!(most_at_once(&seen, |_| true), 1);
        let fail: Vec<f64> = seen
            .iter()
            .filter(|s| s.request.url.ends_with("fail"))
            .map(|s| s.start)
            .collect();
        assert_eq!(fail, [0.0, 300.0], "behind b (100-200) and c (200-300)");
        assert_eq!(out.records[0].attempts, 2);
        assert_eq!(
            out.records[0].queued_ms, 150.0,
            "from 150 (backoff over) to 300"
        );
        assert_eq!(out.records[0].start_ms, Some(0.0));
    }

    #[test]
    fn compensations_run_one_at_a_time_after_the_wire_is_clear() {
        let p = plan(
            r#"{"calls":{
            "w1":{"url":"http://svc/w1","method":"POST","compensate":{"method":"DELETE","url":"http://svc/undo1"}},
            "w2":{"url":"http://svc/w2","method":"POST","compensate":{"method":"DELETE","url":"http://svc/undo2"}},
            "bad":{"url":"http://svc/bad","after":["w1","w2"]}
        }}"#,
        );
        let sim = network(40.0);
        let out = go(&sim, &p, limited(Some(1), None));
        assert_eq!(out.error.unwrap().call(), Some("bad"));
        assert_eq!(out.compensations.len(), 2);
        assert!(out
            .compensations
            .iter()
            .all(|c| c.state == CompensationState::Ok));
        assert_eq!(most_at_once(&sim.seen(), |_| true), 1);
        assert_eq!(sim.seen().len(), 5);
        assert_eq!(sim.now(), 200.0);
    }
}
