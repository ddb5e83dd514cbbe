//! The retry policy: what may be retried, how long to wait, and how many retries a
//! composition may spend. Plain values, testable without any network (tower's habit).
//!
//! Only requests that are safe to repeat are retried: reads, and writes that carry an
//! `Idempotency-Key` (the service deduplicates them). Only failures that say "try again"
//! are retried: a network error, 408, 429, 502, 503 and 504. Waits use full-jitter
//! exponential backoff (AWS's "full jitter": a uniform draw below the exponential cap),
//! and a `Retry-After` is honoured when it fits in the time left, never waited past it.

use crate::engine::transport::TransportError;

/// How retries are spent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (default 3).
    pub max_attempts: u32,
    /// The first backoff's cap in milliseconds (default 100).
    pub base_ms: f64,
    /// No backoff is longer than this (default 2000).
    pub cap_ms: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_ms: 100.0,
            cap_ms: 2_000.0,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Give up: the failure stands.
    Stop,
    /// Try again after this many milliseconds.
    RetryAfter(f64),
}

impl RetryPolicy {
    /// Whether `error` says the same request may succeed later.
    pub fn is_transient(error: &TransportError) -> bool {
        match error {
            TransportError::Network(_) => true,
            TransportError::Status(s) => matches!(s, 408 | 429 | 502 | 503 | 504),
            TransportError::Throttled { status, .. } => {
                matches!(status, 408 | 429 | 502 | 503 | 504)
            }
            TransportError::TimedOut { .. }
            | TransportError::Body { .. }
            | TransportError::Empty { .. }
            | TransportError::TooLarge { .. }
            | TransportError::Redirected { .. } => false,
        }
    }

    /// The full-jitter backoff before attempt `next` (2 for the first retry), given a
    /// uniform draw `random` in [0, 1).
    pub fn backoff(&self, next: u32, random: f64) -> f64 {
        let exponent = next.saturating_sub(2).min(30);
        let ceiling = (self.base_ms * f64::from(1u32 << exponent)).min(self.cap_ms);
        random * ceiling
    }

    /// Decides after attempt `attempt` failed with `error`.
    ///
    /// `repeatable` says whether the request is safe to send again; `time_left` is what
    /// remains of the call's limit (and the deadline); `budget_left` says whether the
    /// composition may still spend a retry.
    pub fn decide(
        &self,
        attempt: u32,
        error: &TransportError,
        repeatable: bool,
        time_left: f64,
        budget_left: bool,
        random: f64,
    ) -> Decision {
        if !repeatable || !budget_left || attempt >= self.max_attempts || !Self::is_transient(error)
        {
            return Decision::Stop;
        }
        let wait = match error {
            TransportError::Throttled {
                retry_after_ms: Some(ms),
                ..
            } => *ms,
            _ => self.backoff(attempt + 1, random),
        };
        // Waiting past the time left would only end in a timeout: fail now instead.
        if wait >= time_left {
            Decision::Stop
        } else {
            Decision::RetryAfter(wait)
        }
    }

    /// Retries one composition may spend: 10% of its calls, plus 3.
    pub fn budget(calls: usize) -> u32 {
        (calls / 10) as u32 + 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base_ms: 100.0,
        cap_ms: 2_000.0,
    };

    #[test]
    fn retries_only_transient_failures_of_repeatable_requests() {
        let retry =
            |e: TransportError, repeatable| P.decide(1, &e, repeatable, 10_000.0, true, 0.5);
        for status in [408, 429, 502, 503, 504] {
            assert_eq!(
                retry(TransportError::Status(status), true),
                Decision::RetryAfter(50.0),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 409, 422, 500, 501] {
            assert_eq!(
                retry(TransportError::Status(status), true),
                Decision::Stop,
                "{status}"
            );
        }
        assert_eq!(
            retry(TransportError::Network("reset".into()), true),
            Decision::RetryAfter(50.0)
        );
        assert_eq!(
            retry(TransportError::Network("reset".into()), false),
            Decision::Stop,
            "a write without a key"
        );
        assert_eq!(
            retry(
                TransportError::Body {
                    status: 200,
                    content_type: None,
                    excerpt: String::new(),
                    reason: "x".into()
                },
                true
            ),
            Decision::Stop
        );
    }

    #[test]
    fn full_jitter_backoff_grows_and_is_capped() {
        assert_eq!(P.backoff(2, 0.999_999).round(), 100.0);
        assert_eq!(P.backoff(3, 0.999_999).round(), 200.0);
        assert_eq!(P.backoff(4, 0.999_999).round(), 400.0);
        assert_eq!(P.backoff(9, 0.999_999).round(), 2000.0, "capped");
        assert_eq!(P.backoff(40, 0.5), 1000.0, "no overflow far out");
        assert_eq!(P.backoff(3, 0.0), 0.0);
    }

    #[test]
    fn stops_at_the_attempt_cap_the_budget_and_the_time_left() {
        let e = TransportError::Status(503);
        assert_eq!(
            P.decide(3, &e, true, 10_000.0, true, 0.5),
            Decision::Stop,
            "three attempts made"
        );
        assert_eq!(
            P.decide(1, &e, true, 10_000.0, false, 0.5),
            Decision::Stop,
            "budget spent"
        );
        assert_eq!(
            P.decide(1, &e, true, 40.0, true, 0.5),
            Decision::Stop,
            "the wait would outlast the limit"
        );
    }

    #[test]
    fn retry_after_is_honoured_only_when_it_fits() {
        let e = TransportError::Throttled {
            status: 429,
            retry_after_ms: Some(1_500.0),
        };
        assert_eq!(
            P.decide(1, &e, true, 5_000.0, true, 0.5),
            Decision::RetryAfter(1_500.0)
        );
        assert_eq!(P.decide(1, &e, true, 1_000.0, true, 0.5), Decision::Stop);
    }

    #[test]
    fn budget_is_ten_percent_plus_three() {
        assert_eq!(RetryPolicy::budget(10), 4);
        assert_eq!(RetryPolicy::budget(1000), 103);
        assert_eq!(RetryPolicy::budget(0), 3);
    }
}
