//! What a caller should do to try a failed composition again: reuse its `operationId`, or
//! make a new one.
//!
//! Resubmitting under the same `operationId` resumes the operation: what exists comes
//! back by key. That is right while nothing was undone; once something was, the operation
//! cannot complete any more and a new one must be started.
//!
//! Services deduplicate writes by `Idempotency-Key`, and `operationId` makes the keys:
//! submitting again under the same one gets every write that already happened back by
//! key instead of making it twice, but it also gets back the old outcome of each (a
//! declined payment stays declined, a released reservation comes back released). So the
//! answer depends on what the failed composition left behind.

use crate::engine::outcome::Outcome;
use crate::engine::record::CallState;
use crate::engine::record::CompensationState;

/// How to submit the same intent again after a composition failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resubmit {
    /// Submit again under the same `operationId`: a write's outcome is unknown, or writes
    /// are still in effect and none was undone (after an abort, or an earlier submission
    /// made them). The services give back what exists by key, so nothing is made twice.
    SameOperation,
    /// The operation cannot be resumed: writes were undone (what is left is reported in the
    /// compensations), or none was made. A new attempt (another card, say) needs a new
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
    /// - A write whose outcome is unknown: the same operation, which resolves it by key.
    /// - Otherwise, once anything was undone: a new operation. The same one would get the
    ///   undone write back by key as undone (a released reservation) and could never
    ///   complete; what is left (an undoing that failed) is in `compensations`.
    /// - Otherwise, a write still in effect (not undone: after an abort, an undoing that
    ///   failed, or one an earlier submission made): the same operation, which gets it back
    ///   by key instead of making it twice.
    /// - Otherwise nothing was made, or nothing the plan says needs undoing (a write without
    ///   `compensate`, such as a quote): a new operation.
    pub fn resubmit(&self) -> Option<Resubmit> {
        self.error.as_ref()?;
        let unknown = self.records.iter().any(|r| r.state == CallState::Unknown);
        let undone = self
            .compensations
            .iter()
            .any(|c| c.state == CompensationState::Ok);
        let left = self
            .compensations
            .iter()
            .any(|c| c.state != CompensationState::Ok);
        Some(if unknown || (left && !undone) {
            Resubmit::SameOperation
        } else {
            Resubmit::NewOperation
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::record::CallRecord;
    use crate::engine::record::Compensation;
    use crate::error::{Error, ErrorKind};

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
                item: None,
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
    fn writes_left_in_effect_with_nothing_undone_ask_for_the_same_operation() {
        for left in [C::Failed, C::Unknown, C::NotRun] {
            let out = outcome(&[Ok, Ok, Failed], &[(left, false), (C::NotRun, false)]);
            assert_eq!(out.resubmit(), Some(Resubmit::SameOperation), "{left:?}");
        }
        // Written by an earlier submission, whose order may exist: never start anew.
        let theirs = outcome(&[Ok, Ok, Failed], &[(C::NotRun, true), (C::NotRun, true)]);
        assert_eq!(theirs.resubmit(), Some(Resubmit::SameOperation));
    }

    #[test]
    fn once_anything_was_undone_only_a_new_operation_can_complete() {
        // The void failed, the release succeeded: the same operation would get the
        // released reservation back and could never place the order.
        let out = outcome(&[Ok, Ok, Failed], &[(C::Failed, false), (C::Ok, false)]);
        assert_eq!(out.resubmit(), Some(Resubmit::NewOperation));
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
    }

    #[test]
    fn a_success_needs_no_resubmission() {
        let mut out = outcome(&[Ok, Unknown], &[]);
        out.error = None;
        assert_eq!(out.resubmit(), None);
    }
}
