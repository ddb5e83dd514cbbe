//! What a caller should do to try a failed composition again: reuse its `operationId`, or
//! make a new one.
//!
//! Services deduplicate writes by `Idempotency-Key`, and `operationId` makes the keys:
//! submitting again under the same one gets every write that already happened back by
//! key instead of making it twice, but it also gets back the old outcome of each (a
//! declined payment stays declined, a released reservation comes back released). So the
//! answer depends on what the failed composition left behind.

use crate::compensate::CompensationState;
use crate::record::CallState;
use crate::schedule::Outcome;

/// How to submit the same intent again after a composition failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resubmit {
    /// Submit again under the same `operationId`: a write's outcome is unknown, or a write
    /// this composition made is still in effect (its undoing failed, or did not run).
    /// The services give back what exists by key, so nothing is made twice.
    SameOperation,
    /// Nothing this composition made remains: every write it made was undone, or needed
    /// no undoing, or none was made. A new attempt (another card, say) needs a new
    /// `operationId`; the old one would only replay the old outcome.
    NewOperation,
}

impl Resubmit {
    /// The value JavaScript sees: `"same-operation"` or `"new-operation"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resubmit::SameOperation => "same-operation",
            Resubmit::NewOperation => "new-operation",
        }
    }
}

impl<V> Outcome<V> {
    /// How to submit the same intent again, when the composition failed; `None` when it
    /// succeeded.
    ///
    /// A write an earlier submission made (its reply was replayed) is that submission's
    /// and does not count. A completed write that declares no `compensate` is one the plan
    /// says needs no undoing (a quote, say).
    pub fn resubmit(&self) -> Option<Resubmit> {
        self.error.as_ref()?;
        let unknown = self.records.iter().any(|r| r.state == CallState::Unknown);
        let left = self
            .compensations
            .iter()
            .any(|c| c.state != CompensationState::Ok && !c.replayed);
        Some(if unknown || left {
            Resubmit::SameOperation
        } else {
            Resubmit::NewOperation
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compensate::Compensation;
    use crate::error::{Error, ErrorKind};
    use crate::record::CallRecord;

    fn outcome(states: &[CallState], undone: &[(CompensationState, bool)]) -> Outcome<()> {
        let records = states
            .iter()
            .map(|&state| CallRecord {
                state,
                ..CallRecord::default()
            })
            .collect();
        let compensations = undone
            .iter()
            .enumerate()
            .map(|(call, &(state, replayed))| Compensation {
                call,
                state,
                status: None,
                attempts: 0,
                error: None,
                reason: None,
                start_ms: None,
                end_ms: None,
                replayed,
            })
            .collect();
        Outcome {
            replies: vec![None; states.len()],
            records,
            error: Some(Error::new(ErrorKind::HttpStatus, "x")),
            compensations,
            origin: 0.0,
        }
    }

    use CallState::{Failed, NotSent, Ok, Skipped, Unknown};
    use CompensationState as C;

    #[test]
    fn an_unknown_write_asks_for_the_same_operation() {
        let out = outcome(&[Ok, Unknown, NotSent], &[(C::NotRun, false)]);
        assert_eq!(out.resubmit(), Some(Resubmit::SameOperation));
    }

    #[test]
    fn a_write_left_in_effect_asks_for_the_same_operation() {
        for left in [C::Failed, C::Unknown, C::NotRun] {
            let out = outcome(&[Ok, Ok, Failed], &[(C::Ok, false), (left, false)]);
            assert_eq!(out.resubmit(), Some(Resubmit::SameOperation), "{left:?}");
        }
    }

    #[test]
    fn nothing_left_asks_for_a_new_operation() {
        let undone = outcome(
            &[Ok, Ok, Failed, Skipped],
            &[(C::Ok, false), (C::Ok, false)],
        );
        assert_eq!(undone.resubmit(), Some(Resubmit::NewOperation));
        let nothing_made = outcome(&[Failed, NotSent], &[]);
        assert_eq!(nothing_made.resubmit(), Some(Resubmit::NewOperation));
        // A write an earlier submission made is not this composition's to leave.
        let theirs = outcome(&[Ok, Ok, Failed], &[(C::NotRun, true), (C::Ok, false)]);
        assert_eq!(theirs.resubmit(), Some(Resubmit::NewOperation));
    }

    #[test]
    fn a_success_needs_no_resubmission() {
        let mut out = outcome(&[Ok, Unknown], &[]);
        out.error = None;
        assert_eq!(out.resubmit(), None);
    }
}
