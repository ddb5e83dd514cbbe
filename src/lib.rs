//! parallel-composer runs a declared plan of HTTP calls concurrently in the browser:
//! independent calls overlap, and each dependent call starts the moment its inputs
//! arrive, so a composition takes as long as its longest dependency chain.

#![deny(missing_docs, missing_debug_implementations)]

mod bindings;
mod compensate;
mod error;
mod events;
mod fetch;
mod flag;
mod hooks;
mod in_flight;
mod js_value;
mod json;
mod limits;
mod order;
mod plan;
mod record;
mod redact;
mod retry;
mod schedule;
mod scope;
mod signal;
mod template;
mod time_limits;
mod timer;
mod timings;
mod trace;
mod transport;
mod value;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod fuzzing;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties;
#[cfg(test)]
mod sim;

pub use bindings::{compose, compose_order, validate_plan};
pub use compensate::{Compensation, CompensationState};
pub use error::{Error, ErrorKind};
pub use events::{Event, EventKind, OnEvent};
pub use fetch::{FetchTransport, PerformanceClock};
pub use hooks::{Hooks, NoHooks};
pub use json::Json;
pub use order::{OrderHooks, OrderRequest};
pub use plan::{Call, Method, Plan};
pub use record::{CallRecord, CallState};
pub use retry::{Decision, RetryPolicy};
pub use schedule::{run, Outcome, Schedule, Settings, DEFAULT_TIMEOUT_MS};
pub use scope::Scope;
pub use template::{percent_encode, BodyTemplate, Placeholder, Template};
pub use trace::TraceContext;
pub use transport::{Clock, Reply, Request, Transport, TransportError, DEFAULT_MAX_RESPONSE_BYTES};
pub use value::Value;
