//! How to run a plan: the schedule, the time limits, the retry policy, dedupe and
//! concurrency limits, and who listens to progress.

use crate::engine::concurrency::Concurrency;
use crate::engine::events::OnEvent;
use crate::engine::retry::RetryPolicy;
use crate::engine::trace::TraceContext;
use crate::plan::reuse::HedgePolicy;
use crate::plan::DEFAULT_MAX_CALLS;

/// The order in which ready calls may start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// Each call starts as soon as its dependencies succeed (the default).
    #[default]
    Eager,
    /// A barrier after each topological level.
    Stages,
    /// One call at a time, for comparison.
    Sequential,
}

impl Schedule {
    /// Reads `"eager"`, `"stages"` or `"sequential"`.
    pub fn parse(name: &str) -> Option<Schedule> {
        match name {
            "eager" => Some(Schedule::Eager),
            "stages" => Some(Schedule::Stages),
            "sequential" => Some(Schedule::Sequential),
            _ => None,
        }
    }

    /// The schedule's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::Eager => "eager",
            Schedule::Stages => "stages",
            Schedule::Sequential => "sequential",
        }
    }
}

/// The default time limit of one call, when neither the plan nor the options set one.
pub const DEFAULT_TIMEOUT_MS: f64 = 10_000.0;

/// How to run a plan: the schedule and the time limits.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Which ready calls may start.
    pub schedule: Schedule,
    /// Each call's time limit unless the plan gives it one ([`DEFAULT_TIMEOUT_MS`]).
    pub timeout_ms: f64,
    /// The whole composition's time limit, if any; it also bounds every call.
    pub deadline_ms: Option<f64>,
    /// When set, each POST's `Idempotency-Key` is `<operation id>:<call>`, so a repeated
    /// submission of the same intent reuses the same keys; otherwise keys are random.
    pub operation_id: Option<String>,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
    /// Whether identical reads share one request (default `true`; see `dedupe.rs`).
    pub dedupe: bool,
    /// How many requests may be on the wire at once (default: no limit; see `queue.rs`).
    pub concurrency: Concurrency,
    /// Receives the progress events (their contract: [`OnEvent`]); `None` costs nothing.
    pub on_event: Option<OnEvent>,
    /// The trace whose `traceparent` the requests carry ([`TraceContext`]); `None`: no header.
    pub trace: Option<TraceContext>,
    /// The most calls a composition may make, the items of fan-out calls counted one by
    /// one with the plan's other calls (default 1000, as `options.maxCalls`): a list of
    /// unexpected length from a reply is refused rather than sent.
    pub max_calls: usize,
    /// When a composer hedges a GET or HEAD whose plan call gives no `hedge` of its own
    /// (`hedge.rs`); `None`: only calls with their own. A run without a composer never
    /// hedges: the budget is the composer's.
    pub hedge: Option<HedgePolicy>,
}

impl From<Schedule> for Settings {
    fn from(schedule: Schedule) -> Self {
        Settings {
            schedule,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            deadline_ms: None,
            operation_id: None,
            retry: RetryPolicy::default(),
            dedupe: true,
            concurrency: Concurrency::default(),
            on_event: None,
            trace: None,
            max_calls: DEFAULT_MAX_CALLS,
            hedge: None,
        }
    }
}
