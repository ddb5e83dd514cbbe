//! The options of `compose()` and `composeOrder()`: [`OptionsJs`], read by serde, and
//! [`RunOptions`], what the engine runs with.
//!
//! Each option has a type of its own whose `Deserialize` checks the value and names the
//! option in its message (`options.maxAttempts must be a whole number from 1 to 10`),
//! so a mistake is reported at its exact place. A key that is no option is refused
//! rather than silently ignored.

use super::fields::{field_names, is_plain_object, raw_field, read_object};
use crate::engine::concurrency::Concurrency;
use crate::engine::retry::RetryPolicy;
use crate::engine::settings::{Schedule, Settings, DEFAULT_TIMEOUT_MS};
use crate::engine::transport::DEFAULT_MAX_RESPONSE_BYTES;
use crate::error::{Error, ErrorKind};
use crate::plan::template::parse_origin;
use crate::plan::{DEFAULT_MAX_CALLS, MAX_TIMEOUT_MS};
use crate::web::fetch::Credentials;
use js_sys::{Array, Function, Object};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

/// Every option of `compose()` and `composeOrder()`, as JavaScript passes it. Fields are
/// in the order they are checked; `maxCalls` is `compose()`'s only, `services` and
/// `baseUrl` are `composeOrder()`'s only (see [`Entry`]).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct OptionsJs {
    schedule: Option<ScheduleOption>,
    timeout_ms: Option<TimeoutMs>,
    deadline_ms: Option<DeadlineMs>,
    operation_id: Option<OperationId>,
    max_attempts: Option<MaxAttempts>,
    dedupe: Option<Dedupe>,
    max_concurrency: Option<MaxConcurrency>,
    max_concurrency_per_origin: Option<MaxConcurrencyPerOrigin>,
    signal: Option<Signal>,
    fetch: Option<Fetch>,
    max_response_bytes: Option<MaxResponseBytes>,
    allowed_origins: Option<AllowedOrigins>,
    credentials: Option<CredentialsOption>,
    on_event: Option<OnEventOption>,
    timings: Option<Timings>,
    trace_context: Option<TraceContextOption>,
    max_calls: Option<MaxCalls>,
    services: Option<Services>,
    base_url: Option<BaseUrl>,
}

/// Which entry point reads the options: each refuses the other's own options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Entry {
    /// `compose()`: a plan of its own, so `maxCalls`.
    Compose,
    /// `composeOrder()`: where the services are, `services` and `baseUrl`.
    Order,
}

impl Entry {
    /// The options only the other entry point has.
    fn foreign(self) -> &'static [&'static str] {
        match self {
            Entry::Compose => &["services", "baseUrl"],
            Entry::Order => &["maxCalls"],
        }
    }
}

/// The options every entry point shares, as the engine and the transport take them.
pub(crate) struct RunOptions {
    pub settings: Settings,
    pub signal: Option<AbortSignal>,
    pub fetch: Option<Function>,
    /// The byte cap of each reply body.
    pub max_response_bytes: u64,
    /// The origins requests may go to; `None`: any.
    pub allowed_origins: Option<Vec<String>>,
    /// `credentials` modes other than `same-origin`, by origin.
    pub credentials: Vec<(String, Credentials)>,
    /// The most calls a plan may have.
    pub max_calls: usize,
    /// `options.onEvent`: called with each progress event.
    pub on_event: Option<Function>,
    /// `options.timings`: User Timing measures of the composition.
    pub timings: bool,
    /// `options.traceContext`.
    pub trace: TraceOption,
    /// `options.services` (`composeOrder()`): base URLs by service name, in their order.
    pub services: Vec<(String, String)>,
    /// `options.baseUrl` (`composeOrder()`).
    pub base_url: Option<String>,
}

/// Where the `traceparent` header goes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TraceOption {
    /// `false`: nowhere, and no trace id.
    Off,
    /// The default (`true`): the page's own origin, and every origin of `allowedOrigins`.
    Allowed,
    /// An array: exactly these origins.
    Origins(Vec<String>),
}

/// Reads the options `entry` takes (`undefined` and `null` are none at all).
pub(crate) fn read_options(options: &JsValue, entry: Entry) -> Result<RunOptions, Error> {
    if options.is_undefined() || options.is_null() {
        return Ok(OptionsJs::default().into());
    }
    if !options.is_object() || Array::is_array(options) {
        return Err(bad("options must be an object".into()));
    }
    let known: Vec<&str> = field_names::<OptionsJs>()
        .iter()
        .copied()
        .filter(|name| !entry.foreign().contains(name))
        .collect();
    let read: OptionsJs = read_object(options, &known, |key| {
        format!(
            "options.{key} is not an option; known options are {}",
            known.join(", ")
        )
    })?;
    Ok(read.into())
}

impl From<OptionsJs> for RunOptions {
    fn from(o: OptionsJs) -> RunOptions {
        let settings = Settings {
            schedule: o.schedule.map_or(Schedule::Eager, |s| s.0),
            timeout_ms: o.timeout_ms.map_or(DEFAULT_TIMEOUT_MS, |t| t.0),
            deadline_ms: o.deadline_ms.map(|d| d.0),
            operation_id: o.operation_id.map(|id| id.0),
            retry: RetryPolicy {
                max_attempts: o
                    .max_attempts
                    .map_or(RetryPolicy::default().max_attempts, |n| n.0),
                ..RetryPolicy::default()
            },
            dedupe: o.dedupe.map_or(true, |d| d.0),
            concurrency: Concurrency {
                max: o.max_concurrency.map(|n| n.0),
                per_origin: o.max_concurrency_per_origin.map(|n| n.0),
            },
            on_event: None,
            trace: None,
        };
        RunOptions {
            settings,
            signal: o.signal.map(|s| s.0),
            fetch: o.fetch.map(|f| f.0),
            max_response_bytes: o
                .max_response_bytes
                .map_or(DEFAULT_MAX_RESPONSE_BYTES, |n| n.0),
            allowed_origins: o.allowed_origins.map(|a| a.0),
            credentials: o.credentials.map(|c| c.0).unwrap_or_default(),
            max_calls: o.max_calls.map_or(DEFAULT_MAX_CALLS, |n| n.0),
            on_event: o.on_event.map(|f| f.0),
            timings: o.timings.is_some_and(|t| t.0),
            trace: o.trace_context.map_or(TraceOption::Allowed, |t| t.0),
            services: o.services.map(|s| s.0).unwrap_or_default(),
            base_url: o.base_url.map(|u| u.0),
        }
    }
}

fn bad(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// A whole number in `range`, or `message`.
fn whole(
    value: &JsValue,
    range: std::ops::RangeInclusive<f64>,
    message: &str,
) -> Result<f64, String> {
    match value.as_f64() {
        Some(n) if range.contains(&n) && n.fract() == 0.0 => Ok(n),
        _ => Err(message.to_owned()),
    }
}

/// A time limit in milliseconds: above 0, at most `MAX_TIMEOUT_MS`.
fn milliseconds(value: &JsValue, key: &str) -> Result<f64, String> {
    match value.as_f64() {
        Some(ms) if ms > 0.0 && ms <= MAX_TIMEOUT_MS => Ok(ms),
        _ => Err(format!(
            "options.{key} must be a number of milliseconds above 0 and at most 2147483647"
        )),
    }
}

/// `true` or `false`, or `message`.
fn boolean(value: &JsValue, message: &str) -> Result<bool, String> {
    value.as_bool().ok_or_else(|| message.to_owned())
}

raw_field!(
    /// `options.schedule`.
    ScheduleOption(Schedule),
    |v| v.as_string().as_deref().and_then(Schedule::parse).ok_or_else(|| {
        "options.schedule must be \"eager\", \"stages\" or \"sequential\"".to_owned()
    })
);
raw_field!(
    /// `options.timeoutMs`.
    TimeoutMs(f64),
    |v| milliseconds(&v, "timeoutMs")
);
raw_field!(
    /// `options.deadlineMs`.
    DeadlineMs(f64),
    |v| milliseconds(&v, "deadlineMs")
);
raw_field!(
    /// `options.operationId`.
    OperationId(String),
    |v| match v.as_string() {
        Some(id) if !id.trim().is_empty() => Ok(id),
        _ => Err("options.operationId must be a non-empty string naming this intent".to_owned()),
    }
);
raw_field!(
    /// `options.maxAttempts`.
    MaxAttempts(u32),
    |v| whole(&v, 1.0..=10.0, "options.maxAttempts must be a whole number from 1 to 10")
        .map(|n| n as u32)
);
raw_field!(
    /// `options.dedupe`.
    Dedupe(bool),
    |v| boolean(&v, "options.dedupe must be true or false")
);
raw_field!(
    /// `options.maxConcurrency`.
    MaxConcurrency(usize),
    |v| concurrency(&v, "maxConcurrency")
);
raw_field!(
    /// `options.maxConcurrencyPerOrigin`.
    MaxConcurrencyPerOrigin(usize),
    |v| concurrency(&v, "maxConcurrencyPerOrigin")
);

/// Requests at once: a whole number from 1 to 1000000.
fn concurrency(value: &JsValue, key: &str) -> Result<usize, String> {
    let message = format!(
        "options.{key} must be a whole number of requests from 1 to 1000000; leave it out for no limit"
    );
    whole(value, 1.0..=1_000_000.0, &message).map(|n| n as usize)
}

raw_field!(
    /// `options.signal`: anything that behaves as an `AbortSignal` (a polyfill's too).
    Signal(AbortSignal),
    |v| {
        let has = |key: &str| js_sys::Reflect::get(&v, &key.into());
        let looks_right = has("aborted").is_ok_and(|a| a.as_bool().is_some())
            && has("addEventListener").is_ok_and(|f| f.is_function());
        if looks_right {
            Ok(v.unchecked_into())
        } else {
            Err("options.signal must be an AbortSignal".to_owned())
        }
    }
);
raw_field!(
    /// `options.fetch`.
    Fetch(Function),
    |v| v
        .dyn_into()
        .map_err(|_| "options.fetch must be a function like fetch(url, init)".to_owned())
);
raw_field!(
    /// `options.maxResponseBytes`: up to `Number.MAX_SAFE_INTEGER`, so every such number
    /// is an exact count of bytes.
    MaxResponseBytes(u64),
    |v| whole(
        &v,
        1.0..=9_007_199_254_740_991.0,
        "options.maxResponseBytes must be a whole number of bytes above 0, such as 1048576 for 1 MiB"
    )
    .map(|n| n as u64)
);
raw_field!(
    /// `options.maxCalls` (`compose()`).
    MaxCalls(usize),
    |v| whole(
        &v,
        1.0..=1_000_000.0,
        "options.maxCalls must be a whole number of calls from 1 to 1000000"
    )
    .map(|n| n as usize)
);
raw_field!(
    /// `options.allowedOrigins`: origins, each as `URL.origin` writes it.
    AllowedOrigins(Vec<String>),
    |v| read_origins(&v, "allowedOrigins").unwrap_or_else(|| {
        Err("options.allowedOrigins must be an array of origins such as [\"https://api.example\"]".to_owned())
    })
);
raw_field!(
    /// `options.onEvent`: a function (an async one too).
    OnEventOption(Function),
    |v| v.dyn_into().map_err(|_| {
        "options.onEvent must be a function; it is called with each progress event".to_owned()
    })
);
raw_field!(
    /// `options.timings`.
    Timings(bool),
    |v| boolean(&v, "options.timings must be true or false")
);
raw_field!(
    /// `options.traceContext`: `true` (the default), `false`, or an array of origins.
    TraceContextOption(TraceOption),
    |v| match v.as_bool() {
        Some(true) => Ok(TraceOption::Allowed),
        Some(false) => Ok(TraceOption::Off),
        None => read_origins(&v, "traceContext")
            .unwrap_or_else(|| {
                Err("options.traceContext must be true, false, or an array of the origins that \
                     get a traceparent header, such as [\"https://api.example\"]"
                    .to_owned())
            })
            .map(TraceOption::Origins),
    }
);
raw_field!(
    /// `options.credentials`: `{ origin: "include" | "same-origin" | "omit" }`. Its keys
    /// are origins, so they are read here rather than as a struct's fields.
    CredentialsOption(Vec<(String, Credentials)>),
    |v| read_credentials(&v)
);
raw_field!(
    /// `options.services` (`composeOrder()`): a base URL per service.
    Services(Vec<(String, String)>),
    |v| read_services(&v)
);
raw_field!(
    /// `options.baseUrl` (`composeOrder()`).
    BaseUrl(String),
    |v| v.as_string().ok_or_else(|| "options.baseUrl must be a string".to_owned())
);

/// `text` cut to 60 characters, for quoting an option's value in a message.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("\"{}...\"", &text[..at]),
        None => format!("\"{text}\""),
    }
}

/// `options[key]` read as an array of origins, or `None` when it is not an array.
fn read_origins(value: &JsValue, key: &str) -> Option<Result<Vec<String>, String>> {
    let items: &Array = value.dyn_ref()?;
    Some(
        items
            .iter()
            .enumerate()
            .map(|(i, item)| read_origin(item.as_string(), &format!("options.{key}.{i}")))
            .collect(),
    )
}

/// An origin an option names, at `place`, as [`parse_origin`] gives it.
fn read_origin(text: Option<String>, place: &str) -> Result<String, String> {
    text.as_deref().and_then(parse_origin).ok_or_else(|| {
        format!(
            "{place} must be an origin such as \"https://api.example\" (scheme, host and port, \
             no path){}",
            text.map_or(String::new(), |t| format!(", not {}", quoted(&t)))
        )
    })
}

/// The own entries of a plain object, as `(key, value)`.
fn entries(object: &JsValue) -> impl Iterator<Item = (String, JsValue)> {
    Object::entries(object.unchecked_ref())
        .into_iter()
        .map(|entry| {
            let entry: Array = entry.unchecked_into();
            (entry.get(0).as_string().unwrap_or_default(), entry.get(1))
        })
}

fn read_credentials(value: &JsValue) -> Result<Vec<(String, Credentials)>, String> {
    if !is_plain_object(value) {
        return Err(
            "options.credentials must be an object from origin to \"include\", \"same-origin\" \
             or \"omit\", such as {\"https://api.example\": \"include\"}"
                .to_owned(),
        );
    }
    entries(value)
        .map(|(key, mode)| {
            let origin = read_origin(Some(key.clone()), "each key of options.credentials")?;
            let mode = mode.as_string().as_deref().and_then(Credentials::parse);
            let mode = mode.ok_or_else(|| {
                format!(
                    "options.credentials[{}] must be \"include\", \"same-origin\" or \"omit\"",
                    quoted(&key)
                )
            })?;
            Ok((origin, mode))
        })
        .collect()
}

fn read_services(value: &JsValue) -> Result<Vec<(String, String)>, String> {
    if !value.is_object() || Array::is_array(value) {
        return Err("options.services must be an object of service URLs".to_owned());
    }
    entries(value)
        .map(|(name, url)| match url.as_string() {
            Some(url) => Ok((name, url)),
            None => Err(format!("options.services.{name} must be a URL string")),
        })
        .collect()
}
