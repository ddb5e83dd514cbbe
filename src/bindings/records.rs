//! What the composer hands to JavaScript: call records (one call into `js/report.js`),
//! compensation records, the fields of a `ComposeError` and the results of `compose()`,
//! `composeOrder()` and `validatePlan()`, the last four built as the order's own objects
//! are, by [`object`], not by serde-wasm-bindgen (Cargo.toml says why). Events are still
//! written by serde-wasm-bindgen, through [`to_js`] (`events.rs`).
//!
//! States and codes are written from their Rust enums' names (`src/protocol.rs`), so no
//! JavaScript lists them. JS values (replies, call names, `calls`) pass through as
//! themselves, never copied (in events, by `serde_wasm_bindgen::preserve`).
//!
//! Prototype-safe: the fixed keys are the composer's own names; objects keyed by call names
//! (`data`, `calls`), which a plan author chose and which may be `__proto__`, are built by
//! `js/value.js`, which defines each key as an own data property (never `obj[key] = value`
//! for `__proto__`, which would call its setter).

use crate::engine::record::{CallRecord, CallState, Compensation};
use crate::engine::resubmit::Resubmit;
use crate::error::Error;
use crate::web::interned::interned;
use crate::web::js_value::{js_strings, set_own};
use js_sys::{Array, Object};
use serde::{Serialize, Serializer};
use std::ops::Deref;
use wasm_bindgen::prelude::*;

/// Writes Rust values as JS values: `None` as `null`, maps as `Map`s.
const WRITER: serde_wasm_bindgen::Serializer =
    serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);

/// Writes `value` for JavaScript.
pub(crate) fn to_js(value: &impl Serialize) -> JsValue {
    // Only a map key that is not a string could fail, and none is written.
    value.serialize(&WRITER).unwrap_throw()
}

/// A JS value written as itself, without a copy.
#[derive(Clone, Copy)]
pub(crate) struct Js<'a>(pub &'a JsValue);

impl Serialize for Js<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(self.0, serializer)
    }
}

/// A plan's call names as JS strings: one by one where a record, an event or `stages`
/// names a call, and as one JS array, which `data` and `calls` are keyed from.
///
/// The array is handed over as itself: handed over as a list, each name took a slot of
/// wasm-bindgen's table, cloned, read in JavaScript and freed, twice per composition for
/// every call of the plan (bench B's profile).
pub(crate) struct CallNames {
    list: Vec<JsValue>,
    array: Array,
}

impl CallNames {
    /// The names in `text`, each ended by `\n`: one text that JavaScript splits, since a
    /// string per name cost a crossing and a UTF-8 decode each (bench B's profile).
    pub(crate) fn split(text: &str) -> CallNames {
        let array = call_names(text);
        CallNames {
            list: array.to_vec(),
            array,
        }
    }
}

impl Deref for CallNames {
    type Target = [JsValue];

    fn deref(&self) -> &[JsValue] {
        &self.list
    }
}

/// An object from call names to values, its keys own data properties whatever they are
/// (see the module docs); a value `undefined` is left out.
///
/// One call into `js/value.js` for the whole object: a `Map` filled from Rust cost a call
/// into JavaScript per entry, and there are two such objects per composition with an
/// entry for every call (bench B).
pub(crate) fn named_object(names: &CallNames, values: Vec<JsValue>) -> JsValue {
    named_object_js(&names.array, values)
}

/// `stages`: the calls' names, stage by stage, as one JS array of arrays.
pub(crate) fn stage_names(names: &CallNames, stages: &[Vec<usize>]) -> JsValue {
    // One loop rather than a `flatten()` collected, whose adapter is the larger code.
    let (mut order, mut sizes) = (Vec::new(), Vec::with_capacity(stages.len()));
    for stage in stages {
        sizes.push(stage.len() as u32);
        order.extend(stage.iter().map(|&i| i as u32));
    }
    stage_names_js(&names.array, &order, &sizes)
}

/// `{ code, message }` of a failed call or compensation.
fn error_js(e: &Error) -> JsValue {
    object(&[
        ("code", JsValue::from_str(e.code())),
        ("message", JsValue::from_str(e.message())),
    ])
}

/// `value` for JavaScript, `null` for `None` (what the records and errors document).
fn or_null<T>(value: Option<T>, js: impl FnOnce(T) -> JsValue) -> JsValue {
    value.map_or(JsValue::NULL, js)
}

/// A result or error object: `fields` in their order, each an own data property holding
/// its value (`undefined` too), as serde's writer would set them.
///
/// Set one by one through `setOwn` (js/value.js), as the order's own objects are
/// (`Value::object`), not by serde: a derived struct's writer is compiled into the .wasm
/// for each type. A slice of the composer's own names (never a caller's), not
/// `Value::object`'s list of owned keys, which cost a copy of every key: 67 bytes gzip.
pub(crate) fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in fields {
        set_own(&object, &interned(key), value);
    }
    object.into()
}

#[wasm_bindgen(module = "/js/report.js")]
extern "C" {
    /// `calls`: every call's record by its name, from its state's number in `states`
    /// (`kinds`), its numbers ([`RECORD_NUMBERS`] per call) and its error, if any
    /// (`errors[k]` is call `error_at[k]`'s). Given a `result` object, it makes
    /// `result.calls` that object, built when first read, and returns `undefined`; given
    /// `null`, the record of the one call it was given.
    #[wasm_bindgen(js_name = callRecords)]
    #[allow(clippy::too_many_arguments)]
    fn call_records(
        result: &JsValue,
        names: &Array,
        states: &Array,
        kinds: &[u8],
        numbers: &[f64],
        error_at: &[u32],
        errors: Vec<JsValue>,
    ) -> JsValue;

    /// Splits the names `plan_cache::names_js` joined, each ended by `\n`.
    #[wasm_bindgen(js_name = callNames)]
    fn call_names(text: &str) -> Array;
}

#[wasm_bindgen(module = "/js/value.js")]
extern "C" {
    #[wasm_bindgen(js_name = namedObject)]
    fn named_object_js(names: &Array, values: Vec<JsValue>) -> JsValue;

    #[wasm_bindgen(js_name = stageNames)]
    fn stage_names_js(names: &Array, order: &[u32], sizes: &[u32]) -> JsValue;
}

/// How many numbers `callRecords` (js/report.js) reads per record.
const RECORD_NUMBERS: usize = 11;

thread_local! {
    /// The names of the call states, in the enum's order: a record's state crosses as its
    /// number.
    static STATE_NAMES: Array = js_strings(CallState::NAMES);
}

/// `calls`: every call's record by its name; `names` (the plan's, as JS strings) also
/// name the call a record shared from.
///
/// All records in one call into `js/report.js`, their numbers in one array: written by
/// serde-wasm-bindgen a field at a time, a record cost 13 calls into JavaScript, and one
/// call per record still cost a crossing for every call of every composition (the figures
/// are in docs/performance.md). An error, where there is one, is still written by serde.
pub(crate) fn records_js(names: &CallNames, records: &[CallRecord]) -> JsValue {
    records_into(&JsValue::UNDEFINED, names, records)
}

/// One call's record as `calls[<call>]` holds it, written as [`records_js`] writes each
/// (a part of `composeStream()`, `stream.rs`).
pub(crate) fn record_js(names: &CallNames, record: &CallRecord) -> JsValue {
    records_into(&JsValue::NULL, names, std::slice::from_ref(record))
}

/// Makes `result.calls` what [`records_js`] would give, built by JavaScript when it is
/// first read (js/report.js, `callRecords`, says why); `result` has `calls` already, so
/// that it keeps its place among the keys.
pub(crate) fn defer_records(result: &JsValue, names: &CallNames, records: &[CallRecord]) {
    records_into(result, names, records);
}

fn records_into(result: &JsValue, names: &CallNames, records: &[CallRecord]) -> JsValue {
    let parts = RecordParts::of(records);
    STATE_NAMES.with(|states| {
        call_records(
            result,
            &names.array,
            states,
            &parts.kinds,
            &parts.numbers,
            &parts.error_at,
            parts.errors,
        )
    })
}

/// The records as `callRecords` (js/report.js) reads them.
struct RecordParts {
    kinds: Vec<u8>,
    numbers: Vec<f64>,
    error_at: Vec<u32>,
    errors: Vec<JsValue>,
}

impl RecordParts {
    /// The records, a fan-out call's items right after it (its last number says how many;
    /// -1 for a call that is no fan-out).
    fn of(records: &[CallRecord]) -> RecordParts {
        let mut parts = RecordParts {
            kinds: Vec::with_capacity(records.len()),
            numbers: Vec::with_capacity(records.len() * RECORD_NUMBERS),
            error_at: Vec::new(),
            errors: Vec::new(),
        };
        for r in records {
            parts.push(r);
            for item in r.items() {
                parts.push(item);
            }
        }
        parts
    }

    fn push(&mut self, r: &CallRecord) {
        let or_nan = |n: Option<f64>| n.unwrap_or(f64::NAN);
        if let Some(error) = &r.error {
            self.error_at.push(self.kinds.len() as u32);
            self.errors.push(error_js(error));
        }
        self.kinds.push(r.state as u8);
        self.numbers.extend_from_slice(&[
            or_nan(r.status.map(f64::from)),
            f64::from(r.attempts),
            or_nan(r.start_ms),
            or_nan(r.end_ms),
            r.queued_ms,
            r.shared_from.map_or(-1.0, |s| s as f64),
            f64::from(u8::from(r.replayed)),
            r.items.as_ref().map_or(-1.0, |items| items.len() as f64),
            f64::from(u8::from(r.fell_back)),
            or_nan(r.cached_age_ms),
            f64::from(u8::from(r.hedged.0) + u8::from(r.hedged.1)),
        ]);
    }
}

/// What became of compensation `c`, of call `names[c.call]`: an item of
/// `ComposeError.compensations`.
pub(crate) fn compensation_js(c: &Compensation, names: &[JsValue]) -> JsValue {
    object(&[
        ("call", names[c.call].clone()),
        ("item", or_null(c.item, |i| JsValue::from(i as u32))),
        ("state", JsValue::from_str(c.state.as_str())),
        ("status", or_null(c.status, JsValue::from)),
        ("attempts", JsValue::from(c.attempts)),
        ("startMs", or_null(c.start_ms, JsValue::from_f64)),
        ("endMs", or_null(c.end_ms, JsValue::from_f64)),
        ("error", or_null(c.error.as_ref(), error_js)),
        ("reason", or_null(c.reason.as_deref(), JsValue::from_str)),
    ])
}

#[wasm_bindgen(module = "/js/report.js")]
extern "C" {
    #[wasm_bindgen(js_name = ComposeError)]
    type ComposeErrorJs;

    #[wasm_bindgen(constructor, js_class = ComposeError)]
    fn new(message: &str, options: &JsValue) -> ComposeErrorJs;

    /// The class itself, never called from Rust: declared so that wasm-bindgen exports
    /// it from the generated module (`import { ComposeError } from
    /// './pkg/parallel_composer.js'`, the same class every rejection is an instance of).
    /// A function rather than the type above, because only a function's re-export can
    /// skip TypeScript: a type's would declare `let ComposeError: unknown`, clashing with
    /// the class the package's .d.ts declares (src/bindings/types.d.ts).
    #[wasm_bindgen(js_name = ComposeError, reexport, skip_typescript)]
    fn compose_error_class();
}

/// The `ComposeError` a promise rejects with: `error`, every call's record (`calls`),
/// and what became of the compensations (each written by [`compensation_js`]).
pub(crate) fn compose_error(
    error: &Error,
    calls: &JsValue,
    compensations: Array,
    trace_id: Option<&str>,
    resubmit: Resubmit,
) -> JsValue {
    // The fields of a `ComposeError` besides its message (see js/report.js).
    let fields = object(&[
        ("code", JsValue::from_str(error.code())),
        ("call", or_null(error.call(), JsValue::from_str)),
        ("item", or_null(error.item(), |i| JsValue::from(i as u32))),
        ("status", or_null(error.status(), JsValue::from)),
        ("calls", calls.clone()),
        ("compensations", compensations.into()),
        ("traceId", or_null(trace_id, JsValue::from_str)),
        ("resubmit", JsValue::from_str(resubmit.as_str())),
    ]);
    if let Some((origin, retry_at)) = error.circuit() {
        let _ = js_sys::Reflect::set(&fields, &"origin".into(), &origin.into());
        let retry_at = crate::web::clock::epoch_ms(retry_at);
        let _ = js_sys::Reflect::set(&fields, &"retryAt".into(), &retry_at.into());
    }
    ComposeErrorJs::new(error.message(), &fields).into()
}

/// The `ComposeError` of a composition refused before anything was sent: no trace, and
/// nothing was made, so a new attempt needs a new operation.
pub(crate) fn unsent_error(error: &Error, calls: &JsValue) -> JsValue {
    compose_error(error, calls, Array::new(), None, Resubmit::NewOperation)
}

/// An object with no calls, for errors raised before a plan exists.
pub(crate) fn no_calls() -> JsValue {
    Object::new().into()
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::engine::record::CompensationState;
    use crate::error::ErrorKind;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn get(v: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(v, &key.into()).unwrap()
    }

    #[wasm_bindgen_test]
    fn records_carry_the_rust_names_of_every_state_and_code() {
        let names = [JsValue::from_str("a")];
        let text: String = CallState::ALL
            .iter()
            .map(|s| format!("{}\n", s.as_str()))
            .collect();
        let calls = CallNames::split(&text);
        let records: Vec<CallRecord> = CallState::ALL
            .iter()
            .map(|&state| CallRecord {
                state,
                ..CallRecord::default()
            })
            .collect();
        let js = records_js(&calls, &records);
        for &state in CallState::ALL {
            let record = get(&js, state.as_str());
            assert_eq!(get(&record, "state").as_string().unwrap(), state.as_str());
            assert!(get(&record, "status").is_null() && get(&record, "startMs").is_null());
        }
        for &state in CompensationState::ALL {
            let done = Compensation {
                call: 0,
                item: None,
                state,
                status: Some(204),
                attempts: 1,
                error: None,
                reason: None,
                start_ms: Some(1.0),
                end_ms: Some(2.0),
                replayed: false,
            };
            let js = compensation_js(&done, &names);
            let keys: Vec<String> = js_sys::Object::keys(js.unchecked_ref::<Object>())
                .iter()
                .map(|k| k.as_string().unwrap())
                .collect();
            let fields = [
                "call", "item", "state", "status", "attempts", "startMs", "endMs",
            ];
            assert_eq!(keys, [&fields[..], &["error", "reason"]].concat());
            assert!(get(&js, "error").is_null() && get(&js, "reason").is_null());
            assert!(get(&js, "item").is_null(), "a call's, not an item's");
            assert_eq!(get(&js, "status").as_f64(), Some(204.0));
            assert_eq!(get(&js, "state").as_string().unwrap(), state.as_str());
            assert_eq!(get(&js, "call").as_string().unwrap(), "a");
        }
        for &kind in ErrorKind::ALL {
            let error = Error::new(kind, "why");
            let js = error_js(&error);
            assert_eq!(get(&js, "code").as_string().unwrap(), kind.code());
        }
    }

    #[wasm_bindgen_test]
    fn every_field_of_a_record_crosses_as_it_was() {
        let names = CallNames::split("a\nb\nc\n");
        let full = CallRecord {
            state: CallState::Failed,
            status: Some(503),
            attempts: 3,
            start_ms: Some(1.25),
            end_ms: Some(7.5),
            error: Some(Error::new(ErrorKind::HttpStatus, "why")),
            fell_back: true,
            queued_ms: 0.5,
            shared_from: None,
            replayed: true,
            items: None,
            cached_age_ms: Some(250.0),
            hedged: (true, true),
        };
        let shared = CallRecord {
            state: CallState::Ok,
            status: Some(200),
            shared_from: Some(0),
            ..CallRecord::default()
        };
        let js = records_js(&names, &[full, CallRecord::default(), shared]);
        let a = get(&js, "a");
        assert_eq!(get(&a, "state").as_string().unwrap(), "failed");
        assert_eq!(get(&a, "status").as_f64(), Some(503.0));
        assert_eq!(get(&a, "attempts").as_f64(), Some(3.0));
        assert_eq!(get(&a, "startMs").as_f64(), Some(1.25));
        assert_eq!(get(&a, "endMs").as_f64(), Some(7.5));
        assert_eq!(get(&a, "queuedMs").as_f64(), Some(0.5));
        assert_eq!(
            get(&get(&a, "error"), "message").as_string().unwrap(),
            "why"
        );
        assert!(get(&a, "sharedFrom").is_null());
        assert_eq!(get(&a, "replayed").as_bool(), Some(true));
        assert_eq!(get(&a, "fellBack").as_bool(), Some(true));
        assert_eq!(get(&a, "cached").as_bool(), Some(true));
        assert_eq!(get(&a, "ageMs").as_f64(), Some(250.0));
        assert_eq!(get(&a, "hedged").as_bool(), Some(true));
        assert_eq!(get(&a, "hedgeWon").as_bool(), Some(true));
        let b = get(&js, "b");
        assert_eq!(get(&b, "state").as_string().unwrap(), "not-sent");
        assert!(get(&b, "error").is_null() && get(&b, "endMs").is_null());
        assert_eq!(get(&b, "replayed").as_bool(), Some(false));
        assert_eq!(get(&b, "fellBack").as_bool(), Some(false));
        assert_eq!(get(&b, "cached").as_bool(), Some(false));
        assert!(get(&b, "ageMs").is_null());
        assert_eq!(get(&b, "hedged").as_bool(), Some(false));
        assert_eq!(get(&b, "hedgeWon").as_bool(), Some(false));
        let c = get(&js, "c");
        assert_eq!(get(&c, "sharedFrom").as_string().unwrap(), "a");
        assert!(get(&c, "error").is_null());
    }

    #[wasm_bindgen_test]
    fn a_fan_out_call_s_items_follow_it_and_the_calls_after_keep_their_own() {
        let names = CallNames::split("each\nafter\nplain\n");
        let item = |state, error: Option<&str>| CallRecord {
            state,
            error: error.map(|m| Error::new(ErrorKind::HttpStatus, m)),
            ..CallRecord::default()
        };
        let each = CallRecord {
            state: CallState::Failed,
            error: Some(Error::new(ErrorKind::HttpStatus, "second")),
            items: Some(vec![
                item(CallState::Ok, None),
                item(CallState::Failed, Some("second")),
            ]),
            ..CallRecord::default()
        };
        let after = CallRecord {
            state: CallState::Skipped,
            items: Some(Vec::new()),
            ..CallRecord::default()
        };
        let plain = item(CallState::Failed, Some("plain"));
        let js = records_js(&names, &[each, after, plain]);
        let each = get(&js, "each");
        let items: js_sys::Array = get(&each, "items").unchecked_into();
        assert_eq!(items.length(), 2);
        assert_eq!(get(&items.get(0), "state").as_string().unwrap(), "ok");
        assert!(get(&items.get(0), "error").is_null());
        let second = get(&get(&items.get(1), "error"), "message");
        assert_eq!(second.as_string().unwrap(), "second");
        assert!(
            get(&items.get(1), "items").is_undefined(),
            "an item has no items"
        );
        let after = get(&js, "after");
        assert_eq!(get(&after, "state").as_string().unwrap(), "skipped");
        assert_eq!(js_sys::Array::from(&get(&after, "items")).length(), 0);
        let plain = get(&js, "plain");
        assert!(get(&plain, "items").is_undefined());
        let message = get(&get(&plain, "error"), "message");
        assert_eq!(message.as_string().unwrap(), "plain");
    }

    #[wasm_bindgen_test]
    fn objects_keyed_by_call_names_hold_proto_as_an_own_key() {
        let names = CallNames::split("__proto__\nb\n");
        let values = vec![JsValue::from_f64(1.0), JsValue::from_f64(2.0)];
        let object = named_object(&names, values);
        let proto = js_sys::Object::get_prototype_of(&object);
        assert_eq!(
            proto,
            js_sys::Object::get_prototype_of(&js_sys::Object::new())
        );
        let own = js_sys::Object::get_own_property_descriptor(
            object.unchecked_ref::<js_sys::Object>(),
            &"__proto__".into(),
        );
        assert_eq!(get(&own, "value").as_f64(), Some(1.0));
        assert_eq!(get(&object, "b").as_f64(), Some(2.0));
    }
}
