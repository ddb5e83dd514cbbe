//! The JavaScript surface: the `#[wasm_bindgen]` exports, `validatePlan`, `compose` and
//! `composeOrder` (here) and their streams (`stream.rs`), and the conversions between JS
//! values and the engine's types. Nothing else in the crate sees JS options.
//!
//! - `options.rs`: the options, read by serde into types that name each option;
//! - `request.rs`: `composeOrder()`'s request;
//! - `records.rs`: records, errors and results, built as plain objects;
//! - `events.rs`: the `onEvent` sink;
//! - `stream.rs`: `composeStream()` and `composeOrderStream()`, the same compositions
//!   with each call's value handed over as it arrives;
//! - `run.rs`: reading a plan and running it over the browser's transport;
//! - `plan_cache.rs` and `order_cache.rs`: plans read once and found again (a frozen one by
//!   identity, any other by what it holds, compared with a copy kept) and the order flow's;
//! - `fields.rs`: how every reader here turns a JS object into a derived type;
//! - `types.d.ts` and `protocol.rs`: the TypeScript types, hand-written where they
//!   describe, generated where they list names the Rust code defines.

mod composer;
mod events;
mod fields;
mod options;
mod order_cache;
mod plan_cache;
mod protocol;
mod records;
mod request;
mod run;
mod stream;
pub use composer::{create_composer, Composer, ComposerOptionsJs};
pub use stream::{compose_order_stream, compose_stream};

use crate::engine::hooks::NoHooks;
use crate::engine::resubmit::Resubmit;
use crate::error::Error;
use crate::order::{self, OrderHooks};
use crate::plan::value::Value;
use crate::plan::DEFAULT_MAX_CALLS;
use options::{read_options, Entry};
use plan_cache::ReadPlan;
use records::{compensation_js, compose_error, no_calls, object, records_js, unsent_error};
use run::Executed;
use run::{execute, read_plan, read_plan_and_options};
use std::future::Future;
use std::pin::Pin;
use wasm_bindgen::prelude::*;

mod order_plan_export;
pub use order_plan_export::order_plan;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    /// A plan object.
    #[wasm_bindgen(typescript_type = "Plan")]
    pub type PlanJs;
    /// The input `{input...}` placeholders read: any JSON value.
    #[wasm_bindgen(typescript_type = "unknown")]
    pub type InputJs;
    /// `compose()` options.
    #[wasm_bindgen(typescript_type = "ComposeOptions")]
    pub type ComposeOptionsJs;
    /// `validatePlan()`'s result.
    #[wasm_bindgen(typescript_type = "PlanSummary")]
    pub type PlanSummaryJs;
    /// The order request.
    #[wasm_bindgen(typescript_type = "OrderRequest")]
    pub type OrderRequestJs;
    /// `composeOrder()` options.
    #[wasm_bindgen(typescript_type = "OrderOptions")]
    pub type OrderOptionsJs;
}

/// A failed composition's `ComposeError`, with its compensations.
fn outcome_error(
    error: &Error,
    calls: &JsValue,
    names: &[JsValue],
    executed: &Executed,
) -> JsValue {
    let outcome = &executed.outcome;
    let compensations = outcome
        .compensations
        .iter()
        .map(|c| compensation_js(c, names))
        .collect();
    let resubmit = outcome.resubmit().unwrap_or(Resubmit::NewOperation);
    let trace_id = executed.trace_id.as_deref();
    compose_error(error, calls, compensations, trace_id, resubmit)
}

/// Validates a plan without sending anything, and returns its stages. It checks with
/// the default limits (at most 1000 calls) and no origin allow-list: `compose()` checks
/// `options.maxCalls` and `options.allowedOrigins` too, before anything is sent.
///
/// Throws a `ComposeError` with code `INVALID_PLAN` naming the problem.
#[wasm_bindgen(js_name = validatePlan)]
pub fn validate_plan(plan: PlanJs) -> Result<PlanSummaryJs, JsValue> {
    let plan =
        read_plan(&plan.into(), DEFAULT_MAX_CALLS).map_err(|e| unsent_error(&e, &no_calls()))?;
    // Its stages written as `compose()`'s are (`records::stage_names`), so that one
    // writer serves both.
    let stages = records::stage_names(&plan_cache::names_js(&plan), plan.stages());
    Ok(object(&[("stages", stages)]).unchecked_into())
}

/// Runs a plan: independent calls concurrently, each dependent call as soon as its
/// inputs arrive (by default). Resolves `{ data, calls, stages }`.
///
/// Rejects with a `ComposeError` whose `calls` says how every call ended. Nothing is
/// sent when the plan, the input or the options are invalid.
///
/// The plan is read at every composition, unless it reads as one read before: the same
/// object frozen all the way down, or a plan that holds what a kept copy holds
/// (`plan_cache.rs`).
#[wasm_bindgen(js_name = compose, unchecked_return_type = "Promise<ComposeResult>")]
pub fn compose_js(
    plan: PlanJs,
    input: InputJs,
    options: Option<ComposeOptionsJs>,
) -> js_sys::Promise {
    promise(compose_into(plan, input, options, None, None))
}

/// A promise of `future`'s result for JavaScript.
///
/// Every async export goes through this one `future_to_promise`, over a boxed future: an
/// `async fn` export gets a `future_to_promise` of its own, with its body inlined into it,
/// and the second one cost 296 bytes of the .wasm's gzip budget.
fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> js_sys::Promise {
    let future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    wasm_bindgen_futures::future_to_promise(future)
}

/// Runs a plan, as JavaScript's `compose()` does: the result `{ data, calls, stages }`, or
/// the `ComposeError`. Dropping the future stops the composition and aborts its requests
/// in flight.
pub async fn compose(
    plan: PlanJs,
    input: InputJs,
    options: Option<ComposeOptionsJs>,
) -> Result<JsValue, JsValue> {
    compose_into(plan, input, options, None, None).await
}

/// [`compose`], handing each call's value to `parts` as it arrives (`stream.rs`).
async fn compose_into(
    plan: PlanJs,
    input: InputJs,
    options: Option<ComposeOptionsJs>,
    parts: Option<stream::PartQueue>,
    using: Option<composer::Using>,
) -> Result<JsValue, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let (read, mut options) = read_plan_and_options(&plan.into(), &options)?;
    use_composer(&mut options, using, None);
    let ReadPlan { plan, names, .. } = read.clone();
    stream::attach(parts, &mut options, &names);
    let input: JsValue = input.into();
    let mut executed = execute(read, input, options, &NoHooks).await;
    if let Some(error) = &executed.outcome.error {
        let calls = records_js(&names, &executed.outcome.records);
        return Err(outcome_error(error, &calls, &names, &executed));
    }
    let fell_back = js_sys::Array::new();
    for (i, record) in executed.outcome.records.iter().enumerate() {
        if record.fell_back {
            fell_back.push(&names[i]);
        }
    }
    // The replies are handed over, not copied: one JS value per call.
    let replies = std::mem::take(&mut executed.outcome.replies);
    let replies = replies.into_iter().map(|r| r.unwrap_or(JsValue::UNDEFINED));
    let data = records::named_object(&names, replies.collect());
    let stages = records::stage_names(&names, plan.stages());
    let trace_id = executed.trace_id.as_deref();
    let result = object(&[
        ("data", data),
        // Its place among the keys: `defer_records` makes it the records when first read.
        ("calls", JsValue::UNDEFINED),
        // The names as the JS strings `data` and `calls` are keyed by, not decoded again.
        ("stages", stages),
        ("fellBack", fell_back.into()),
        ("traceId", trace_id.map_or(JsValue::NULL, JsValue::from_str)),
    ]);
    records::defer_records(&result, &names, &executed.outcome.records);
    Ok(result)
}

/// Runs the composition through the composer `using` says, if any, with the cache
/// policies `cache` gives its plan's calls instead of the plan's own (the order flow's).
fn use_composer(
    options: &mut options::RunOptions,
    using: Option<composer::Using>,
    cache: Option<Vec<Option<crate::plan::reuse::CachePolicy>>>,
) {
    if let Some(using) = using {
        options.settings.hedge = using.hedge;
        options.memory = Some((using.memory, using.prefetch, cache));
    }
}

/// The order services' URLs for `options` (`services`, else `baseUrl`), in
/// [`order::SERVICES`] order, refusing any outside `allowedOrigins`.
fn order_urls(options: &options::RunOptions) -> Result<Vec<String>, Error> {
    let urls = order::service_urls(&options.services, options.base_url.as_deref())?;
    if let Some(allowed) = &options.allowed_origins {
        order::check_origins(&urls, &options.services, allowed)?;
    }
    Ok(urls)
}

/// Creates an order: the ten service calls of the order flow, composed.
///
/// Resolves the aggregated order; rejects with a `ComposeError` (`FRAUD_REJECTED`,
/// `PAYMENT_DECLINED`, `HTTP_STATUS`, ...) whose `calls` tells which writes happened.
#[wasm_bindgen(js_name = composeOrder, unchecked_return_type = "Promise<OrderResult>")]
pub fn compose_order_js(
    request: OrderRequestJs,
    options: Option<OrderOptionsJs>,
) -> js_sys::Promise {
    promise(compose_order_into(request, options, None, None))
}

/// Creates an order, as JavaScript's `composeOrder()` does: the order, or the
/// `ComposeError`. Dropping the future stops the composition and aborts its requests.
pub async fn compose_order(
    request: OrderRequestJs,
    options: Option<OrderOptionsJs>,
) -> Result<JsValue, JsValue> {
    compose_order_into(request, options, None, None).await
}

/// [`compose_order`], handing each service's reply to `parts` as it arrives (`stream.rs`).
async fn compose_order_into(
    request: OrderRequestJs,
    options: Option<OrderOptionsJs>,
    parts: Option<stream::PartQueue>,
    using: Option<composer::Using>,
) -> Result<JsValue, JsValue> {
    let fail = |e: Error| unsent_error(&e, &no_calls());
    let request = request::read_request(&request.into()).map_err(fail)?;
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let mut options = read_options(&options, Entry::Order).map_err(fail)?;
    let read = order_urls(&options)
        .and_then(order_cache::order_plan)
        .map_err(fail)?;
    let prefetch = using.as_ref().is_some_and(|u| u.prefetch);
    let ages = using
        .as_ref()
        .map(|u| composer::order_ages(&read.plan, &u.order));
    use_composer(&mut options, using, ages);
    let ReadPlan { plan, names, .. } = read.clone();
    stream::attach(parts, &mut options, &names);
    let input: JsValue = request.to_input();
    let executed = execute(read, input.clone(), options, &OrderHooks).await;
    let outcome = &executed.outcome;
    let trace_id = executed.trace_id.as_deref();
    let calls = records_js(&names, &outcome.records);
    if let Some(error) = &outcome.error {
        return Err(outcome_error(error, &calls, &names, &executed));
    }
    if prefetch {
        let trace_id = trace_id.map_or(JsValue::NULL, JsValue::from_str);
        return Ok(object(&[("calls", calls), ("traceId", trace_id)]));
    }
    // The order was placed, but its result cannot be read from the replies: submitting
    // the same operation again gets the order back by key rather than placing another.
    let summary = order::summary(&plan, &input, outcome).map_err(|e| {
        compose_error(
            &e,
            &calls,
            js_sys::Array::new(),
            trace_id,
            Resubmit::SameOperation,
        )
    })?;
    Ok(order_result(summary, calls, trace_id))
}

/// `composeOrder()`'s result: the fields [`order::summary`] makes, in its order, then
/// `calls` and `traceId` (`null` without a trace), built as [`object`] builds
/// `compose()`'s.
fn order_result(
    mut fields: Vec<(String, JsValue)>,
    calls: JsValue,
    trace_id: Option<&str>,
) -> JsValue {
    let trace_id = trace_id.map_or(JsValue::NULL, JsValue::from_str);
    fields.push(("calls".to_owned(), calls));
    fields.push(("traceId".to_owned(), trace_id));
    JsValue::object(fields)
}
