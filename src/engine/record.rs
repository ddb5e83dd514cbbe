//! Per-call records: how each call of a composition ended, and when it ran; and what
//! became of the compensation of each completed write.

use crate::error::Error;
use crate::protocol::named_enum;

named_enum! {
    /// How a call ended. Every call of a finished composition is in exactly one state.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum CallState {
        /// The call succeeded and its reply is in the result.
        Ok = "ok",
        /// The call was attempted (or could not be built) and failed.
        Failed = "failed",
        /// A call it depends on failed, so it was never sent.
        Skipped = "skipped",
        /// Its `when` was false, or it reads a call that was not needed: it was never
        /// sent, and never fails the composition.
        NotNeeded = "not-needed",
        /// The composition was aborted before this call started, or while this read ran
        /// (the request was aborted).
        Cancelled = "cancelled",
        /// The composition failed elsewhere before this call could start.
        NotSent = "not-sent",
        /// A write was sent but its outcome is not known: the network failed or time ran out
        /// after sending. The service may or may not have acted on it.
        Unknown = "unknown",
    }
}

/// What happened to one call.
///
/// Times are milliseconds from the start of the composition on the
/// `performance.now()` clock; they are `None` for a call that never started.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    /// How the call ended.
    pub state: CallState,
    /// The HTTP status of its reply, when one arrived.
    pub status: Option<u16>,
    /// How many requests were sent for it.
    pub attempts: u32,
    /// When its request started.
    pub start_ms: Option<f64>,
    /// When it settled.
    pub end_ms: Option<f64>,
    /// Why it failed, for a `failed` or `unknown` call.
    pub error: Option<Error>,
    /// Whether its plan `fallback` stood in for the reply after it failed.
    pub fell_back: bool,
    /// Milliseconds it waited for a free slot under a concurrency limit, all attempts
    /// together (see `queue.rs`); 0 when it never waited.
    pub queued_ms: f64,
    /// The call whose identical read it shared instead of sending its own (see
    /// `dedupe.rs`): its index in the plan. It then sent nothing (`attempts` is 0).
    pub shared_from: Option<usize>,
    /// Whether its reply said it was replayed for the request's `Idempotency-Key`
    /// (`Idempotent-Replayed: true`): an earlier request with the same key made the
    /// write, so this composition never undoes it (see `compensate.rs`).
    pub replayed: bool,
    /// A fan-out call's items, one record per element of its list, in list order (none
    /// when its list was never read); `None` for any other call. The call's
    /// own record sums them up: `ok` when every item is, otherwise its items' worst state
    /// (failed, unknown, cancelled, not-sent, in that order), `attempts` their requests
    /// together; it starts when its list is read and ends when its last item settles.
    pub items: Option<Vec<CallRecord>>,
    /// How old the reply was when a composer's cache served it (`cache.rs`), in
    /// milliseconds; `None` when the call did not come from the cache. A call served so
    /// sent nothing (`attempts` is 0).
    pub cached_age_ms: Option<f64>,
    /// Whether a second request hedged its read (`hedge.rs`), and whether that second
    /// one's reply was used: `(hedged, hedge_won)`.
    pub hedged: (bool, bool),
}

impl CallRecord {
    /// A fan-out call's items' records; none for any other call.
    pub fn items(&self) -> &[CallRecord] {
        self.items.as_deref().unwrap_or_default()
    }
}

impl Default for CallRecord {
    fn default() -> Self {
        CallRecord {
            state: CallState::NotSent,
            status: None,
            attempts: 0,
            start_ms: None,
            end_ms: None,
            error: None,
            fell_back: false,
            queued_ms: 0.0,
            shared_from: None,
            replayed: false,
            items: None,
            cached_age_ms: None,
            hedged: (false, false),
        }
    }
}

named_enum! {
    /// How a compensation ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum CompensationState {
        /// The undoing write succeeded.
        Ok = "ok",
        /// The undoing write was answered with a failure, or could not be built.
        Failed = "failed",
        /// The undoing write was sent but its outcome is not known.
        Unknown = "unknown",
        /// It was not attempted; the error says why.
        NotRun = "not-run",
    }
}

/// What became of the compensation of one completed write.
#[derive(Clone, Debug, PartialEq)]
pub struct Compensation {
    /// The index of the call it undoes.
    pub call: usize,
    /// For a fan-out call, the position of the item whose write it undoes.
    pub item: Option<usize>,
    /// How it ended.
    pub state: CompensationState,
    /// The HTTP status of its last reply, when one arrived.
    pub status: Option<u16>,
    /// How many requests were sent for it.
    pub attempts: u32,
    /// Why it failed (`failed`, `unknown`).
    pub error: Option<Error>,
    /// Why it was not attempted (`not-run`).
    pub reason: Option<String>,
    /// When its first request started, in ms from the composition's start.
    pub start_ms: Option<f64>,
    /// When it settled.
    pub end_ms: Option<f64>,
    /// Whether the write was left alone because an earlier request with the same
    /// `Idempotency-Key` made it (its reply was replayed): it is that submission's, not
    /// this one's (`state` is then `not-run`).
    pub replayed: bool,
}
