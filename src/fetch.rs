//! The browser transport: `fetch` with an `AbortController` per request.
//!
//! Dropping a `JsFuture` does not cancel the request it waits on, so every request owns
//! an [`AbortGuard`] that aborts it when the future is dropped before the reply is read:
//! cancelling or dropping a composition really stops its requests. The same code runs in
//! a page, a worker and Node 20, which all have a global `fetch`; `options.fetch` may
//! replace it (tests, benchmarks, service workers).

use crate::js_value::set_own;
use crate::transport::{Clock, Reply, Request, Transport, TransportError};
use futures::future::LocalBoxFuture;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str, init: &Object) -> Promise;

    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// `performance.now()`: monotonic, sub-millisecond, never `Date`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PerformanceClock;

impl Clock for PerformanceClock {
    fn now(&self) -> f64 {
        performance_now()
    }
}

/// Sends requests with the global `fetch` or an injected one.
#[derive(Clone, Debug, Default)]
pub struct FetchTransport {
    fetch: Option<Function>,
}

impl FetchTransport {
    /// A transport over `fetch`, or over the global `fetch` when `None`.
    pub fn new(fetch: Option<Function>) -> Self {
        FetchTransport { fetch }
    }
}

/// Aborts its controller when dropped, unless disarmed after the reply was read.
struct AbortGuard {
    controller: Option<AbortController>,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some(c) = self.controller.take() {
            c.abort();
        }
    }
}

/// The most useful text of a rejection: `message`, plus Node's `cause` when present
/// ("fetch failed: connect ECONNREFUSED 127.0.0.1:9").
fn describe(error: &JsValue) -> String {
    let message = |v: &JsValue| {
        Reflect::get(v, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .filter(|m| !m.is_empty())
    };
    let Some(main) = message(error).or_else(|| error.as_string()) else {
        return "the request failed".into();
    };
    match Reflect::get(error, &"cause".into())
        .ok()
        .as_ref()
        .and_then(message)
    {
        Some(cause) => format!("{main}: {cause}"),
        None => main,
    }
}

fn init_for(request: &Request<JsValue>, signal: &web_sys::AbortSignal) -> Result<Object, JsValue> {
    let init = Object::new();
    Reflect::set(&init, &"method".into(), &request.method.as_str().into())?;
    let headers = Object::new();
    let mut has_type = false;
    for (k, v) in &request.headers {
        has_type |= k.eq_ignore_ascii_case("content-type");
        set_own(&headers, k, &v.into());
    }
    if let Some(body) = &request.body {
        if !has_type {
            set_own(&headers, "Content-Type", &"application/json".into());
        }
        Reflect::set(
            &init,
            &"body".into(),
            &js_sys::JSON::stringify(body)?.into(),
        )?;
    }
    Reflect::set(&init, &"headers".into(), &headers)?;
    Reflect::set(&init, &"signal".into(), signal)?;
    Ok(init)
}

impl Transport for FetchTransport {
    type Value = JsValue;

    fn send(
        &self,
        request: Request<JsValue>,
    ) -> LocalBoxFuture<'static, Result<Reply<JsValue>, TransportError>> {
        let fetch = self.fetch.clone();
        Box::pin(async move {
            let controller =
                AbortController::new().map_err(|e| TransportError::Network(describe(&e)))?;
            let mut guard = AbortGuard {
                controller: Some(controller),
            };
            let signal = guard.controller.as_ref().map(|c| c.signal()).unwrap_throw();
            let init =
                init_for(&request, &signal).map_err(|e| TransportError::Network(describe(&e)))?;
            let promise = match &fetch {
                None => global_fetch(&request.url, &init),
                Some(f) => {
                    let returned = f
                        .call2(&JsValue::UNDEFINED, &request.url.as_str().into(), &init)
                        .map_err(|e| TransportError::Network(describe(&e)))?;
                    Promise::resolve(&returned)
                }
            };
            let response = JsFuture::from(promise)
                .await
                .map_err(|e| TransportError::Network(describe(&e)))?;
            if !response.is_object() {
                return Err(TransportError::Network(
                    "fetch did not resolve to a Response".into(),
                ));
            }
            // Structural access (`response.status`, `response.json()`), so an injected fetch
            // may resolve to any Response-like object.
            let raw: web_sys::Response = response.unchecked_into();
            let status = raw.status();
            if !(200..300).contains(&status) {
                return Err(TransportError::Status(status));
            }
            let body = if status == 204 || status == 205 {
                JsValue::NULL
            } else {
                let parse = raw.json().map_err(|e| TransportError::Body {
                    status,
                    reason: describe(&e),
                })?;
                JsFuture::from(parse)
                    .await
                    .map_err(|e| TransportError::Body {
                        status,
                        reason: describe(&e),
                    })?
            };
            // The reply is fully read: nothing is left to abort.
            guard.controller = None;
            Ok(Reply { status, body })
        })
    }
}
