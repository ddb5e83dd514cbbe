//! The order flow's plan over the service URLs it last ran with, kept for the next
//! composition: a portal or a backend-for-frontend calls `composeOrder` with the same
//! services every time, and reading the plan from its document (building the calls,
//! checking every template) was paid again by each order (bench E, docs/performance.md).
//!
//! One entry, compared by the URLs themselves: different services build a new plan, as
//! before. A plan is immutable once read, so sharing it between compositions in flight
//! changes nothing they do; its call names, as JS strings, are kept with it.

use super::plan_cache::ReadPlan;
use crate::error::Error;
use crate::order;
use std::cell::RefCell;

thread_local! {
    static LAST: RefCell<Option<(Vec<String>, ReadPlan)>> = const { RefCell::new(None) };
}

/// The order flow's plan over `urls` (in the order of the services), read once for the
/// same URLs.
pub(crate) fn order_plan(urls: Vec<String>) -> Result<ReadPlan, Error> {
    if let Some(kept) = LAST.with_borrow(|last| {
        last.as_ref()
            .filter(|(kept_urls, _)| *kept_urls == urls)
            .map(|(_, kept)| kept.clone())
    }) {
        return Ok(kept);
    }
    let read = ReadPlan::new(order::plan(&urls)?).kept();
    LAST.with_borrow_mut(|last| *last = Some((urls, read.clone())));
    Ok(read)
}
