//! Circuit breakers, one per origin, kept by a composer across its compositions: after a
//! run of failures an origin's calls fail at once with `CIRCUIT_OPEN` instead of each
//! waiting out a timeout, until a probe finds the origin answering again.
//!
//! The states, as in Nygard's *Release It!*:
//! - **closed**: requests pass. `failures` consecutive failures (a network error, a
//!   timeout, a 5xx; not a 4xx, which is an answer) within `windowMs` of the first of them
//!   open the circuit.
//! - **open**: requests fail at once, until `cooldownMs` after it opened (`retryAt`).
//! - **half-open**: once the cooldown is over, one request, the probe, is let through; its
//!   success closes the circuit, its failure opens it again for another cooldown. Other
//!   requests fail at once meanwhile. A retry never probes: it is the same intent as the
//!   attempt that failed, and the breaker's question is whether the origin is back.
//!
//! Anything else that ends a request (an abort, the composition's deadline, a reply that
//! is not JSON) says nothing about the origin: a probe that ends so lets the next request
//! probe.

use crate::protocol::named_enum;

/// When an origin's circuit opens, and for how long: `breaker: {failures, windowMs,
/// cooldownMs}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the circuit.
    pub failures: u32,
    /// The time within which they must fall, from the first of them.
    pub window_ms: f64,
    /// How long the circuit stays open before a probe.
    pub cooldown_ms: f64,
}

named_enum! {
    /// An origin's circuit.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum CircuitState {
        /// Requests pass.
        Closed = "closed",
        /// Requests fail at once with `CIRCUIT_OPEN`.
        Open = "open",
        /// The cooldown is over: the next request probes the origin.
        HalfOpen = "half-open",
    }
}

/// One origin's circuit as `composer.health()` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Circuit {
    /// Its state.
    pub state: CircuitState,
    /// The failures of the current run (reset by a success).
    pub failures: u32,
    /// When an open circuit lets a probe through, on the engine's clock; 0 when closed.
    pub retry_at: f64,
    /// When the current run of failures began.
    since: f64,
    /// Whether a probe is out.
    probing: bool,
}

/// What a request to an origin may do now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Admit {
    /// Go ahead.
    Pass,
    /// Go ahead as the probe of a half-open circuit.
    Probe,
    /// Fail at once: the circuit is open until `retry_at`.
    Refuse {
        /// When a probe may go, on the engine's clock.
        retry_at: f64,
    },
}

/// What a call's origin's circuit breaker says of its next attempt.
pub(crate) enum Gate {
    /// No breaker is kept.
    Free,
    /// It may go to this origin, as the half-open circuit's probe when `true`.
    Through(String, bool),
    /// The circuit is open: the call has failed at once.
    Refused,
}

/// What a request's end says about its origin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// It answered (2xx, or a 4xx, which is an answer).
    Up,
    /// A network error, a timeout or a 5xx.
    Down,
    /// Nothing either way (aborted, cut by the deadline, an unreadable body).
    Unknown,
}

/// The circuits of a composer, by origin.
#[derive(Debug, Default)]
pub(crate) struct Breakers {
    policy: Option<BreakerPolicy>,
    circuits: Vec<(String, Circuit)>,
}

impl Breakers {
    /// Breakers under `policy`; `None` never opens a circuit.
    pub fn new(policy: Option<BreakerPolicy>) -> Self {
        Breakers {
            policy,
            circuits: Vec::new(),
        }
    }

    /// Whether any circuit is kept at all.
    pub fn on(&self) -> bool {
        self.policy.is_some()
    }

    /// Whether a request to `origin` may go at `now` (`retry`: it retries a failed
    /// attempt), and the circuit's new state if asking changed it.
    pub fn admit(&mut self, origin: &str, now: f64, retry: bool) -> (Admit, Option<CircuitState>) {
        let Some(c) = self.circuit(origin) else {
            return (Admit::Pass, None);
        };
        match c.state {
            CircuitState::Closed => (Admit::Pass, None),
            CircuitState::Open if now < c.retry_at || retry => (
                Admit::Refuse {
                    retry_at: c.retry_at,
                },
                None,
            ),
            CircuitState::Open => {
                c.state = CircuitState::HalfOpen;
                c.probing = true;
                (Admit::Probe, Some(CircuitState::HalfOpen))
            }
            CircuitState::HalfOpen if c.probing || retry => (
                Admit::Refuse {
                    retry_at: c.retry_at,
                },
                None,
            ),
            CircuitState::HalfOpen => {
                c.probing = true;
                (Admit::Probe, None)
            }
        }
    }

    /// A request to `origin` ended at `now` as `verdict` (`probe`: it was the probe);
    /// the circuit's new state if that changed it.
    pub fn report(
        &mut self,
        origin: &str,
        now: f64,
        verdict: Verdict,
        probe: bool,
    ) -> Option<CircuitState> {
        let policy = self.policy?;
        let c = self.circuit(origin)?;
        if probe {
            c.probing = false;
        }
        match verdict {
            Verdict::Unknown => None,
            Verdict::Up => {
                // Any answer says the origin is back, a request's sent before the
                // circuit opened too.
                c.failures = 0;
                c.retry_at = 0.0;
                let was = std::mem::replace(&mut c.state, CircuitState::Closed);
                (was != CircuitState::Closed).then_some(CircuitState::Closed)
            }
            Verdict::Down => {
                if c.state != CircuitState::Closed {
                    if !probe && c.state == CircuitState::Open {
                        return None; // one sent before it opened: already counted
                    }
                    c.state = CircuitState::Open;
                    c.retry_at = now + policy.cooldown_ms;
                    return Some(CircuitState::Open);
                }
                if c.failures == 0 || now - c.since > policy.window_ms {
                    c.failures = 0;
                    c.since = now;
                }
                c.failures += 1;
                if c.failures < policy.failures {
                    return None;
                }
                c.state = CircuitState::Open;
                c.retry_at = now + policy.cooldown_ms;
                Some(CircuitState::Open)
            }
        }
    }

    /// Every origin's circuit at `now`: an open one whose cooldown is over shows
    /// `half-open`, as the next request will find it.
    pub fn health(&self, now: f64) -> Vec<(String, Circuit)> {
        let mut all = self.circuits.clone();
        for (_, c) in &mut all {
            if c.state == CircuitState::Open && now >= c.retry_at {
                c.state = CircuitState::HalfOpen;
            }
        }
        all
    }

    /// When `origin`'s circuit lets a probe through (0 when closed or unknown).
    pub fn retry_at(&self, origin: &str) -> f64 {
        let found = self.circuits.iter().find(|(o, _)| o == origin);
        found.map_or(0.0, |(_, c)| c.retry_at)
    }

    /// `origin`'s circuit, made closed on first sight; `None` without a policy.
    fn circuit(&mut self, origin: &str) -> Option<&mut Circuit> {
        self.policy?;
        let at = match self.circuits.iter().position(|(o, _)| o == origin) {
            Some(at) => at,
            None => {
                self.circuits.push((
                    origin.to_owned(),
                    Circuit {
                        state: CircuitState::Closed,
                        failures: 0,
                        retry_at: 0.0,
                        since: 0.0,
                        probing: false,
                    },
                ));
                self.circuits.len() - 1
            }
        };
        Some(&mut self.circuits[at].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: BreakerPolicy = BreakerPolicy {
        failures: 3,
        window_ms: 1000.0,
        cooldown_ms: 5000.0,
    };

    fn breakers() -> Breakers {
        Breakers::new(Some(POLICY))
    }

    #[test]
    fn consecutive_failures_within_the_window_open_it() {
        let mut b = breakers();
        assert_eq!(b.report("a", 0.0, Verdict::Down, false), None);
        assert_eq!(b.report("a", 10.0, Verdict::Down, false), None);
        assert_eq!(
            b.report("a", 20.0, Verdict::Down, false),
            Some(CircuitState::Open)
        );
        assert_eq!(
            b.admit("a", 30.0, false),
            (Admit::Refuse { retry_at: 5020.0 }, None)
        );
        // Another origin is not affected.
        assert_eq!(b.admit("b", 30.0, false), (Admit::Pass, None));
    }

    #[test]
    fn a_success_or_the_window_resets_the_run() {
        let mut b = breakers();
        b.report("a", 0.0, Verdict::Down, false);
        b.report("a", 10.0, Verdict::Down, false);
        b.report("a", 20.0, Verdict::Up, false);
        assert_eq!(b.report("a", 30.0, Verdict::Down, false), None);
        assert_eq!(b.report("a", 40.0, Verdict::Down, false), None);
        // The third falls outside the window of the run's first: a new run.
        assert_eq!(b.report("a", 1100.0, Verdict::Down, false), None);
        assert_eq!(b.health(1100.0)[0].1.failures, 1);
        // 4xx-like unknowns change nothing.
        assert_eq!(b.report("a", 1110.0, Verdict::Unknown, false), None);
        assert_eq!(b.health(1110.0)[0].1.failures, 1);
    }

    #[test]
    fn after_the_cooldown_one_probe_goes_and_its_outcome_decides() {
        let mut b = breakers();
        for t in [0.0, 1.0, 2.0] {
            b.report("a", t, Verdict::Down, false);
        }
        assert_eq!(b.health(4000.0)[0].1.state, CircuitState::Open);
        assert_eq!(b.health(5002.0)[0].1.state, CircuitState::HalfOpen);
        // A retry never probes.
        assert!(matches!(b.admit("a", 5002.0, true).0, Admit::Refuse { .. }));
        assert_eq!(
            b.admit("a", 5002.0, false),
            (Admit::Probe, Some(CircuitState::HalfOpen))
        );
        // One probe at a time.
        assert!(matches!(
            b.admit("a", 5003.0, false).0,
            Admit::Refuse { .. }
        ));
        // It fails: open for another cooldown.
        assert_eq!(
            b.report("a", 5100.0, Verdict::Down, true),
            Some(CircuitState::Open)
        );
        assert_eq!(
            b.admit("a", 5200.0, false),
            (Admit::Refuse { retry_at: 10100.0 }, None)
        );
        assert_eq!(b.admit("a", 10100.0, false).0, Admit::Probe);
        // A probe that says nothing lets the next request probe.
        assert_eq!(b.report("a", 10150.0, Verdict::Unknown, true), None);
        assert_eq!(b.admit("a", 10160.0, false).0, Admit::Probe);
        assert_eq!(
            b.report("a", 10200.0, Verdict::Up, true),
            Some(CircuitState::Closed)
        );
        assert_eq!(b.admit("a", 10201.0, false), (Admit::Pass, None));
        assert_eq!(b.health(10201.0)[0].1.failures, 0);
    }

    #[test]
    fn without_a_policy_nothing_opens() {
        let mut b = Breakers::new(None);
        for t in 0..10 {
            assert_eq!(b.report("a", t as f64, Verdict::Down, false), None);
        }
        assert_eq!(b.admit("a", 10.0, false), (Admit::Pass, None));
        assert!(b.health(10.0).is_empty());
    }
}
