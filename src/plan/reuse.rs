//! What a call lets a composer reuse across compositions (`createComposer()`): `safe`,
//! `cache` and `hedge`, read and checked here; the engine's `cache.rs` and `hedge.rs`
//! act on them.
//!
//! The rules keep every write sent exactly as the plan says:
//! - `safe: true` marks a POST that computes without changing anything, such as a quote.
//!   The engine then treats it as a read (retried, aborted, never `unknown`), and it gets
//!   no `Idempotency-Key`: a key that changes every time would make every request
//!   different, and a safe call has no effect a key could guard.
//! - `cache` is for GET and HEAD calls and safe ones only: a write's reply is the record of
//!   an effect, never something to hand out again.
//! - `hedge` is for GET and HEAD only: a second copy of a POST could act twice.

use crate::error::Error;
use crate::plan::duration::time_limit;
use crate::plan::invalid::{invalid_at, invalid_plan, wrong_type};
use crate::plan::json::Json;
use crate::plan::method::Method;

/// How long a call's reply may be reused: `cache: {maxAgeMs, staleWhileRevalidateMs?}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CachePolicy {
    /// How long a stored reply is fresh: used without a request.
    pub max_age_ms: f64,
    /// How long after that it is stale but usable, refreshed in the background (0: not).
    pub stale_ms: f64,
}

/// When a read is sent a second time: `hedge: {afterMs, maxExtraPercent?}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HedgePolicy {
    /// How long the first request may go unanswered before the second is sent.
    pub after_ms: f64,
    /// The most hedges, as a percentage of the composer's reads over its window.
    pub max_extra_percent: f64,
}

/// The share of reads that may be hedges when `maxExtraPercent` is not given.
pub const DEFAULT_MAX_EXTRA_PERCENT: f64 = 10.0;

/// A call's `safe`, `cache` and `hedge`, found at `at`.
pub(crate) fn read_reuse(
    at: &str,
    spec: &Json,
    method: Method,
) -> Result<(bool, Option<CachePolicy>, Option<HedgePolicy>), Error> {
    let safe = match spec.get("safe") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(other) => return Err(wrong_type(at, ".safe must be true or false", other)),
    };
    if safe && spec.get("compensate").is_some() {
        return Err(invalid_at(
            at,
            ": a `safe` call changes nothing, so there is nothing to undo; remove `compensate` or `safe`",
        ));
    }
    let cache = match spec.get("cache") {
        None => None,
        Some(_) if !(safe || method.is_read()) => {
            return Err(invalid_plan!(
                "{at}.cache: a {method} may change something, so its reply is never reused; \
                 mark a call that only computes `\"safe\": true`"
            ))
        }
        Some(json) => Some(read_cache(&[at, ".cache"].concat(), json)?),
    };
    let hedge = match spec.get("hedge") {
        None => None,
        Some(_) if !method.is_read() => {
            return Err(invalid_plan!(
                "{at}.hedge: only GET and HEAD calls are hedged; a second {method} could act twice"
            ))
        }
        Some(json) => Some(read_hedge(&[at, ".hedge"].concat(), json)?),
    };
    Ok((safe, cache, hedge))
}

/// `cache: {maxAgeMs, staleWhileRevalidateMs?}` at `at`.
pub(crate) fn read_cache(at: &str, json: &Json) -> Result<CachePolicy, Error> {
    let fields = ["maxAgeMs", "staleWhileRevalidateMs"];
    check_object(at, json, &fields)?;
    let max_age_ms = match json.get("maxAgeMs") {
        Some(v) => milliseconds(at, ".maxAgeMs", v, false)?,
        None => {
            return Err(invalid_at(
                at,
                ".maxAgeMs is missing: say how long a reply stays fresh",
            ))
        }
    };
    let stale_ms = match json.get("staleWhileRevalidateMs") {
        Some(v) => milliseconds(at, ".staleWhileRevalidateMs", v, true)?,
        None => 0.0,
    };
    Ok(CachePolicy {
        max_age_ms,
        stale_ms,
    })
}

/// `hedge: {afterMs, maxExtraPercent?}` at `at`.
pub(crate) fn read_hedge(at: &str, json: &Json) -> Result<HedgePolicy, Error> {
    check_object(at, json, &["afterMs", "maxExtraPercent"])?;
    let after_ms = match json.get("afterMs") {
        Some(v) => milliseconds(at, ".afterMs", v, false)?,
        None => {
            return Err(invalid_at(
                at,
                ".afterMs is missing: say how long to wait before a second request",
            ))
        }
    };
    let max_extra_percent = match json.get("maxExtraPercent") {
        None => DEFAULT_MAX_EXTRA_PERCENT,
        Some(Json::Number(p)) if (0.0..=100.0).contains(p) => *p,
        Some(_) => {
            return Err(invalid_at(
                at,
                ".maxExtraPercent must be a number from 0 to 100",
            ))
        }
    };
    Ok(HedgePolicy {
        after_ms,
        max_extra_percent,
    })
}

/// `json` is an object whose keys are all in `fields`.
fn check_object(at: &str, json: &Json, fields: &[&str]) -> Result<(), Error> {
    let Json::Object(entries) = json else {
        return Err(wrong_type(at, " must be an object", json));
    };
    match entries.iter().find(|(k, _)| !fields.contains(&k.as_str())) {
        Some((key, _)) => Err(invalid_plan!(
            "{at}: unknown field `{key}`; it has {}",
            fields.join(", ")
        )),
        None => Ok(()),
    }
}

/// A duration in milliseconds at `at` + `field`: above 0 (or 0 too, when `zero`), at most
/// a timer's longest.
fn milliseconds(at: &str, field: &str, json: &Json, zero: bool) -> Result<f64, Error> {
    match json {
        Json::Number(ms) if zero && *ms == 0.0 => Ok(0.0),
        _ => time_limit(json).ok_or_else(|| {
            invalid_at(
                &[at, field].concat(),
                " must be a number of milliseconds above 0 and at most 2147483647",
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::Plan;

    fn plan(src: &str) -> Plan {
        Plan::from_json(&serde_json::from_str(src).unwrap()).unwrap()
    }

    fn err(src: &str) -> String {
        let e = Plan::from_json(&serde_json::from_str(src).unwrap()).unwrap_err();
        assert_eq!(e.code(), "INVALID_PLAN");
        e.message().to_owned()
    }

    #[test]
    fn cache_and_hedge_are_read() {
        let plan = plan(
            r#"{"calls":{"a":{"url":"/a","cache":{"maxAgeMs":1000,"staleWhileRevalidateMs":500},"hedge":{"afterMs":50}},
                "q":{"url":"/q","method":"POST","safe":true,"cache":{"maxAgeMs":30000}}}}"#,
        );
        let a = &plan.calls()[0];
        assert_eq!(a.cache.unwrap().max_age_ms, 1000.0);
        assert_eq!(a.cache.unwrap().stale_ms, 500.0);
        assert_eq!(a.hedge.unwrap().after_ms, 50.0);
        assert_eq!(a.hedge.unwrap().max_extra_percent, 10.0);
        let q = &plan.calls()[1];
        assert!(q.safe && q.is_safe());
        assert_eq!(q.cache.unwrap().stale_ms, 0.0);
    }

    #[test]
    fn writes_are_never_cached_or_hedged() {
        assert!(
            err(r#"{"calls":{"a":{"url":"/a","method":"POST","cache":{"maxAgeMs":1}}}}"#)
                .starts_with("calls.a.cache: a POST may change something")
        );
        assert!(err(
            r#"{"calls":{"a":{"url":"/a","method":"POST","safe":true,"hedge":{"afterMs":1}}}}"#
        )
        .starts_with("calls.a.hedge: only GET and HEAD calls are hedged"));
        assert!(
            err(r#"{"calls":{"a":{"url":"/a","method":"DELETE","hedge":{"afterMs":1}}}}"#)
                .contains("a second DELETE could act twice")
        );
        assert!(err(
            r#"{"calls":{"a":{"url":"/a","method":"POST","safe":true,"compensate":{"url":"/b","method":"DELETE"}}}}"#
        )
        .starts_with("calls.a: a `safe` call changes nothing"));
    }

    #[test]
    fn bad_policies_name_their_place() {
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","cache":{}}}}"#),
            "calls.a.cache.maxAgeMs is missing: say how long a reply stays fresh"
        );
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","cache":{"maxAgeMs":-1}}}}"#),
            "calls.a.cache.maxAgeMs must be a number of milliseconds above 0 and at most 2147483647"
        );
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","cache":{"maxAgeMs":1,"ttl":3}}}}"#),
            "calls.a.cache: unknown field `ttl`; it has maxAgeMs, staleWhileRevalidateMs"
        );
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","hedge":{"afterMs":5,"maxExtraPercent":150}}}}"#),
            "calls.a.hedge.maxExtraPercent must be a number from 0 to 100"
        );
        assert_eq!(
            err(r#"{"calls":{"a":{"url":"/a","safe":"yes"}}}"#),
            "calls.a.safe must be true or false, not a string"
        );
    }
}
