//! What a composition produced.

use crate::engine::record::CallRecord;
use crate::engine::record::Compensation;
use crate::error::Error;

/// What a composition produced: each call's reply (when it succeeded) and record, the
/// error that failed it, if any, and what became of the writes it then had to undo.
#[derive(Debug)]
pub struct Outcome<V> {
    /// Replies, indexed like the plan's calls; a fallback stands in for a failed optional
    /// call's reply.
    pub replies: Vec<Option<V>>,
    /// Records, indexed like the plan's calls.
    pub records: Vec<CallRecord>,
    /// The first failure of a required call, or the abort.
    pub error: Option<Error>,
    /// The compensations of completed writes, in the order they ran (last write first);
    /// empty when the composition succeeded or no completed write declared one.
    pub compensations: Vec<Compensation>,
    /// The clock's reading ([`Clock::now`](crate::engine::transport::Clock::now)) when the composition started: the records'
    /// times count from it.
    pub origin: f64,
}
