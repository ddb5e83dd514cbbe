//! parallel-composer runs a declared plan of HTTP calls concurrently in the browser:
//! independent calls overlap, and each dependent call starts the moment its inputs
//! arrive, so a composition takes as long as its longest dependency chain.
//!
//! # Two ways in
//!
//! - **From JavaScript** (the npm package): `compose(plan, input, options)`,
//!   `composeOrder(request, options)` and `validatePlan(plan)`, and the results as they
//!   arrive, `composeStream(plan, input, options)` and `composeOrderStream(request,
//!   options)`, documented in the README. They are the [`compose`], [`compose_order`],
//!   [`validate_plan`], [`compose_stream`] and [`compose_order_stream`] exports here.
//! - **From Rust**, for a Rust frontend (Leptos, Yew, Dioxus) compiled to `wasm32`: read a
//!   [`Plan`], then [`run`] it over a [`Transport`] and a [`Clock`]. In the browser those
//!   are [`FetchTransport`] (the page's `fetch`, with the same byte cap, redirect refusal
//!   and credentials rules as the JavaScript API) and [`PerformanceClock`], and replies are
//!   `JsValue`s. The engine is generic over the reply type ([`Value`]), so anything that can
//!   send a request can stand in: [`Json`] is a native reply type, which is how the first
//!   example below runs (and how the engine's own tests run) outside a browser.
//!
//! The [`Outcome`] holds each call's reply and [`CallRecord`], the [`Error`] that failed
//! the composition if one did (its [`ErrorKind`] is the code JavaScript sees), and what
//! became of the writes it then undid ([`Compensation`]).
//!
//! # Example: a plan over your own transport
//!
//! ```
//! use parallel_composer::{
//!     run, CallState, Clock, Json, NoHooks, Plan, Reply, Request, Schedule, Transport,
//!     TransportError,
//! };
//! use std::{cell::Cell, future::Future, pin::Pin};
//!
//! /// A transport that answers from a table, as services would.
//! struct Table(Vec<(&'static str, &'static str)>);
//!
//! impl Transport for Table {
//!     type Value = Json;
//!     fn idempotency_key(&self) -> String {
//!         "key-1".into()
//!     }
//!     fn random(&self) -> f64 {
//!         0.5
//!     }
//!     fn send(
//!         &self,
//!         request: &Request<Json>,
//!     ) -> Pin<Box<dyn Future<Output = Result<Reply<Json>, TransportError>>>> {
//!         let found = self.0.iter().find(|(url, _)| *url == request.url);
//!         let reply = match found {
//!             Some((_, body)) => Ok(Reply::new(200, serde_json::from_str(body).unwrap())),
//!             None => Err(TransportError::Status(404)),
//!         };
//!         Box::pin(std::future::ready(reply))
//!     }
//! }
//!
//! /// A clock whose timers fire at once (nothing here waits).
//! struct Instant(Cell<f64>);
//!
//! impl Clock for Instant {
//!     fn now(&self) -> f64 {
//!         self.0.get()
//!     }
//!     fn sleep(&self, ms: f64) -> Pin<Box<dyn Future<Output = ()>>> {
//!         self.0.set(self.0.get() + ms);
//!         Box::pin(std::future::ready(()))
//!     }
//! }
//!
//! let plan: Json = serde_json::from_str(r#"{"calls": {
//!     "user":  {"url": "https://api.example/users/{input.id}"},
//!     "posts": {"url": "https://api.example/users/{user.id}/posts"},
//!     "prefs": {"url": "https://api.example/prefs/{input.id}"}
//! }}"#).unwrap();
//! let plan = Plan::from_json(&plan)?;
//! // `posts` waits for `user`; `prefs` runs beside it.
//! assert_eq!(plan.stage_names(), vec![vec!["user", "prefs"], vec!["posts"]]);
//!
//! let services = Table(vec![
//!     ("https://api.example/users/7", r#"{"id": "u7", "name": "Ada"}"#),
//!     ("https://api.example/users/u7/posts", r#"[{"title": "Hello"}]"#),
//!     ("https://api.example/prefs/7", r#"{"theme": "dark"}"#),
//! ]);
//! let input: Json = serde_json::from_str(r#"{"id": 7}"#).unwrap();
//! let never_cancelled = std::future::pending::<()>();
//! let outcome = futures::executor::block_on(run(
//!     &plan,
//!     &input,
//!     &services,
//!     &Instant(Cell::new(0.0)),
//!     &NoHooks,
//!     Schedule::Eager,
//!     never_cancelled,
//! ));
//! assert!(outcome.error.is_none());
//! assert!(outcome.records.iter().all(|r| r.state == CallState::Ok));
//! let posts = outcome.replies[1].as_ref().unwrap();
//! assert_eq!(posts, &serde_json::from_str::<Json>(r#"[{"title": "Hello"}]"#).unwrap());
//! # Ok::<(), parallel_composer::Error>(())
//! ```
//!
//! Bad plans are refused with a message that says where, before anything is sent:
//!
//! ```
//! use parallel_composer::{ErrorKind, Json, Plan};
//!
//! let plan: Json = serde_json::from_str(r#"{"calls": {
//!     "a": {"url": "https://api.example/a/{b.id}"},
//!     "b": {"url": "https://api.example/b/{a.id}"}
//! }}"#).unwrap();
//! let error = Plan::from_json(&plan).unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::InvalidPlan);
//! assert_eq!(error.kind().code(), "INVALID_PLAN");
//! assert!(error.message().starts_with("cycle: a -> b -> a"));
//! ```
//!
//! # Example: in a Rust frontend
//!
//! Compiled to `wasm32-unknown-unknown`, the same [`run`] goes over the page's `fetch`.
//! Replies are `JsValue`s, ready to hand to JavaScript or to read with `js_sys::Reflect`.
//! Dropping the future aborts every request in flight; so does the `cancel` future
//! completing (tie it to your component's lifetime or a Cancel button).
//!
//! ```no_run
//! use parallel_composer::{
//!     run, FetchTransport, Json, NoHooks, PerformanceClock, Plan, Schedule, Settings,
//! };
//! use wasm_bindgen::JsValue;
//!
//! async fn profile(user_id: &str) -> Result<Vec<Option<JsValue>>, parallel_composer::Error> {
//!     let plan: Json = serde_json::from_str(r#"{"calls": {
//!         "user":  {"url": "/api/users/{input.id}"},
//!         "posts": {"url": "/api/users/{user.id}/posts"}
//!     }}"#).unwrap();
//!     let plan = Plan::from_json(&plan)?;
//!     let input = js_sys::Object::new();
//!     js_sys::Reflect::set(&input, &"id".into(), &user_id.into()).unwrap();
//!     let settings = Settings { deadline_ms: Some(5_000.0), ..Settings::from(Schedule::Eager) };
//!     let outcome = run(
//!         &plan,
//!         &input.into(),
//!         &FetchTransport::default().max_response_bytes(1 << 20),
//!         &PerformanceClock,
//!         &NoHooks,
//!         settings,
//!         std::future::pending::<()>(),
//!     )
//!     .await;
//!     match outcome.error {
//!         Some(error) => Err(error),
//!         None => Ok(outcome.replies),
//!     }
//! }
//! ```

#![deny(missing_docs, missing_debug_implementations)]

mod bindings;
mod engine;
mod error;
mod order;
mod plan;
mod protocol;
#[cfg(test)]
mod tests;
mod web;

pub use bindings::order_plan;
pub use bindings::{compose, compose_order, validate_plan};
pub use bindings::{compose_order_stream, compose_stream};
pub use bindings::{create_composer, Composer, ComposerOptionsJs};
pub use engine::breaker::{BreakerPolicy, Circuit, CircuitState};
pub use engine::concurrency::Concurrency;
pub use engine::events::{Event, EventKind, OnEvent};
pub use engine::hooks::{Hooks, NoHooks};
pub use engine::memory::{prefetchable, Memory, MemoryOptions, Spawn};
pub use engine::outcome::Outcome;
pub use engine::record::{CallRecord, CallState};
pub use engine::record::{Compensation, CompensationState};
pub use engine::resubmit::Resubmit;
pub use engine::retry::{Decision, RetryPolicy};
pub use engine::run::{run, run_in};
pub use engine::scope::Scope;
pub use engine::settings::{Schedule, Settings, DEFAULT_TIMEOUT_MS};
pub use engine::trace::TraceContext;
pub use engine::transport::{
    Clock, Reply, Request, Transport, TransportError, DEFAULT_MAX_RESPONSE_BYTES,
    IDEMPOTENT_REPLAYED,
};
pub use error::{Error, ErrorKind};
pub use order::{OrderHooks, OrderRequest};
pub use plan::condition::{Comparison, Condition};
pub use plan::fan_out::ForEach;
pub use plan::json::Json;
pub use plan::model::{Call, Method, Plan};
pub use plan::reuse::{CachePolicy, HedgePolicy};
pub use plan::template::{percent_encode, BodyTemplate, Placeholder, Template};
pub use plan::value::Value;
pub use web::fetch::{Credentials, FetchTransport, PerformanceClock};
