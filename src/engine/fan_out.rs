//! Fan-out calls in the engine: a call with `forEach` runs once per element of its list,
//! as items that live beside the plan's calls.
//!
//! An item is a call in every way the engine knows (`call.rs` runs it as any other: its
//! own request, retries, time limits, a concurrency slot, dedupe, events and record), so
//! each policy applies to items without a line of its own. Items take the places (slots)
//! after the plan's calls in the composition's per-call tables, made when the list is read;
//! `composition.rs` keeps which call and which element each slot is for. The call itself
//! sends nothing: it waits for its items, and its reply is theirs, as one array in list
//! order.
//!
//! Its own `concurrency` is kept by releasing items to the schedule one by one: at most
//! that many are released and unsettled at a time. One failed item fails the call (after
//! its own retries): the items still in flight are stopped, and the call's `optional` and
//! `fallback` apply to it as a whole.

use crate::engine::record::{CallRecord, CallState};
use crate::error::{Error, ErrorKind};
use crate::plan::fan_out::ForEach;
use crate::plan::value::Value;
use crate::plan::{Call, INPUT};

/// A fan-out call's list, and how far its items got.
pub(crate) struct Fan<V> {
    /// The list's elements, one per item.
    pub list: Vec<V>,
    /// The slot of the first item; the others follow it in list order.
    pub first: usize,
    /// Items released to the schedule so far.
    pub released: usize,
    /// Items released and not yet settled.
    pub running: usize,
    /// Whether the list is the input's (an element's missing field is then
    /// `INVALID_INPUT`) rather than a reply's (`BAD_RESPONSE`).
    pub from_input: bool,
}

impl<V> Fan<V> {
    /// The slots of the call's items.
    pub fn slots(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.list.len()
    }
}

/// The elements of `call`'s list `value`, found under `for_each`: refused when it is no
/// array, or when its items would take the composition past `max_calls` calls, counting
/// the `taken` it has so far.
pub(crate) fn elements<V: Value>(
    call: &Call,
    for_each: &ForEach,
    value: &V,
    (taken, max_calls): (usize, usize),
) -> Result<Vec<V>, Error> {
    let list = &for_each.list;
    let why = match value.elements() {
        None => "which is not an array".to_owned(),
        Some(elements) if taken + elements.len() <= max_calls => return Ok(elements),
        Some(elements) => format!(
            "whose {} elements would take the composition past maxCalls ({max_calls}); none was sent",
            elements.len()
        ),
    };
    let kind = if list.root == INPUT {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::BadResponse
    };
    let name = &call.name;
    let message = format!("call `{name}` runs once per element of `{{{list}}}`, {why}");
    Err(Error::new(kind, message).in_call(name))
}

/// A fan-out call's state once its items have settled: `ok` when every item is, otherwise
/// the worst of theirs, failed before unknown, cancelled and not-sent.
pub(crate) fn summed_state(items: &[CallRecord]) -> CallState {
    let order = [
        CallState::Failed,
        CallState::Unknown,
        CallState::Cancelled,
        CallState::NotSent,
    ];
    let worst = order
        .into_iter()
        .find(|&state| items.iter().any(|item| item.state == state));
    worst.unwrap_or(CallState::Ok)
}

/// The `Idempotency-Key` name of item `index` of call `name`: `<call>:<index>`, so that
/// with an `operationId` each item's write keeps its own key across submissions.
pub(crate) fn key_name(name: &str, index: Option<usize>) -> std::borrow::Cow<'_, str> {
    match index {
        Some(index) => format!("{name}:{index}").into(),
        None => name.into(),
    }
}
