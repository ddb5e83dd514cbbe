//! The time limits of the requests in flight, kept with one timer for all of them.
//!
//! A timer per request costs a `setTimeout`, a closure crossing into JavaScript and a
//! `clearTimeout` (about 7-12 µs per call in the engine benchmark), and almost none of
//! them ever fire. Here each attempt only records when it expires; one timer is armed
//! for the earliest expiry. It is re-armed earlier when a shorter limit arrives, and left
//! alone when the earliest request settles: it then fires early, finds nothing expired,
//! and is armed for the next one. So a composition usually sets one timer, not one per
//! request.

use crate::engine::transport::BoxFuture;
use crate::engine::transport::Clock;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::{Context, Poll};

/// The limit of one attempt: how long it was given, and whether the deadline set it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Limit {
    /// When it expires, in ms on the composition's clock.
    at: f64,
    /// How long the attempt was given, in ms.
    pub after_ms: f64,
    /// Whether the composition's deadline, not the call's own timeout, set it.
    pub by_deadline: bool,
}

/// Per-call expiries and the one timer.
pub(crate) struct TimeLimits {
    limits: Vec<Option<Limit>>,
    /// Expiries (whole ms, rounded up) and calls, earliest first; entries whose call has
    /// since settled or started again are skipped when they reach the top.
    queue: BinaryHeap<Reverse<(usize, usize)>>,
    /// The timer and when it fires.
    armed: Option<(f64, BoxFuture<()>)>,
}

impl TimeLimits {
    pub(crate) fn new(n: usize) -> Self {
        TimeLimits {
            limits: vec![None; n],
            queue: BinaryHeap::new(),
            armed: None,
        }
    }

    /// Room for `m` more calls: a fan-out call's items.
    pub(crate) fn grow(&mut self, m: usize) {
        self.limits.resize(self.limits.len() + m, None);
    }

    /// Call `i`'s attempt started at `start` and may take `after_ms`.
    pub(crate) fn start(&mut self, i: usize, start: f64, after_ms: f64, by_deadline: bool) {
        let at = start + after_ms;
        self.limits[i] = Some(Limit {
            at,
            after_ms,
            by_deadline,
        });
        self.queue.push(Reverse((at.ceil() as usize, i)));
    }

    /// Call `i` has no attempt in flight any more.
    pub(crate) fn clear(&mut self, i: usize) {
        self.limits[i] = None;
    }

    /// The next call whose attempt has run out of time by `now()`, with its limit. When
    /// none has, arms the timer for the earliest expiry and registers `cx` with it.
    ///
    /// The clock is read only when the timer must be armed again or has fired: while the
    /// armed timer fires no later than the earliest expiry, nothing can have expired
    /// (reading the clock is a call into the platform, and this runs at every wake-up).
    pub(crate) fn poll_expired(
        &mut self,
        cx: &mut Context<'_>,
        now: impl Fn() -> f64,
        clock: &impl Clock,
    ) -> Poll<(usize, Limit)> {
        loop {
            let Some((i, limit)) = self.earliest() else {
                self.armed = None;
                return Poll::Pending;
            };
            let covered = matches!(&self.armed, Some((armed_at, _)) if *armed_at <= limit.at);
            if !covered {
                let now = now();
                if limit.at <= now {
                    self.queue.pop();
                    self.limits[i] = None;
                    return Poll::Ready((i, limit));
                }
                self.armed = Some((limit.at, clock.sleep(limit.at - now)));
            }
            if let Some((_, timer)) = self.armed.as_mut() {
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            // Fired (perhaps early, for a request that has since settled): look again,
            // with the clock.
            self.armed = None;
        }
    }

    /// The call whose limit expires first, skipping (and dropping) the entries of calls
    /// that have since settled or started again.
    fn earliest(&mut self) -> Option<(usize, Limit)> {
        while let Some(&Reverse((key, i))) = self.queue.peek() {
            match self.limits[i] {
                Some(limit) if limit.at.ceil() as usize == key => return Some((i, limit)),
                _ => {
                    self.queue.pop();
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::hooks::NoHooks;
    use crate::engine::record::CallState;
    use crate::engine::run::run;
    use crate::engine::settings::{Schedule, Settings};
    use crate::engine::transport::BoxFuture;
    use crate::engine::transport::{Clock, Reply};
    use crate::error::ErrorKind;
    use crate::plan::json::Json;
    use crate::plan::Plan;
    use crate::tests::sim::{Answer, Sim};
    use std::cell::Cell;

    /// The simulated clock, counting the timers it is asked for.
    struct Counting<'a>(&'a Sim, Cell<usize>);

    impl Clock for Counting<'_> {
        fn now(&self) -> f64 {
            Clock::now(self.0)
        }
        fn sleep(&self, ms: f64) -> BoxFuture<()> {
            self.1.set(self.1.get() + 1);
            Clock::sleep(self.0, ms)
        }
    }

    /// `n` independent calls; call `k` answers after `latency(k)` ms.
    fn wide(n: usize, timeout: Option<f64>) -> Plan {
        let calls: Vec<String> = (0..n)
            .map(|k| match timeout {
                Some(ms) => format!(r#""c{k}":{{"url":"http://svc/{k}","timeoutMs":{ms}}}"#),
                None => format!(r#""c{k}":{{"url":"http://svc/{k}"}}"#),
            })
            .collect();
        let src = format!(r#"{{"calls":{{{}}}}}"#, calls.join(","));
        Plan::from_json(&serde_json::from_str(&src).unwrap()).unwrap()
    }

    fn network(latency: impl Fn(usize) -> f64 + 'static) -> Sim {
        Sim::new(move |req| -> Answer {
            let k: usize = req.url["http://svc/".len()..].parse().unwrap();
            (
                latency(k),
                Ok(Reply {
                    bytes: 0,
                    status: 200,
                    body: Json::Null,
                    replayed: false,
                }),
            )
        })
    }

    #[test]
    fn many_requests_share_one_timer() {
        let sim = network(|k| 10.0 + k as f64);
        let clock = Counting(&sim, Cell::new(0));
        let p = wide(50, None);
        let input = Json::Null;
        let out = sim.block_on(run(
            &p,
            &input,
            &sim,
            &clock,
            &NoHooks,
            Schedule::Eager,
            std::future::pending(),
        ));
        assert!(out.error.is_none());
        assert_eq!(clock.1.get(), 1, "one timer for 50 requests");
    }

    #[test]
    fn each_request_still_times_out_at_its_own_limit() {
        // Call k takes 100 ms and may take 20 + 10k: calls 0-7 time out, each at its
        // own limit, though one timer serves them all.
        let sim = network(|_| 100.0);
        let clock = Counting(&sim, Cell::new(0));
        let calls: Vec<String> = (0..10)
            .map(|k| {
                format!(
                    r#""c{k}":{{"url":"http://svc/{k}","timeoutMs":{},"optional":true}}"#,
                    20 + 10 * k
                )
            })
            .collect();
        let src = format!(r#"{{"calls":{{{}}}}}"#, calls.join(","));
        let p = Plan::from_json(&serde_json::from_str(&src).unwrap()).unwrap();
        let input = Json::Null;
        let out = sim.block_on(run(
            &p,
            &input,
            &sim,
            &clock,
            &NoHooks,
            Settings::from(Schedule::Eager),
            std::future::pending(),
        ));
        for (k, record) in out.records.iter().enumerate() {
            if k < 8 {
                assert_eq!(record.state, CallState::Failed, "c{k}");
                assert_eq!(record.end_ms, Some(20.0 + 10.0 * k as f64), "c{k}");
                assert_eq!(
                    record.error.as_ref().map(|e| e.kind()),
                    Some(ErrorKind::Timeout)
                );
            } else {
                assert_eq!(record.state, CallState::Ok, "c{k}");
            }
        }
        assert!(
            sim.seen().iter().take(8).all(|s| s.aborted),
            "the timed-out requests were aborted"
        );
        assert!(clock.1.get() <= 10, "at most one timer per expiry");
    }

    #[test]
    fn a_shorter_limit_that_arrives_later_rearms_the_timer() {
        // `slow` may take 1000 ms; `quick` starts after `first` (10 ms) and may take 30:
        // it must time out at 40, not wait for the timer armed for 1000.
        let src = r#"{"calls":{
            "slow":{"url":"http://svc/0","timeoutMs":1000},
            "first":{"url":"http://svc/1"},
            "quick":{"url":"http://svc/2","timeoutMs":30,"after":["first"],"optional":true}
        }}"#;
        let p = Plan::from_json(&serde_json::from_str(src).unwrap()).unwrap();
        let sim = network(|k| [500.0, 10.0, 100.0][k]);
        let input = Json::Null;
        let out = sim.block_on(run(
            &p,
            &input,
            &sim,
            &sim,
            &NoHooks,
            Schedule::Eager,
            std::future::pending(),
        ));
        assert_eq!(out.records[2].state, CallState::Failed);
        assert_eq!(out.records[2].end_ms, Some(40.0));
        assert_eq!(out.records[0].state, CallState::Ok);
        assert_eq!(out.records[0].end_ms, Some(500.0));
    }
}
