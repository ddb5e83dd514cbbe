//! Running a plan from JavaScript: reading it, checking its input, and running it over
//! the browser's transport and clock with the caller's signal, events, timings and trace.

use super::events::event_sink;
use super::options::{read_options, Entry, RunOptions, TraceOption};
use super::plan_cache::{self, ReadPlan};
use super::records::{records_js, unsent_error, CallNames};
use crate::engine::hooks::Hooks;
use crate::engine::memory::Remember;
use crate::engine::outcome::Outcome;
use crate::engine::record::{CallRecord, CallState};
use crate::engine::run::{run_with, Parts};
use crate::engine::trace::TraceContext;
use crate::engine::transport::{BoxFuture, Clock};
use crate::error::{Error, ErrorKind};
use crate::plan::{check_call_count, Plan, DEFAULT_MAX_CALLS};
use crate::web::fetch::{page_origin, FetchTransport, PerformanceClock};
use crate::web::js_value::json_from_js;
use crate::web::poll_now::polled_on_settle;
use crate::web::signal::AbortListener;
use js_sys::{Object, Reflect};
use std::future::Future;
use wasm_bindgen::prelude::*;

/// What [`execute`] gives back: the outcome, and the trace id its requests carry.
pub(crate) struct Executed {
    pub outcome: Outcome<JsValue>,
    pub trace_id: Option<String>,
}

/// Every call's record before anything was sent, by the plan's call `names`.
fn unsent_records(names: &CallNames) -> JsValue {
    records_js(names, &vec![CallRecord::default(); names.len()])
}

/// Reads and validates a plan of at most `max_calls` calls. The count is checked before
/// the plan is read into Rust, so an oversized plan costs no more than counting its keys.
///
/// Plans keep the hand-written reader of `web::js_value` rather than serde: it names the
/// exact place of a mistake at any depth (`plan.calls.a.body.items.3 is not a finite
/// number`), where a derived reader knows only the type it expected.
pub(crate) fn read_plan(plan: &JsValue, max_calls: usize) -> Result<Plan, Error> {
    check_call_keys(plan, max_calls)?;
    read_counted_plan(plan, max_calls)
}

/// [`read_plan`] for a plan whose calls [`check_call_keys`] counted already. The plan read
/// is held to `max_calls` again, so a getter that answered otherwise since still cannot
/// pass the limit.
pub(crate) fn read_counted_plan(plan: &JsValue, max_calls: usize) -> Result<Plan, Error> {
    let json = json_from_js(plan, "plan").map_err(|e| Error::new(ErrorKind::InvalidPlan, e))?;
    Plan::from_json_limited(&json, max_calls)
}

/// Checks the number of keys of `plan.calls` against `max_calls`, where it is an object,
/// and gives that number.
pub(crate) fn check_call_keys(plan: &JsValue, max_calls: usize) -> Result<usize, Error> {
    let calls = Reflect::get(plan, &"calls".into()).unwrap_or(JsValue::UNDEFINED);
    if !calls.is_object() {
        return Ok(0);
    }
    let keys = Object::keys(calls.unchecked_ref::<Object>()).length() as usize;
    check_call_count(keys, max_calls)?;
    Ok(keys)
}

/// Reads `plan` under `compose()`'s options: plan errors come first, as before any
/// option is looked at (checked with the default call limit when the options are
/// invalid); then the options' errors, reported with the plan's calls; then the origins
/// against `allowedOrigins`. Nothing has been sent in any case.
pub(crate) fn read_plan_and_options(
    plan: &JsValue,
    options: &JsValue,
) -> Result<(ReadPlan, RunOptions), JsValue> {
    let read = read_options(options, Entry::Compose);
    let max_calls = read.as_ref().map_or(DEFAULT_MAX_CALLS, |o| o.max_calls);
    let plan = plan_cache::read(plan, max_calls).map_err(|e| unsent_error(&e, &Object::new()))?;
    let options = read.map_err(|e| unsent_error(&e, &unsent_records(&plan.names)))?;
    if let Some(allowed) = &options.allowed_origins {
        plan.plan
            .check_origins(allowed, page_origin().as_deref())
            .map_err(|e| unsent_error(&e, &unsent_records(&plan.names)))?;
    }
    Ok((plan, options))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(bytes: &mut [u8]);
}

/// The composition's trace, unless `options.traceContext` is `false`: a random trace
/// id from the platform's `crypto`, sent to the origins the caller named (by default the
/// page's own and those of `allowedOrigins`; see `engine/trace.rs` for why no others).
fn trace_context(options: &RunOptions) -> Option<TraceContext> {
    let page = page_origin();
    let origins = match &options.trace {
        TraceOption::Off => return None,
        TraceOption::Origins(origins) => origins.clone(),
        TraceOption::Allowed => {
            let mut origins = options.allowed_origins.clone().unwrap_or_default();
            origins.extend(page.clone());
            origins
        }
    };
    let mut seed = [0; 24];
    get_random_values(&mut seed);
    Some(TraceContext::new(seed, origins, page))
}

/// The outcome of a composition whose signal was aborted before it began: nothing sent.
fn aborted_before_start(plan: &Plan) -> Executed {
    let n = plan.calls().len();
    let cancelled = CallRecord {
        state: CallState::Cancelled,
        ..CallRecord::default()
    };
    let outcome = Outcome {
        replies: vec![None; n],
        records: vec![cancelled; n],
        error: Some(Error::new(
            ErrorKind::Aborted,
            "the signal was already aborted; nothing was sent",
        )),
        compensations: Vec::new(),
        origin: PerformanceClock.now(),
    };
    Executed {
        outcome,
        trace_id: None,
    }
}

/// Runs the plan read with the browser transport, honouring the caller's signal, and
/// reports its progress, timings and trace as the options ask.
///
/// The composition is polled the moment a request's outcome arrives (`web/poll_now.rs`),
/// which is why it owns what it reads.
pub(crate) fn execute(
    read: ReadPlan,
    input: JsValue,
    options: RunOptions,
    hooks: &'static dyn Hooks<JsValue>,
) -> impl Future<Output = Executed> {
    polled_on_settle(async move { compose_with(&read, &input, &options, hooks).await })
}

/// [`execute`]'s composition. Hooks and the abort future are type-erased so that the
/// scheduler is compiled once for every entry point: each generic instance of it costs
/// several KB of .wasm.
async fn compose_with(
    read: &ReadPlan,
    input: &JsValue,
    options: &RunOptions,
    hooks: &dyn Hooks<JsValue>,
) -> Executed {
    let (plan, names) = (&*read.plan, &*read.names);
    let transport = FetchTransport::new(options.fetch.clone())
        .max_response_bytes(options.max_response_bytes)
        .credentials(options.credentials.clone())
        .fixed_urls(read.urls.clone());
    let (_listener, aborted): (Option<AbortListener>, BoxFuture<()>) = match &options.signal {
        Some(signal) if signal.aborted() => return aborted_before_start(plan),
        Some(signal) => {
            let (listener, aborted) = AbortListener::new(signal.clone());
            (Some(listener), aborted)
        }
        None => (None, Box::pin(std::future::pending())),
    };
    let mut settings = options.settings.clone();
    settings.trace = trace_context(options);
    let stream = settings.on_event.take();
    settings.on_event = event_sink(options.on_event.as_ref(), stream, names);
    let trace_id = settings.trace.as_ref().map(TraceContext::trace_id);
    let clock = PerformanceClock;
    let parts = Parts {
        transport: &transport,
        clock: &clock,
        hooks,
    };
    let remember = options
        .memory
        .as_ref()
        .map(|(memory, prefetch, cache)| Remember {
            memory,
            prefetch: *prefetch,
            cache: cache.as_deref(),
        });
    let outcome = run_with(plan, input, parts, settings, aborted, remember).await;
    if options.timings {
        let end = clock.now();
        crate::web::timings::measure_composition(plan, &outcome, trace_id.as_deref(), end);
    }
    Executed { outcome, trace_id }
}
