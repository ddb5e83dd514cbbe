//! The engine: the scheduler, generic over [`Transport`](transport::Transport),
//! [`Clock`](transport::Clock) and [`Value`](crate::plan::value::Value), and its policies
//! (retries, time limits, concurrency limits, dedupe, compensation, events, trace context).
//! Nothing here knows JavaScript: the browser's side is in `web/`.

pub(crate) mod abort;
pub(crate) mod breaker;
pub(crate) mod cache;
pub(crate) mod call;
pub(crate) mod compensate;
pub(crate) mod composition;
pub(crate) mod concurrency;
pub(crate) mod dedupe;
pub(crate) mod events;
pub(crate) mod failure;
pub(crate) mod fan_out;
pub(crate) mod hedge;
pub(crate) mod hooks;
pub(crate) mod idempotency;
pub(crate) mod memory;
pub(crate) mod outcome;
pub(crate) mod record;
pub(crate) mod redact;
pub(crate) mod reply_rules;
pub(crate) mod resubmit;
pub(crate) mod retry;
pub(crate) mod reuse;
pub(crate) mod run;
pub(crate) mod schedule;
pub(crate) mod scope;
pub(crate) mod settings;
pub(crate) mod timeouts;
pub(crate) mod trace;
pub(crate) mod transport;
