//! The options of `compose()` and `composeOrder()`: [`OptionsJs`], read by serde, and
//! [`RunOptions`], what the engine runs with.
//!
//! serde's derive finds each option (its JS name, whether it was given); a function per
//! option checks its value and names the option in its message (`options.maxAttempts
//! must be a whole number from 1 to 10`), so a mistake is reported at its exact place. A
//! key that is no option is refused rather than silently ignored.

use super::fields::{field_names, is_plain_object, read_object, Raw, Values};
use crate::engine::settings::{Schedule, Settings};
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
    schedule: Option<Raw>,
    timeout_ms: Option<Raw>,
    deadline_ms: Option<Raw>,
    operation_id: Option<Raw>,
    max_attempts: Option<Raw>,
    dedupe: Option<Raw>,
    max_concurrency: Option<Raw>,
    max_concurrency_per_origin: Option<Raw>,
    signal: Option<Raw>,
    fetch: Option<Raw>,
    max_response_bytes: Option<Raw>,
    allowed_origins: Option<Raw>,
    credentials: Option<Raw>,
    on_event: Option<Raw>,
    timings: Option<Raw>,
    trace_context: Option<Raw>,
    max_calls: Option<Raw>,
    services: Option<Raw>,
    base_url: Option<Raw>,
}

/// Which entry point reads the options: each refuses the other's own options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Entry {
    /// `compose()`: a plan of its own, so `maxCalls`.
    Compose,
    /// `composeOrder()`: where the services are, `services` and `baseUrl`.
    Order,
    /// `createComposer()`: every option, shared by its compositions of both kinds.
    Composer,
}

impl Entry {
    /// The options only the other entry point has.
    pub(crate) fn foreign(self) -> &'static [&'static str] {
        match self {
            Entry::Compose => &["services", "baseUrl"],
            Entry::Order => &["maxCalls"],
            Entry::Composer => &[],
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
    /// The composer it runs through, if any (`composer.rs`): its memory, whether as a
    /// prefetch, and the cache policies it gives the plan's calls (the order flow's).
    pub memory: Option<Composed>,
}

/// A composition through a composer: see [`RunOptions::memory`].
pub(crate) type Composed = (
    crate::engine::memory::Memory<JsValue>,
    bool,
    Option<Vec<Option<crate::plan::reuse::CachePolicy>>>,
);

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
        return Ok(RunOptions::defaults());
    }
    if !options.is_object() || Array::is_array(options) {
        return Err(bad("options must be an object".into()));
    }
    let known: Vec<&str> = field_names::<OptionsJs>()
        .iter()
        .copied()
        .filter(|name| !entry.foreign().contains(name))
        .collect();
    let (read, values): (OptionsJs, _) = read_object(options, &known, &|key| {
        format!(
            "options.{key} is not an option; known options are {}",
            known.join(", ")
        )
    })?;
    read.check(&values).map_err(bad)
}

/// How one option is checked: its check reads the value given (never `null` or
/// `undefined`, which leave the default) into the options the engine runs with, or
/// returns its message, which names the option.
///
/// A plain `fn` for every option, so that [`OptionsJs::check`] is one loop over a table
/// rather than nineteen inlined checks, each with its own early return (and the drop
/// code of everything read so far, repeated at each).
type Check = fn(&JsValue, &mut RunOptions) -> Result<(), String>;

impl OptionsJs {
    /// Checks each option, in field order, into what the engine runs with; the error is
    /// the first bad option's message, which names it.
    fn check(self, values: &Values) -> Result<RunOptions, String> {
        let o = self;
        let checks: [(Option<Raw>, Check); 19] = [
            (o.schedule, |v, r| {
                schedule(v).map(|s| r.settings.schedule = s)
            }),
            (o.timeout_ms, |v, r| {
                milliseconds(v, "timeoutMs").map(|ms| r.settings.timeout_ms = ms)
            }),
            (o.deadline_ms, |v, r| {
                milliseconds(v, "deadlineMs").map(|ms| r.settings.deadline_ms = Some(ms))
            }),
            (o.operation_id, |v, r| {
                operation_id(v).map(|id| r.settings.operation_id = Some(id))
            }),
            (o.max_attempts, |v, r| {
                max_attempts(v).map(|n| r.settings.retry.max_attempts = n)
            }),
            (o.dedupe, |v, r| {
                boolean(v, "dedupe").map(|b| r.settings.dedupe = b)
            }),
            (o.max_concurrency, |v, r| {
                concurrency(v, "maxConcurrency").map(|n| r.settings.concurrency.max = Some(n))
            }),
            (o.max_concurrency_per_origin, |v, r| {
                concurrency(v, "maxConcurrencyPerOrigin")
                    .map(|n| r.settings.concurrency.per_origin = Some(n))
            }),
            (o.signal, |v, r| signal(v).map(|s| r.signal = Some(s))),
            (o.fetch, |v, r| fetch(v).map(|f| r.fetch = Some(f))),
            (o.max_response_bytes, |v, r| {
                max_response_bytes(v).map(|n| r.max_response_bytes = n)
            }),
            (o.allowed_origins, |v, r| {
                allowed_origins(v).map(|list| r.allowed_origins = Some(list))
            }),
            (o.credentials, |v, r| {
                read_credentials(v).map(|c| r.credentials = c)
            }),
            (o.on_event, |v, r| on_event(v).map(|f| r.on_event = Some(f))),
            (o.timings, |v, r| {
                boolean(v, "timings").map(|b| r.timings = b)
            }),
            (o.trace_context, |v, r| {
                trace_context(v).map(|t| r.trace = t)
            }),
            (o.max_calls, |v, r| {
                max_calls(v).map(|n| (r.max_calls, r.settings.max_calls) = (n, n))
            }),
            (o.services, |v, r| read_services(v).map(|s| r.services = s)),
            (o.base_url, |v, r| {
                base_url(v).map(|url| r.base_url = Some(url))
            }),
        ];
        let mut run = RunOptions::defaults();
        for (field, check) in checks {
            if let Some(raw) = field {
                check(values.get(raw), &mut run)?;
            }
        }
        Ok(run)
    }
}

impl RunOptions {
    /// What the engine runs with when no option is given.
    fn defaults() -> RunOptions {
        RunOptions {
            settings: Settings::from(Schedule::Eager),
            signal: None,
            fetch: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            allowed_origins: None,
            credentials: Vec::new(),
            max_calls: DEFAULT_MAX_CALLS,
            on_event: None,
            timings: false,
            trace: TraceOption::Allowed,
            services: Vec::new(),
            base_url: None,
            memory: None,
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

/// `options.schedule`.
fn schedule(v: &JsValue) -> Result<Schedule, String> {
    v.as_string()
        .as_deref()
        .and_then(Schedule::parse)
        .ok_or_else(|| "options.schedule must be \"eager\", \"stages\" or \"sequential\"".into())
}

/// `options.timeoutMs`, `options.deadlineMs`: above 0, at most `MAX_TIMEOUT_MS`.
fn milliseconds(value: &JsValue, key: &str) -> Result<f64, String> {
    match value.as_f64() {
        Some(ms) if ms > 0.0 && ms <= MAX_TIMEOUT_MS => Ok(ms),
        _ => Err(format!(
            "options.{key} must be a number of milliseconds above 0 and at most 2147483647"
        )),
    }
}

/// `options.operationId`.
fn operation_id(v: &JsValue) -> Result<String, String> {
    match v.as_string() {
        Some(id) if !id.trim().is_empty() => Ok(id),
        _ => Err("options.operationId must be a non-empty string naming this intent".into()),
    }
}

/// `options.maxAttempts`.
fn max_attempts(v: &JsValue) -> Result<u32, String> {
    let message = "options.maxAttempts must be a whole number from 1 to 10";
    whole(v, 1.0..=10.0, message).map(|n| n as u32)
}

/// `options.dedupe`, `options.timings`: `true` or `false`.
fn boolean(value: &JsValue, key: &str) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("options.{key} must be true or false"))
}

/// `options.maxConcurrency`, `options.maxConcurrencyPerOrigin`: requests at once.
fn concurrency(value: &JsValue, key: &str) -> Result<usize, String> {
    let message = format!(
        "options.{key} must be a whole number of requests from 1 to 1000000; leave it out for no limit"
    );
    whole(value, 1.0..=1_000_000.0, &message).map(|n| n as usize)
}

/// `options.signal`: anything that behaves as an `AbortSignal` (a polyfill's too).
fn signal(v: &JsValue) -> Result<AbortSignal, String> {
    let has = |key: &str| js_sys::Reflect::get(v, &key.into());
    let looks_right = has("aborted").is_ok_and(|a| a.as_bool().is_some())
        && has("addEventListener").is_ok_and(|f| f.is_function());
    if looks_right {
        Ok(v.clone().unchecked_into())
    } else {
        Err("options.signal must be an AbortSignal".into())
    }
}

/// `options.fetch`.
fn fetch(v: &JsValue) -> Result<Function, String> {
    v.dyn_ref::<Function>()
        .cloned()
        .ok_or_else(|| "options.fetch must be a function like fetch(url, init)".into())
}

/// `options.maxResponseBytes`: up to `Number.MAX_SAFE_INTEGER`, so every such number is
/// an exact count of bytes.
fn max_response_bytes(v: &JsValue) -> Result<u64, String> {
    let message = "options.maxResponseBytes must be a whole number of bytes above 0, such as \
                   1048576 for 1 MiB";
    whole(v, 1.0..=9_007_199_254_740_991.0, message).map(|n| n as u64)
}

/// `options.maxCalls` (`compose()`).
fn max_calls(v: &JsValue) -> Result<usize, String> {
    let message = "options.maxCalls must be a whole number of calls from 1 to 1000000";
    whole(v, 1.0..=1_000_000.0, message).map(|n| n as usize)
}

/// `options.allowedOrigins`: origins, each as `URL.origin` writes it.
fn allowed_origins(v: &JsValue) -> Result<Vec<String>, String> {
    read_origins(v, "allowedOrigins").unwrap_or_else(|| {
        Err(
            "options.allowedOrigins must be an array of origins such as [\"https://api.example\"]"
                .into(),
        )
    })
}

/// `options.onEvent`: a function (an async one too).
fn on_event(v: &JsValue) -> Result<Function, String> {
    v.dyn_ref::<Function>().cloned().ok_or_else(|| {
        "options.onEvent must be a function; it is called with each progress event".into()
    })
}

/// `options.traceContext`: `true` (the default), `false`, or an array of origins.
fn trace_context(v: &JsValue) -> Result<TraceOption, String> {
    match v.as_bool() {
        Some(true) => Ok(TraceOption::Allowed),
        Some(false) => Ok(TraceOption::Off),
        None => read_origins(v, "traceContext")
            .unwrap_or_else(|| {
                Err(
                    "options.traceContext must be true, false, or an array of the origins that \
                     get a traceparent header, such as [\"https://api.example\"]"
                        .into(),
                )
            })
            .map(TraceOption::Origins),
    }
}

/// `options.baseUrl` (`composeOrder()`).
fn base_url(v: &JsValue) -> Result<String, String> {
    v.as_string()
        .ok_or_else(|| "options.baseUrl must be a string".into())
}

/// `text` cut to 60 characters, for quoting an option's value in a message.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("\"{}...\"", text.get(..at).unwrap_or_default()),
        None => format!("\"{text}\""),
    }
}

/// `options[key]` read as an array of origins, or `None` when it is not an array.
fn read_origins(value: &JsValue, key: &str) -> Option<Result<Vec<String>, String>> {
    let items: &Array = value.dyn_ref()?;
    let mut origins = Vec::new();
    // Loops here rather than `collect::<Result<Vec<_>, _>>()`: its adapter is compiled
    // anew for every iterator it collects, several hundred bytes of .wasm each.
    for (i, item) in items.iter().enumerate() {
        match read_origin(item.as_string(), &format!("options.{key}.{i}")) {
            Ok(origin) => origins.push(origin),
            Err(message) => return Some(Err(message)),
        }
    }
    Some(Ok(origins))
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
    let mut modes = Vec::new();
    for (key, mode) in entries(value) {
        let origin = read_origin(Some(key.clone()), "each key of options.credentials")?;
        let mode = mode.as_string().as_deref().and_then(Credentials::parse);
        let mode = mode.ok_or_else(|| {
            format!(
                "options.credentials[{}] must be \"include\", \"same-origin\" or \"omit\"",
                quoted(&key)
            )
        })?;
        modes.push((origin, mode));
    }
    Ok(modes)
}

fn read_services(value: &JsValue) -> Result<Vec<(String, String)>, String> {
    if !value.is_object() || Array::is_array(value) {
        return Err("options.services must be an object of service URLs".to_owned());
    }
    let mut services = Vec::new();
    for (name, url) in entries(value) {
        match url.as_string() {
            Some(url) => services.push((name, url)),
            None => return Err(format!("options.services.{name} must be a URL string")),
        }
    }
    Ok(services)
}
