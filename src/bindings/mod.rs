//! The JavaScript surface: every `#[wasm_bindgen]` export, and the conversions between
//! JS values and the engine's Rust types. Nothing else in the crate sees JS options.

use crate::engine::concurrency::Concurrency;
use crate::engine::events::{EventKind, OnEvent};
use crate::engine::hooks::{Hooks, NoHooks};
use crate::engine::outcome::Outcome;
use crate::engine::record::{CallRecord, CallState};
use crate::engine::resubmit::Resubmit;
use crate::engine::retry::RetryPolicy;
use crate::engine::run::run;
use crate::engine::scope::Scope;
use crate::engine::settings::{Schedule, Settings, DEFAULT_TIMEOUT_MS};
use crate::engine::trace::TraceContext;
use crate::engine::transport::BoxFuture;
use crate::engine::transport::{Clock, DEFAULT_MAX_RESPONSE_BYTES};
use crate::error::{Error, ErrorKind};
use crate::order::{self, OrderHooks, OrderRequest};
use crate::plan::template::parse_origin;
use crate::plan::{
    call_placeholders, check_call_count, Plan, DEFAULT_MAX_CALLS, INPUT, MAX_TIMEOUT_MS,
};
use crate::web::fetch::{page_origin, Credentials, FetchTransport, PerformanceClock};
use crate::web::js_value::{json_from_js, set_own};
use crate::web::signal::AbortListener;
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

mod order_plan;
pub use order_plan::order_plan;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** One call of a plan. Strings may hold `{name.path}` placeholders. */
export interface PlanCall {
  /** Absolute http(s) URL, or a path starting with `/`. Substituted values are percent-encoded. */
  url: string;
  /** Defaults to "GET". */
  method?: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Header values may hold placeholders. */
  headers?: Record<string, string>;
  /** Sent as JSON. A string that is exactly one placeholder keeps the value's JSON type. */
  body?: unknown;
  /** Calls to wait for besides those the templates name. */
  after?: string[];
  /** This call's time limit in ms, overriding `options.timeoutMs`. */
  timeoutMs?: number;
  /** Its failure does not fail the composition; its dependents are skipped (default false). */
  optional?: boolean;
  /** Stands in for the reply when the call fails, so its dependents still run. Implies `optional`. */
  fallback?: unknown;
  /** The write that undoes this one when a later required call fails. May read this call's reply. */
  compensate?: Compensate;
}

/** How to undo a completed write: a templated request (`method` is required). */
export interface Compensate {
  method: "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
}

/** A plan: named calls; each waits for the calls its templates name. */
export interface Plan {
  calls: Record<string, PlanCall>;
}

/** `"eager"`: each call starts when its dependencies end (default). `"stages"`: a barrier after each level. `"sequential"`: one at a time. */
export type Schedule = "eager" | "stages" | "sequential";

/** Options of `compose()`. */
export interface ComposeOptions {
  schedule?: Schedule;
  /** Aborting it aborts every in-flight request and rejects with code "ABORTED". */
  signal?: AbortSignal;
  /** Replaces the global fetch: called as fetch(url, init). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Each call's time limit in ms (default 10000); a call over it is aborted: code "TIMEOUT". */
  timeoutMs?: number;
  /** The whole composition's time limit in ms; it also bounds every call. Code "TIMEOUT". */
  deadlineMs?: number;
  /** Makes each POST's Idempotency-Key `<operationId>:<call>`, so a double submit reuses the keys. */
  operationId?: string;
  /** Attempts per call, the first included (default 3, at most 10). */
  maxAttempts?: number;
  /**
   * The most bytes one reply body may have (default 5 MiB = 5242880). It is checked while
   * the body streams in: a reply over it is aborted there and fails with "BAD_RESPONSE".
   */
  maxResponseBytes?: number;
  /**
   * The only origins requests may go to, such as ["https://api.example"]. A plan (or an
   * order service) naming another is refused before anything is sent. A URL starting
   * with `/` is on the page's origin (and refused where there is no page, as in Node).
   */
  allowedOrigins?: string[];
  /**
   * fetch's `credentials` per origin, such as { "https://api.example": "include" }.
   * Every other request is sent with "same-origin".
   */
  credentials?: Record<string, "include" | "same-origin" | "omit">;
  /** The most calls a plan may have (default 1000). Not an option of `composeOrder()`. */
  maxCalls?: number;
  /**
   * Identical GETs (and HEADs) of one composition, same URL, headers and time limit once
   * filled in, are sent once and shared (default true); each sharer's record names the
   * call it shared from in `sharedFrom`. Writes are never shared.
   */
  dedupe?: boolean;
  /**
   * The most requests on the wire at once, a whole number from 1 (default: no limit).
   * The rest wait, first come first served; `queuedMs` in the records says how long.
   */
  maxConcurrency?: number;
  /** The most requests on the wire at once per origin, a whole number from 1 (default: no limit). */
  maxConcurrencyPerOrigin?: number;
  /**
   * Called synchronously with each progress event. Every call gets exactly one terminal
   * event ("end", "skip" or "cancel") once the composition runs, so terminal events / calls
   * is a progress fraction. What it throws (or an async callback rejects with) is caught:
   * the composition carries on, and the first failure is reported once on the console.
   */
  onEvent?: (event: ComposeEvent) => void | Promise<void>;
  /**
   * Adds User Timing measures when the composition settles: "compose:<call>" per call
   * that started, "compose:<call>.compensate" per compensation sent, and "compose" for the
   * whole composition, each on a DevTools track of its own composition (default false).
   */
  timings?: boolean;
  /**
   * The W3C `traceparent` header: true (default) sends it to the page's own origin and
   * to every origin of `allowedOrigins`; an array sends it to exactly those origins;
   * false sends it nowhere (and `traceId` is null). Cross-origin services must allow it
   * (`Access-Control-Allow-Headers: traceparent`).
   */
  traceContext?: boolean | string[];
}

/** A progress event of `options.onEvent`. `t`: ms since the composition started, on the clock of `CallRecord.startMs`. */
export type ComposeEvent =
  /** A request was sent: `attempt` is 1 for the first, 2 for the first retry, ... */
  | { type: "start"; call: string; t: number; attempt: number }
  /** Attempt `attempt` failed (`status`, or null without an HTTP answer); the next one starts after `waitMs`. */
  | { type: "retry"; call: string; t: number; attempt: number; status: number | null; reason: "HTTP_STATUS" | "NETWORK" | "TIMEOUT"; waitMs: number }
  /** The call settled by itself. `attempt`: requests sent (0 if its request could not be built). */
  | { type: "end"; call: string; t: number; attempt: number; status: number | null; state: "ok" | "failed" | "unknown" }
  /** A call it needs failed: it was never sent. */
  | { type: "skip"; call: string; t: number; state: "skipped" }
  /** The abort, the deadline or another call's failure stopped it, in flight, waiting to retry, or before it started. */
  | { type: "cancel"; call: string; t: number; attempt: number; status: number | null; state: "cancelled" | "not-sent" | "unknown" | "failed" }
  /** The compensation of `call`'s write ran (or could not): its outcome, after every call's terminal event. */
  | { type: "compensate"; call: string; t: number; attempt: number; status: number | null; state: "ok" | "failed" | "unknown" | "not-run" };

/** One of the event types. */
export type ComposeEventType = ComposeEvent["type"];

/** How a call ended. */
export type CallState = "ok" | "failed" | "skipped" | "cancelled" | "not-sent" | "unknown";

/** What happened to one call. Times are ms from the composition's start (performance.now()). */
export interface CallRecord {
  state: CallState;
  status: number | null;
  attempts: number;
  startMs: number | null;
  endMs: number | null;
  /** Why a `failed` or `unknown` call failed. */
  error: { code: ComposeErrorCode; message: string } | null;
  /**
   * ms the call waited for a free slot under `maxConcurrency` / `maxConcurrencyPerOrigin`,
   * its retries included; 0 when it never waited. Counts against `deadlineMs`, not `timeoutMs`.
   */
  queuedMs: number;
  /**
   * The call whose identical read this one shared instead of sending its own (`attempts`
   * is then 0), or null.
   */
  sharedFrom: string | null;
  /**
   * true when the service replayed a stored reply for the request's `Idempotency-Key`
   * (`Idempotent-Replayed: true`): an earlier request with the same key made the write,
   * so this composition never undoes it.
   */
  replayed: boolean;
}

/** What became of the compensation of one completed write. */
export interface CompensationRecord {
  /** The call whose write it undid. */
  call: string;
  /**
   * "not-run": not attempted; `reason` says why (aborted, its outcome was unknown, a write
   * that depends on it is unknown, or an earlier submission made it: its reply was replayed).
   */
  state: "ok" | "failed" | "unknown" | "not-run";
  status: number | null;
  attempts: number;
  startMs: number | null;
  endMs: number | null;
  error: { code: ComposeErrorCode; message: string } | null;
  reason: string | null;
}

/** What `compose()` resolves to. */
export interface ComposeResult {
  /** Each successful call's parsed JSON reply. */
  data: Record<string, unknown>;
  calls: Record<string, CallRecord>;
  /** The topological levels, as call names. */
  stages: string[][];
  /** The optional calls that failed and whose `fallback` stood in for the reply. */
  fellBack: string[];
  /** The trace id every `traceparent` of this composition carried (32 hex digits), or null with `traceContext: false`. */
  traceId: string | null;
}

/** What `validatePlan()` returns. */
export interface PlanSummary {
  stages: string[][];
}

/** The order services. */
export type ServiceName = "customer" | "cart" | "inventory" | "pricing" | "shipping" | "fraud" | "tax" | "payment" | "order" | "notification";

/** The "create order" request. */
export interface OrderRequest {
  customerId: string;
  cartId: string;
  paymentMethodId: string;
  /** Defaults to "standard". */
  shippingOption?: "standard" | "express";
}

/** Options of `composeOrder()`: where the services are, plus the `compose()` options. */
export interface OrderOptions extends Omit<ComposeOptions, "maxCalls"> {
  /** One base URL per service; a path prefix is kept. */
  services?: Partial<Record<ServiceName, string>>;
  /** A gateway: a service without its own entry uses `${baseUrl}/${serviceName}`. */
  baseUrl?: string;
}

/** A customer as the customer service returns it. */
export interface Customer {
  id: string;
  email: string;
  tier: string;
  address: Record<string, unknown>;
}

/** A cart line. */
export interface CartItem {
  sku: string;
  quantity: number;
}

/** What `composeOrder()` resolves to. Money is in integer cents. */
export interface OrderResult {
  orderId: string;
  status: string;
  /** subtotal - discount + shipping.cost + tax. */
  total: number;
  currency: string;
  customer: Customer;
  items: CartItem[];
  reservationId: string;
  authorizationId: string;
  shipping: { cost: number; carrier: string };
  tax: number;
  /**
   * The confirmation. Not sent: `state` says how the call ended ("unknown": it was sent and
   * stopped by the deadline or the abort, which came after the order was placed).
   */
  notification:
    | { sent: true; notificationId?: string }
    | { sent: false; state: Exclude<CallState, "ok">; error: string };
  calls: Record<ServiceName, CallRecord>;
  /** The trace id every `traceparent` of this order carried, or null with `traceContext: false`. */
  traceId: string | null;
}

/** Stable error codes. */
export type ComposeErrorCode =
  | "INVALID_INPUT" | "INVALID_PLAN" | "HTTP_STATUS" | "NETWORK" | "BAD_RESPONSE"
  | "TIMEOUT" | "ABORTED" | "FRAUD_REJECTED" | "PAYMENT_DECLINED";

/** The error every rejection carries. `calls` tells which calls (and so which writes) ran. */
export class ComposeError extends Error {
  readonly name: "ComposeError";
  readonly code: ComposeErrorCode;
  readonly call: string | null;
  readonly status: number | null;
  readonly calls: Record<string, CallRecord>;
  /** The completed writes the failure left to undo, in the order they were undone. */
  readonly compensations: CompensationRecord[];
  /** The composition's trace id, to find it in the backend's traces; null when nothing was sent or `traceContext` is false. */
  readonly traceId: string | null;
  /**
   * How to try again. "same-operation": a write's outcome is unknown, or a write it made is
   * still in effect; submit again under the same `operationId`, which gets what exists back
   * by key. "new-operation": nothing it made remains (all undone, or nothing made); a new
   * attempt (another card, say) needs a new `operationId`, or it would replay the old outcome.
   */
  readonly resubmit: "same-operation" | "new-operation";
}
"#;

#[wasm_bindgen(module = "/js/compose-error.js")]
extern "C" {
    #[wasm_bindgen(js_name = ComposeError)]
    type ComposeErrorJs;

    #[wasm_bindgen(constructor, js_class = ComposeError)]
    fn new(message: &str, options: &Object) -> ComposeErrorJs;
}

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
    /// `compose()`'s result.
    #[wasm_bindgen(typescript_type = "ComposeResult")]
    pub type ComposeResultJs;
    /// `validatePlan()`'s result.
    #[wasm_bindgen(typescript_type = "PlanSummary")]
    pub type PlanSummaryJs;
    /// The order request.
    #[wasm_bindgen(typescript_type = "OrderRequest")]
    pub type OrderRequestJs;
    /// `composeOrder()` options.
    #[wasm_bindgen(typescript_type = "OrderOptions")]
    pub type OrderOptionsJs;
    /// `composeOrder()`'s result.
    #[wasm_bindgen(typescript_type = "OrderResult")]
    pub type OrderResultJs;
}

/// Builds the `ComposeError` a promise rejects with before anything was sent (no trace;
/// nothing was made, so a new attempt needs a new operation).
fn to_js_error(error: &Error, calls: &JsValue) -> JsValue {
    failure_js(error, calls, &Array::new(), None, Resubmit::NewOperation)
}

/// A failed composition's `ComposeError`, with its compensations.
fn outcome_error(
    error: &Error,
    calls: &JsValue,
    plan: &Plan,
    outcome: &Outcome<JsValue>,
    trace_id: Option<&str>,
) -> JsValue {
    let compensations: Array = outcome
        .compensations
        .iter()
        .map(|c| {
            let (code, message) = error_parts(c.error.as_ref());
            compensation_record(
                &plan.calls()[c.call].name,
                c.state as u8,
                c.status.map_or(-1, i32::from),
                c.attempts,
                c.start_ms.unwrap_or(f64::NAN),
                c.end_ms.unwrap_or(f64::NAN),
                code,
                message,
                c.reason.as_deref(),
            )
        })
        .collect();
    let resubmit = outcome.resubmit().unwrap_or(Resubmit::NewOperation);
    failure_js(error, calls, &compensations, trace_id, resubmit)
}

fn failure_js(
    error: &Error,
    calls: &JsValue,
    compensations: &Array,
    trace_id: Option<&str>,
    resubmit: Resubmit,
) -> JsValue {
    let options = Object::new();
    set_own(&options, "code", &error.code().into());
    set_own(
        &options,
        "call",
        &error.call().map_or(JsValue::NULL, JsValue::from_str),
    );
    set_own(
        &options,
        "status",
        &error
            .status()
            .map_or(JsValue::NULL, |s| JsValue::from_f64(s as f64)),
    );
    set_own(&options, "calls", calls);
    set_own(&options, "compensations", compensations);
    set_own(&options, "traceId", &trace_id_js(trace_id));
    set_own(&options, "resubmit", &resubmit.as_str().into());
    ComposeErrorJs::new(error.message(), &options).into()
}

#[wasm_bindgen(module = "/js/records.js")]
extern "C" {
    #[wasm_bindgen(js_name = callRecord)]
    #[allow(clippy::too_many_arguments)]
    fn call_record(
        state: u8,
        status: i32,
        attempts: u32,
        start_ms: f64,
        end_ms: f64,
        code: Option<&str>,
        message: Option<&str>,
        queued_ms: f64,
        shared_from: &JsValue,
        replayed: bool,
    ) -> JsValue;

    #[wasm_bindgen(js_name = compensationRecord)]
    #[allow(clippy::too_many_arguments)]
    fn compensation_record(
        call: &str,
        state: u8,
        status: i32,
        attempts: u32,
        start_ms: f64,
        end_ms: f64,
        code: Option<&str>,
        message: Option<&str>,
        reason: Option<&str>,
    ) -> JsValue;
}

/// An error's code and message, as the records carry them.
fn error_parts(error: Option<&Error>) -> (Option<&'static str>, Option<&str>) {
    match error {
        Some(e) => (Some(e.code()), Some(e.message())),
        None => (None, None),
    }
}

/// A call state's index in `js/records.js`'s and `js/events.js`'s `CALL_STATES`.
fn state_index(state: CallState) -> u8 {
    match state {
        CallState::Ok => 0,
        CallState::Failed => 1,
        CallState::Skipped => 2,
        CallState::Cancelled => 3,
        CallState::NotSent => 4,
        CallState::Unknown => 5,
    }
}

/// One call's record; `names` (the plan's, as JS strings) name the call it shared from.
fn record_js(record: &CallRecord, names: &[JsValue]) -> JsValue {
    let (code, message) = error_parts(record.error.as_ref());
    call_record(
        state_index(record.state),
        record.status.map_or(-1, i32::from),
        record.attempts,
        record.start_ms.unwrap_or(f64::NAN),
        record.end_ms.unwrap_or(f64::NAN),
        code,
        message,
        record.queued_ms,
        record
            .shared_from
            .and_then(|leader| names.get(leader))
            .unwrap_or(&JsValue::NULL),
        record.replayed,
    )
}

/// The plan's call names as JS strings, converted once per composition and shared by
/// `data` and `calls`.
fn names_js(plan: &Plan) -> Vec<JsValue> {
    plan.calls()
        .iter()
        .map(|c| JsValue::from_str(&c.name))
        .collect()
}

/// Sets `obj[name] = value` as an own property; `__proto__`, the one name whose plain
/// assignment would call a setter, goes through `set_own`.
fn set_name(obj: &Object, name: &JsValue, value: &JsValue) {
    if name.as_string().as_deref() == Some("__proto__") {
        set_own(obj, "__proto__", value);
    } else {
        let _ = Reflect::set(obj, name, value);
    }
}

fn records_js(names: &[JsValue], records: &[CallRecord]) -> JsValue {
    let obj = Object::new();
    for (name, record) in names.iter().zip(records) {
        set_name(&obj, name, &record_js(record, names));
    }
    obj.into()
}

fn stages_js(plan: &Plan) -> JsValue {
    plan.stage_names()
        .into_iter()
        .map(|stage| stage.into_iter().map(JsValue::from_str).collect::<Array>())
        .collect::<Array>()
        .into()
}

/// The option names every entry point accepts.
const COMPOSE_OPTIONS: &[&str] = &[
    "schedule",
    "signal",
    "fetch",
    "timeoutMs",
    "deadlineMs",
    "operationId",
    "maxAttempts",
    "maxResponseBytes",
    "allowedOrigins",
    "credentials",
    "dedupe",
    "maxConcurrency",
    "maxConcurrencyPerOrigin",
    "onEvent",
    "timings",
    "traceContext",
];

/// The option names only `compose()` and `validatePlan()` accept: `composeOrder()`'s
/// plan has its fixed ten calls.
const PLAN_OPTIONS: &[&str] = &["maxCalls"];

/// The option names only `composeOrder()` accepts, besides [`COMPOSE_OPTIONS`].
const ORDER_OPTIONS: &[&str] = &["services", "baseUrl"];

/// The options every entry point shares.
struct RunOptions {
    settings: Settings,
    signal: Option<AbortSignal>,
    fetch: Option<Function>,
    /// The byte cap of each reply body.
    max_response_bytes: u64,
    /// The origins requests may go to; `None`: any.
    allowed_origins: Option<Vec<String>>,
    /// `credentials` modes other than `same-origin`, by origin.
    credentials: Vec<(String, Credentials)>,
    /// The most calls a plan may have.
    max_calls: usize,
    /// `options.onEvent`: called with each progress event.
    on_event: Option<Function>,
    /// `options.timings`: User Timing measures of the composition.
    timings: bool,
    /// `options.traceContext`.
    trace: TraceOption,
}

/// Where the `traceparent` header goes.
#[derive(Clone, Debug, PartialEq)]
enum TraceOption {
    /// `false`: nowhere, and no trace id.
    Off,
    /// The default (`true`): the page's own origin, and every origin of `allowedOrigins`.
    Allowed,
    /// An array: exactly these origins.
    Origins(Vec<String>),
}

fn bad_option(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// Reads an options object, refusing unknown keys so that a typo is an error rather
/// than a silently ignored setting. Returns the shared options and the object.
fn read_options(options: &JsValue, extra: &[&str]) -> Result<(RunOptions, Object), Error> {
    if options.is_undefined() || options.is_null() {
        let none = RunOptions {
            settings: Schedule::Eager.into(),
            signal: None,
            fetch: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            allowed_origins: None,
            credentials: Vec::new(),
            max_calls: DEFAULT_MAX_CALLS,
            on_event: None,
            timings: false,
            trace: TraceOption::Allowed,
        };
        return Ok((none, Object::new()));
    }
    if !options.is_object() || Array::is_array(options) {
        return Err(bad_option("options must be an object".into()));
    }
    let obj: Object = options.clone().unchecked_into();
    for key in Object::keys(&obj).iter() {
        let key = key.as_string().unwrap_or_default();
        if !COMPOSE_OPTIONS.contains(&key.as_str()) && !extra.contains(&key.as_str()) {
            let known: Vec<&str> = COMPOSE_OPTIONS.iter().chain(extra).copied().collect();
            return Err(bad_option(format!(
                "options.{key} is not an option; known options are {}",
                known.join(", ")
            )));
        }
    }
    let get = |key: &str| Reflect::get(&obj, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let schedule = match get("schedule") {
        v if v.is_undefined() => Schedule::Eager,
        v => v
            .as_string()
            .as_deref()
            .and_then(Schedule::parse)
            .ok_or_else(|| {
                bad_option(
                    "options.schedule must be \"eager\", \"stages\" or \"sequential\"".into(),
                )
            })?,
    };
    let limit = |key: &str| -> Result<Option<f64>, Error> {
        match get(key) {
            v if v.is_undefined() || v.is_null() => Ok(None),
            v => match v.as_f64() {
                Some(ms) if ms > 0.0 && ms <= MAX_TIMEOUT_MS => Ok(Some(ms)),
                _ => Err(bad_option(format!(
                    "options.{key} must be a number of milliseconds above 0 and at most 2147483647"
                ))),
            },
        }
    };
    let settings = Settings {
        schedule,
        timeout_ms: limit("timeoutMs")?.unwrap_or(DEFAULT_TIMEOUT_MS),
        deadline_ms: limit("deadlineMs")?,
        operation_id: match get("operationId") {
            v if v.is_undefined() || v.is_null() => None,
            v => match v.as_string() {
                Some(id) if !id.trim().is_empty() => Some(id),
                _ => {
                    return Err(bad_option(
                        "options.operationId must be a non-empty string naming this intent".into(),
                    ))
                }
            },
        },
        retry: match get("maxAttempts") {
            v if v.is_undefined() || v.is_null() => RetryPolicy::default(),
            v => match v.as_f64() {
                Some(n) if (1.0..=10.0).contains(&n) && n.fract() == 0.0 => RetryPolicy {
                    max_attempts: n as u32,
                    ..RetryPolicy::default()
                },
                _ => {
                    return Err(bad_option(
                        "options.maxAttempts must be a whole number from 1 to 10".into(),
                    ))
                }
            },
        },
        dedupe: match get("dedupe") {
            v if v.is_undefined() || v.is_null() => true,
            v => v
                .as_bool()
                .ok_or_else(|| bad_option("options.dedupe must be true or false".into()))?,
        },
        concurrency: Concurrency {
            max: read_concurrency(&get("maxConcurrency"), "maxConcurrency")?,
            per_origin: read_concurrency(
                &get("maxConcurrencyPerOrigin"),
                "maxConcurrencyPerOrigin",
            )?,
        },
        on_event: None,
        trace: None,
    };
    let signal = match get("signal") {
        v if v.is_undefined() || v.is_null() => None,
        v => {
            let looks_right = Reflect::get(&v, &"aborted".into())
                .is_ok_and(|a| a.as_bool().is_some())
                && Reflect::get(&v, &"addEventListener".into()).is_ok_and(|f| f.is_function());
            if !looks_right {
                return Err(bad_option("options.signal must be an AbortSignal".into()));
            }
            Some(v.unchecked_into::<AbortSignal>())
        }
    };
    let fetch = match get("fetch") {
        v if v.is_undefined() || v.is_null() => None,
        v if v.is_function() => Some(v.unchecked_into::<Function>()),
        _ => {
            return Err(bad_option(
                "options.fetch must be a function like fetch(url, init)".into(),
            ))
        }
    };
    let max_response_bytes = match get("maxResponseBytes") {
        v if v.is_undefined() || v.is_null() => DEFAULT_MAX_RESPONSE_BYTES,
        v => match v.as_f64() {
            // Up to Number.MAX_SAFE_INTEGER: every such number is an exact count of bytes.
            Some(n) if (1.0..=9_007_199_254_740_991.0).contains(&n) && n.fract() == 0.0 => n as u64,
            _ => {
                return Err(bad_option(
                    "options.maxResponseBytes must be a whole number of bytes above 0, \
                     such as 1048576 for 1 MiB"
                        .into(),
                ))
            }
        },
    };
    let max_calls = match get("maxCalls") {
        v if v.is_undefined() || v.is_null() => DEFAULT_MAX_CALLS,
        v => match v.as_f64() {
            Some(n) if (1.0..=1_000_000.0).contains(&n) && n.fract() == 0.0 => n as usize,
            _ => {
                return Err(bad_option(
                    "options.maxCalls must be a whole number of calls from 1 to 1000000".into(),
                ))
            }
        },
    };
    Ok((
        RunOptions {
            settings,
            signal,
            fetch,
            max_response_bytes,
            allowed_origins: read_allowed_origins(&get("allowedOrigins"))?,
            credentials: read_credentials(&get("credentials"))?,
            max_calls,
            on_event: read_on_event(&get("onEvent"))?,
            timings: read_timings(&get("timings"))?,
            trace: read_trace_context(&get("traceContext"))?,
        },
        obj,
    ))
}

/// `options.maxConcurrency` or `options.maxConcurrencyPerOrigin`: requests at once.
fn read_concurrency(value: &JsValue, key: &str) -> Result<Option<usize>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if (1.0..=1_000_000.0).contains(&n) && n.fract() == 0.0 => Ok(Some(n as usize)),
        _ => Err(bad_option(format!(
            "options.{key} must be a whole number of requests from 1 to 1000000; leave it out \
             for no limit"
        ))),
    }
}

/// `options.onEvent`: a function (an async one too).
fn read_on_event(value: &JsValue) -> Result<Option<Function>, Error> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else if value.is_function() {
        Ok(Some(value.clone().unchecked_into()))
    } else {
        Err(bad_option(
            "options.onEvent must be a function; it is called with each progress event".into(),
        ))
    }
}

/// `options.timings`: `true` or `false`.
fn read_timings(value: &JsValue) -> Result<bool, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(false);
    }
    value
        .as_bool()
        .ok_or_else(|| bad_option("options.timings must be true or false".into()))
}

/// `options.traceContext`: `true` (the default), `false`, or an array of origins.
fn read_trace_context(value: &JsValue) -> Result<TraceOption, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(TraceOption::Allowed);
    }
    if let Some(on) = value.as_bool() {
        return Ok(if on {
            TraceOption::Allowed
        } else {
            TraceOption::Off
        });
    }
    read_origins(value, "traceContext")
        .unwrap_or_else(|| {
            Err(bad_option(
                "options.traceContext must be true, false, or an array of the origins that get \
                 a traceparent header, such as [\"https://api.example\"]"
                    .into(),
            ))
        })
        .map(TraceOption::Origins)
}

/// `text` cut to 60 characters, for quoting an option's value in a message.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("\"{}...\"", &text[..at]),
        None => format!("\"{text}\""),
    }
}

/// `options.allowedOrigins`: an array of origins, each normalized as `URL.origin` writes it.
fn read_allowed_origins(value: &JsValue) -> Result<Option<Vec<String>>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    read_origins(value, "allowedOrigins")
        .unwrap_or_else(|| {
            Err(bad_option(
                "options.allowedOrigins must be an array of origins such as \
                 [\"https://api.example\"]"
                    .into(),
            ))
        })
        .map(Some)
}

/// `options[key]` read as an array of origins, or `None` when it is not an array.
fn read_origins(value: &JsValue, key: &str) -> Option<Result<Vec<String>, Error>> {
    if !Array::is_array(value) {
        return None;
    }
    let items: &Array = value.unchecked_ref();
    let mut origins = Vec::with_capacity(items.length() as usize);
    for (i, item) in items.iter().enumerate() {
        match read_origin(item.as_string(), &format!("options.{key}.{i}")) {
            Ok(origin) => origins.push(origin),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(origins))
}

/// An origin an option names, at `place`, as [`parse_origin`] gives it.
fn read_origin(text: Option<String>, place: &str) -> Result<String, Error> {
    text.as_deref().and_then(parse_origin).ok_or_else(|| {
        bad_option(format!(
            "{place} must be an origin such as \"https://api.example\" (scheme, host and port, \
             no path){}",
            text.map_or(String::new(), |t| format!(", not {}", quoted(&t)))
        ))
    })
}

/// `options.credentials`: `{ origin: "include" | "same-origin" | "omit" }`.
fn read_credentials(value: &JsValue) -> Result<Vec<(String, Credentials)>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if !value.is_object() || Array::is_array(value) || value.is_function() {
        return Err(bad_option(
            "options.credentials must be an object from origin to \"include\", \"same-origin\" \
             or \"omit\", such as {\"https://api.example\": \"include\"}"
                .into(),
        ));
    }
    let mut modes = Vec::new();
    let object: &Object = value.unchecked_ref();
    for entry in Object::entries(object).iter() {
        let entry: Array = entry.unchecked_into();
        let key = entry.get(0).as_string().unwrap_or_default();
        let origin = read_origin(Some(key.clone()), "each key of options.credentials")?;
        let mode = entry
            .get(1)
            .as_string()
            .as_deref()
            .and_then(Credentials::parse)
            .ok_or_else(|| {
                bad_option(format!(
                    "options.credentials[{}] must be \"include\", \"same-origin\" or \"omit\"",
                    quoted(&key)
                ))
            })?;
        modes.push((origin, mode));
    }
    Ok(modes)
}

/// What [`execute`] gives back: the outcome, and the trace id its requests carry.
struct Executed {
    outcome: Outcome<JsValue>,
    trace_id: Option<String>,
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(bytes: &mut [u8]);
}

/// The composition's trace, unless `options.traceContext` is `false`: a random trace
/// id from the platform's `crypto`, sent to the origins the caller named (by default the
/// page's own and those of `allowedOrigins`; see `trace.rs` for why no others).
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

#[wasm_bindgen(module = "/js/events.js")]
extern "C" {
    type EventSink;

    #[wasm_bindgen(constructor)]
    fn new(callback: &Function, names: &Array) -> EventSink;

    /// One event: its type's index in `TYPES`, the call's index, `t`, the attempt, the
    /// status (< 0: none), the state's index, a retry's reason and wait.
    #[wasm_bindgen(method)]
    #[allow(clippy::too_many_arguments)]
    fn send(
        this: &EventSink,
        kind: u8,
        call: usize,
        t: f64,
        attempt: u32,
        status: i32,
        state: u8,
        reason: Option<&str>,
        wait_ms: f64,
    );
}

/// `options.onEvent` as the scheduler's callback: each event crosses into JavaScript
/// once, as numbers, and becomes an object there (`js/events.js`).
fn event_sink(callback: &Function, names: &[JsValue]) -> OnEvent {
    let sink = EventSink::new(callback, &names.iter().collect());
    OnEvent::new(move |e| {
        let (kind, attempt, status, state, reason, wait) = match e.kind {
            EventKind::Start { attempt } => (0, attempt, None, 0, None, 0.0),
            EventKind::Retry {
                attempt,
                status,
                reason,
                wait_ms,
            } => (1, attempt, status, 0, Some(reason.code()), wait_ms),
            EventKind::End {
                attempts,
                status,
                state,
            } => (2, attempts, status, state_index(state), None, 0.0),
            EventKind::Skip => (3, 0, None, state_index(CallState::Skipped), None, 0.0),
            EventKind::Cancel {
                attempts,
                status,
                state,
            } => (4, attempts, status, state_index(state), None, 0.0),
            EventKind::Compensate {
                attempts,
                status,
                state,
            } => (5, attempts, status, state as u8, None, 0.0),
        };
        let status = status.map_or(-1, i32::from);
        sink.send(kind, e.call, e.t, attempt, status, state, reason, wait);
    })
}

/// Runs `plan` with the browser transport, honouring the caller's signal, and reports
/// its progress, timings and trace as the options ask. `names` are the plan's call names.
///
/// Hooks and the abort future are type-erased so that the scheduler is compiled once
/// for every entry point: each generic instance of it costs several KB of .wasm.
async fn execute(
    plan: &Plan,
    input: &JsValue,
    options: &RunOptions,
    hooks: &dyn Hooks<JsValue>,
    names: &[JsValue],
) -> Executed {
    let transport = FetchTransport::new(options.fetch.clone())
        .max_response_bytes(options.max_response_bytes)
        .credentials(options.credentials.clone());
    let (_listener, aborted): (Option<AbortListener>, BoxFuture<()>) = match &options.signal {
        Some(signal) if signal.aborted() => {
            // Already aborted: send nothing at all.
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
            return Executed {
                outcome,
                trace_id: None,
            };
        }
        Some(signal) => {
            let (listener, aborted) = AbortListener::new(signal.clone());
            (Some(listener), aborted)
        }
        None => (None, Box::pin(std::future::pending())),
    };
    let mut settings = options.settings.clone();
    settings.trace = trace_context(options);
    settings.on_event = options.on_event.as_ref().map(|f| event_sink(f, names));
    let trace_id = settings.trace.as_ref().map(TraceContext::trace_id);
    let outcome = run(
        plan,
        input,
        &transport,
        &PerformanceClock,
        hooks,
        settings,
        aborted,
    )
    .await;
    if options.timings {
        let end = PerformanceClock.now();
        crate::web::timings::measure_composition(plan, &outcome, trace_id.as_deref(), end);
    }
    Executed { outcome, trace_id }
}

/// A trace id as JavaScript sees it: a string, or `null` without one.
fn trace_id_js(trace_id: Option<&str>) -> JsValue {
    trace_id.map_or(JsValue::NULL, JsValue::from_str)
}

/// Reads and validates a plan of at most `max_calls` calls. The count is checked before
/// the plan is read into Rust, so an oversized plan costs no more than counting its keys.
fn read_plan(plan: &JsValue, max_calls: usize) -> Result<Plan, Error> {
    let calls = Reflect::get(plan, &"calls".into()).unwrap_or(JsValue::UNDEFINED);
    if calls.is_object() {
        let calls: &Object = calls.unchecked_ref();
        check_call_count(Object::keys(calls).length() as usize, max_calls)?;
    }
    let json = json_from_js(plan, "plan").map_err(|e| Error::new(ErrorKind::InvalidPlan, e))?;
    Plan::from_json_limited(&json, max_calls)
}

/// Reads `plan` under `options` (`compose()`'s, with `maxCalls`): plan errors come first,
/// as before any option is looked at (they are checked with the default call limit when
/// the options are invalid); then the options' errors, reported with the plan's calls;
/// then the origins against `allowedOrigins`. Nothing has been sent in any case.
fn read_plan_and_options(plan: &JsValue, options: &JsValue) -> Result<(Plan, RunOptions), JsValue> {
    let read = read_options(options, PLAN_OPTIONS);
    let max_calls = read
        .as_ref()
        .map_or(DEFAULT_MAX_CALLS, |(o, _)| o.max_calls);
    let plan = read_plan(plan, max_calls).map_err(|e| to_js_error(&e, &Object::new().into()))?;
    let unsent = || {
        records_js(
            &names_js(&plan),
            &vec![CallRecord::default(); plan.calls().len()],
        )
    };
    let (options, _) = read.map_err(|e| to_js_error(&e, &unsent()))?;
    if let Some(allowed) = &options.allowed_origins {
        plan.check_origins(allowed, page_origin().as_deref())
            .map_err(|e| to_js_error(&e, &unsent()))?;
    }
    Ok((plan, options))
}

#[wasm_bindgen(module = "/js/fetch-call.js")]
extern "C" {
    /// The JSON text a request body is sent as (BigInts as their exact digits); throws
    /// for what JSON cannot hold, such as a cycle.
    #[wasm_bindgen(js_name = bodyText, catch)]
    fn body_text(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// Checks that every input value a body takes whole (`"{input.items}"`) can be written
/// as JSON the way the request will be: a cycle would otherwise fail in the middle of a
/// composition. `INVALID_INPUT` before anything is sent; a value that is missing is
/// left for the scheduler's input check to report.
fn check_json_input(plan: &Plan, input: &JsValue) -> Result<(), Error> {
    let scope = Scope::new(plan, input, &[]);
    for call in plan.calls() {
        for call in std::iter::once(call).chain(call.compensate.as_deref()) {
            for (h, as_text) in call_placeholders(call) {
                if as_text || h.root != INPUT {
                    continue;
                }
                let Ok(value) = scope.resolve(&call.name, h) else {
                    continue;
                };
                if let Err(e) = body_text(&value) {
                    let why = e
                        .dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .unwrap_or_default();
                    let why = why.lines().next().unwrap_or_default();
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "call `{}`: `{{{h}}}` cannot be sent as JSON ({why}); pass plain data, \
                             without cycles",
                            call.name
                        ),
                    )
                    .in_call(&call.name));
                }
            }
        }
    }
    Ok(())
}

/// Validates a plan without sending anything, and returns its stages. It checks with
/// the default limits (at most 1000 calls) and no origin allow-list: `compose()` checks
/// `options.maxCalls` and `options.allowedOrigins` too, before anything is sent.
///
/// Throws a `ComposeError` with code `INVALID_PLAN` naming the problem.
#[wasm_bindgen(js_name = validatePlan)]
pub fn validate_plan(plan: PlanJs) -> Result<PlanSummaryJs, JsValue> {
    let plan =
        read_plan(&plan.into(), DEFAULT_MAX_CALLS).map_err(|e| to_js_error(&e, &Object::new()))?;
    let summary = Object::new();
    set_own(&summary, "stages", &stages_js(&plan));
    Ok(summary.unchecked_into())
}

/// Runs a plan: independent calls concurrently, each dependent call as soon as its
/// inputs arrive (by default). Resolves `{ data, calls, stages }`.
///
/// Rejects with a `ComposeError` whose `calls` says how every call ended. Nothing is
/// sent when the plan, the input or the options are invalid.
#[wasm_bindgen]
pub async fn compose(
    plan: PlanJs,
    input: InputJs,
    options: Option<ComposeOptionsJs>,
) -> Result<ComposeResultJs, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let (plan, options) = read_plan_and_options(&plan.into(), &options)?;
    let input: JsValue = input.into();
    check_json_input(&plan, &input).map_err(|e| {
        let unsent = vec![CallRecord::default(); plan.calls().len()];
        to_js_error(&e, &records_js(&names_js(&plan), &unsent))
    })?;
    let names = names_js(&plan);
    let Executed { outcome, trace_id } = execute(&plan, &input, &options, &NoHooks, &names).await;
    let calls = records_js(&names, &outcome.records);
    if let Some(error) = &outcome.error {
        return Err(outcome_error(
            error,
            &calls,
            &plan,
            &outcome,
            trace_id.as_deref(),
        ));
    }
    let fell_back = Array::new();
    for (name, record) in names.iter().zip(&outcome.records) {
        if record.fell_back {
            fell_back.push(name);
        }
    }
    let data = Object::new();
    for (name, reply) in names.iter().zip(outcome.replies) {
        if let Some(reply) = reply {
            set_name(&data, name, &reply);
        }
    }
    let result = Object::new();
    set_own(&result, "data", &data);
    set_own(&result, "calls", &calls);
    set_own(&result, "stages", &stages_js(&plan));
    set_own(&result, "fellBack", &fell_back);
    set_own(&result, "traceId", &trace_id_js(trace_id.as_deref()));
    Ok(result.unchecked_into())
}

/// Creates an order: the ten service calls of the order flow, composed.
///
/// Resolves the aggregated order; rejects with a `ComposeError` (`FRAUD_REJECTED`,
/// `PAYMENT_DECLINED`, `HTTP_STATUS`, ...) whose `calls` tells which writes happened.
#[wasm_bindgen(js_name = composeOrder)]
pub async fn compose_order(
    request: OrderRequestJs,
    options: Option<OrderOptionsJs>,
) -> Result<OrderResultJs, JsValue> {
    let fail = |e: Error| to_js_error(&e, &Object::new());
    let request: JsValue = request.into();
    let request = json_from_js(&request, "request")
        .map_err(|e| fail(Error::new(ErrorKind::InvalidInput, e)))?;
    let request = OrderRequest::from_json(&request).map_err(fail)?;
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let (run_options, obj) = read_options(&options, ORDER_OPTIONS).map_err(fail)?;
    let services = read_services(&obj).map_err(fail)?;
    let base_url = match Reflect::get(&obj, &"baseUrl".into()).unwrap_or(JsValue::UNDEFINED) {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(
            v.as_string()
                .ok_or_else(|| fail(bad_option("options.baseUrl must be a string".into())))?,
        ),
    };
    let urls = order::service_urls(&services, base_url.as_deref()).map_err(fail)?;
    if let Some(allowed) = &run_options.allowed_origins {
        order::check_origins(&urls, &services, allowed).map_err(fail)?;
    }
    let plan = order::plan(&urls).map_err(fail)?;
    let input: JsValue = request.to_input();
    let names = names_js(&plan);
    let Executed { outcome, trace_id } =
        execute(&plan, &input, &run_options, &OrderHooks, &names).await;
    let trace_id = trace_id.as_deref();
    let calls = records_js(&names, &outcome.records);
    if let Some(error) = &outcome.error {
        return Err(outcome_error(error, &calls, &plan, &outcome, trace_id));
    }
    // The order was placed, but its result cannot be read from the replies: submitting
    // the same operation again gets the order back by key rather than placing another.
    let summary = order::summary(&plan, &input, &outcome)
        .map_err(|e| failure_js(&e, &calls, &Array::new(), trace_id, Resubmit::SameOperation))?;
    let result = Object::new();
    for (key, value) in &summary {
        set_own(&result, key, value);
    }
    set_own(&result, "calls", &calls);
    set_own(&result, "traceId", &trace_id_js(trace_id));
    Ok(result.unchecked_into())
}

fn read_services(options: &Object) -> Result<Vec<(String, String)>, Error> {
    let services = Reflect::get(options, &"services".into()).unwrap_or(JsValue::UNDEFINED);
    if services.is_undefined() || services.is_null() {
        return Ok(Vec::new());
    }
    if !services.is_object() || Array::is_array(&services) {
        return Err(bad_option(
            "options.services must be an object of service URLs".into(),
        ));
    }
    let services: Object = services.unchecked_into();
    let mut out = Vec::new();
    for entry in Object::entries(&services).iter() {
        let entry: Array = entry.unchecked_into();
        let name = entry.get(0).as_string().unwrap_or_default();
        let url = entry
            .get(1)
            .as_string()
            .ok_or_else(|| bad_option(format!("options.services.{name} must be a URL string")))?;
        out.push((name, url));
    }
    Ok(out)
}
