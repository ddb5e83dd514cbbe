//! `options.onEvent`: the scheduler's progress events, written as JavaScript objects by
//! serde-wasm-bindgen and handed to the callback through `js/report.js`, which keeps a
//! throwing (or rejecting) callback from breaking the composition.
//!
//! An event's `type` is its kind's name ([`EventKind::as_str`]) and its `state` its
//! state's ([`CallState`], [`CompensationState`]): no JavaScript lists them. Each event is
//! a plain object of own data properties, and events of one type have the same keys in
//! the same order, so they share a hidden class (but a cached call's `start`, which has
//! two more, `cached` and `ageMs`).

use super::records::{to_js, Js};
use crate::engine::events::{Event, EventKind, OnEvent};
use crate::engine::record::CallState;
use crate::web::clock::epoch_ms;
use js_sys::Function;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// One event as JavaScript sees it; a field an event type does not have is left out.
///
/// Its numbers are all `f64` and its names all `&'static str`: each type a field has is
/// its own serializing code in the .wasm, and JavaScript sees a number and a string either
/// way.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    call: Js<'a>,
    /// An item's position in its fan-out call's list.
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<f64>,
    t: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<f64>,
    /// `true` on the start of a call a composer's cache served, with the reply's age.
    #[serde(skip_serializing_if = "Option::is_none")]
    cached: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age_ms: Option<f64>,
    /// `Some(None)` is `status: null`: an event type that has a status, without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Option<f64>>,
    /// The call's or the compensation's state, by its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    /// A retry's error code, or `not-needed` on the skip of a call that was not needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wait_ms: Option<f64>,
    /// A breaker event's origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
    /// A breaker event's `retryAt`, in milliseconds since the epoch (0 when closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<f64>,
}

impl<'a> EventJs<'a> {
    /// `e`, its call named by `name`.
    fn new(e: &Event<'a>, name: &'a JsValue) -> Self {
        let mut event = EventJs {
            kind: e.kind.as_str(),
            call: Js(name),
            item: e.item.map(|item| item as f64),
            t: e.t,
            attempt: None,
            cached: None,
            age_ms: None,
            status: None,
            state: None,
            reason: None,
            wait_ms: None,
            origin: e.origin,
            retry_at: None,
        };
        match e.kind {
            EventKind::Start {
                attempt,
                cached_age_ms,
            } => {
                event.attempt = Some(attempt.into());
                event.cached = cached_age_ms.map(|_| true);
                event.age_ms = cached_age_ms;
            }
            EventKind::Retry {
                attempt,
                status,
                reason,
                wait_ms,
            } => {
                event.attempt = Some(attempt.into());
                event.status = Some(status.map(f64::from));
                event.reason = Some(reason.as_str());
                event.wait_ms = Some(wait_ms);
            }
            EventKind::End {
                attempts,
                status,
                state,
            }
            | EventKind::Cancel {
                attempts,
                status,
                state,
            } => event.settled(attempts, status, state.as_str()),
            EventKind::Skip { state } => {
                event.state = Some(state.as_str());
                if state == CallState::NotNeeded {
                    event.reason = Some(state.as_str());
                }
            }
            EventKind::Compensate {
                attempts,
                status,
                state,
            } => event.settled(attempts, status, state.as_str()),
            EventKind::Breaker { state, retry_at } => {
                event.state = Some(state.as_str());
                event.retry_at = Some(if retry_at > 0.0 {
                    epoch_ms(retry_at)
                } else {
                    0.0
                });
            }
        }
        event
    }

    fn settled(&mut self, attempts: u32, status: Option<u16>, state: &'static str) {
        self.attempt = Some(attempts.into());
        self.status = Some(status.map(f64::from));
        self.state = Some(state);
    }
}

#[wasm_bindgen(module = "/js/report.js")]
extern "C" {
    type EventSink;

    #[wasm_bindgen(constructor)]
    fn new(callback: &Function) -> EventSink;

    /// Hands one event to the callback, catching what it throws.
    #[wasm_bindgen(method)]
    fn send(this: &EventSink, event: &JsValue);
}

/// `options.onEvent` as the scheduler's callback, each event then handed to `then` (the
/// listener `composeStream()` adds), if any; `names` are the plan's call names as JS
/// strings, so that an event carries its call's name without converting it again.
pub(crate) fn event_sink(
    callback: Option<&Function>,
    then: Option<OnEvent>,
    names: &[JsValue],
) -> Option<OnEvent> {
    let Some(callback) = callback else {
        return then;
    };
    let sink = EventSink::new(callback);
    let names = names.to_vec();
    Some(OnEvent::new(move |e| {
        let event = EventJs::new(e, &names[e.call]);
        sink.send(&to_js(&event));
        if let Some(then) = &then {
            then.send(e);
        }
    }))
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::engine::record::CompensationState;
    use crate::error::ErrorKind;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn event(kind: EventKind) -> JsValue {
        let name = JsValue::from_str("a");
        let e = Event {
            call: 0,
            name: "a",
            item: None,
            t: 1.5,
            kind,
            record: None,
            value: None,
            origin: matches!(kind, EventKind::Breaker { .. }).then_some("https://svc.example"),
        };
        to_js(&EventJs::new(&e, &name))
    }

    fn keys(v: &JsValue) -> Vec<String> {
        js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>())
            .iter()
            .map(|k| k.as_string().unwrap())
            .collect()
    }

    fn get(v: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(v, &key.into()).unwrap()
    }

    #[wasm_bindgen_test]
    fn each_event_type_has_its_documented_fields_and_the_rust_names() {
        let start = event(EventKind::Start {
            attempt: 1,
            cached_age_ms: None,
        });
        assert_eq!(keys(&start), ["type", "call", "t", "attempt"]);
        let cached = event(EventKind::Start {
            attempt: 0,
            cached_age_ms: Some(1200.0),
        });
        assert_eq!(
            keys(&cached),
            ["type", "call", "t", "attempt", "cached", "ageMs"]
        );
        assert_eq!(get(&cached, "ageMs").as_f64(), Some(1200.0));
        let retry = event(EventKind::Retry {
            attempt: 1,
            status: None,
            reason: ErrorKind::Network,
            wait_ms: 50.0,
        });
        assert_eq!(
            keys(&retry),
            ["type", "call", "t", "attempt", "status", "reason", "waitMs"]
        );
        assert!(get(&retry, "status").is_null());
        assert_eq!(get(&retry, "reason").as_string().unwrap(), "NETWORK");
        let skip = event(EventKind::Skip {
            state: CallState::Skipped,
        });
        assert_eq!(keys(&skip), ["type", "call", "t", "state"]);
        let breaker = event(EventKind::Breaker {
            state: crate::engine::breaker::CircuitState::Closed,
            retry_at: 0.0,
        });
        assert_eq!(
            keys(&breaker),
            ["type", "call", "t", "state", "origin", "retryAt"]
        );
        assert_eq!(get(&breaker, "state").as_string().unwrap(), "closed");
        assert_eq!(get(&breaker, "retryAt").as_f64(), Some(0.0));
        let not_needed = event(EventKind::Skip {
            state: CallState::NotNeeded,
        });
        assert_eq!(keys(&not_needed), ["type", "call", "t", "state", "reason"]);
        assert_eq!(get(&not_needed, "state").as_string().unwrap(), "not-needed");
        assert_eq!(
            get(&not_needed, "reason").as_string().unwrap(),
            "not-needed"
        );
        for &state in CallState::ALL {
            let end = event(EventKind::End {
                attempts: 2,
                status: Some(200),
                state,
            });
            assert_eq!(
                keys(&end),
                ["type", "call", "t", "attempt", "status", "state"]
            );
            assert_eq!(get(&end, "type").as_string().unwrap(), "end");
            assert_eq!(get(&end, "state").as_string().unwrap(), state.as_str());
        }
        for &state in CompensationState::ALL {
            let done = event(EventKind::Compensate {
                attempts: 1,
                status: None,
                state,
            });
            assert_eq!(get(&done, "state").as_string().unwrap(), state.as_str());
        }
    }
}
