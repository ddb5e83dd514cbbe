//! What touches the web platform: the `fetch` transport (and a kept plan's fixed URLs as
//! JS strings), the clock and its timers, the caller's `AbortSignal`, `JsValue` as a reply
//! [`Value`](crate::plan::value::Value), and User Timing measures. The same code runs in a
//! page, a worker and Node.

mod allocator;
pub(crate) mod clock;
pub(crate) mod fetch;
pub(crate) mod fixed_urls;
pub(crate) mod interned;
pub(crate) mod js_value;
pub(crate) mod poll_now;
pub(crate) mod signal;
pub(crate) mod timings;
