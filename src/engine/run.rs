//! The entry point: runs a validated plan over a transport and reports every call's
//! outcome (see [`run`]).
//!
//! On a required call's failure nothing new starts. In-flight reads are aborted (they
//! change nothing on the server), while in-flight writes are allowed to finish, so the
//! records say truthfully which writes happened; then the completed writes are undone
//! (`compensate.rs`). When the caller's abort signal fires, every in-flight request is
//! aborted at once. Dropping the future aborts them too.

use crate::engine::abort::Abort;
use crate::engine::call::Ctx;
use crate::engine::compensate::{compensate, Sender};
use crate::engine::composition::Composition;
use crate::engine::hooks::Hooks;
use crate::engine::memory::{prefetchable, Memory, Remember};
use crate::engine::outcome::Outcome;
use crate::engine::schedule::{drive, End};
use crate::engine::scope::Scope;
use crate::engine::settings::Settings;
use crate::engine::transport::{Clock, Transport};
use crate::error::ErrorKind;
use crate::plan::Plan;
use std::cell::RefCell;
use std::future::Future;

/// Runs `plan` over `transport` and reports every call's outcome.
///
/// `input` is what `{input...}` placeholders read. `hooks` may build bodies and judge
/// replies. When `cancel` completes, all in-flight requests are aborted, calls not yet
/// started are marked cancelled (an aborted write, already sent, is `unknown`), and the
/// outcome's error is `ABORTED`.
///
/// When a required call fails, the completed writes that declare a `compensate` request
/// are undone afterwards, last finished first (see [`Outcome::compensations`]).
///
/// Every `{input...}` value is checked before the first request: a missing one fails
/// with `INVALID_INPUT` and nothing is sent.
pub async fn run<T, H>(
    plan: &Plan,
    input: &T::Value,
    transport: &T,
    clock: &impl Clock,
    hooks: &H,
    settings: impl Into<Settings>,
    cancel: impl Future<Output = ()>,
) -> Outcome<T::Value>
where
    T: Transport,
    T::Value: 'static,
    H: Hooks<T::Value> + ?Sized,
{
    let parts = Parts {
        transport,
        clock,
        hooks,
    };
    run_with(plan, input, parts, settings.into(), cancel, None).await
}

/// What a composition runs over: its transport, its clock and its hooks.
pub(crate) struct Parts<'p, T, C, H: ?Sized> {
    pub transport: &'p T,
    pub clock: &'p C,
    pub hooks: &'p H,
}

/// [`run`], with a composer's memory (`memory.rs`) when given.
pub(crate) async fn run_with<T, C, H>(
    plan: &Plan,
    input: &T::Value,
    Parts {
        transport,
        clock,
        hooks,
    }: Parts<'_, T, C, H>,
    settings: Settings,
    cancel: impl Future<Output = ()>,
    remember: Option<Remember<'_, T::Value>>,
) -> Outcome<T::Value>
where
    T: Transport,
    T::Value: 'static,
    C: Clock,
    H: Hooks<T::Value> + ?Sized,
{
    let origin = clock.now();
    let mut composition = Composition::new(plan, &settings);
    let policies = remember.map(|r| r.policies(plan)).unwrap_or_default();
    if remember.is_some_and(|r| r.prefetch) {
        composition.only = Some(prefetchable(plan, &policies));
    }
    let memory = remember.map(|r| r.memory);
    if let Err(e) = Scope::new(plan, input, &composition.replies).check_input() {
        composition.error = Some(e);
        return composition.finish(origin);
    }
    // The abort, shared: the schedule waits on it, the compensations too, and each
    // request asks whether it happened just before it is sent.
    let cancel = Abort::new(cancel);
    let probe = cancel.clone();
    let cancelled = move || probe.happened();
    let ctx = Ctx {
        plan,
        input,
        transport,
        clock,
        hooks,
        settings: &settings,
        origin,
        state: RefCell::new(composition),
        cancelled: &cancelled,
        memory,
        policies,
        leads: RefCell::default(),
    };
    let end = drive(&ctx, cancel.clone()).await;
    let now = ctx.now();
    let mut state = ctx.state.into_inner();
    match end {
        End::Done => {}
        End::Aborted => state.aborted(now),
        End::Deadline => state.out_of_time(settings.deadline_ms.unwrap_or_default(), now),
    }
    let elapsed = || clock.now() - origin;
    let (records, replies) = (&state.records, &state.replies);
    state.events.finish(plan, records, replies, &elapsed);
    // Calls that never started: downstream of a failure they were skipped already;
    // the rest stayed `not-sent`. A failure leaves completed writes to undo.
    let compensations = match &state.error {
        Some(error) => {
            let aborted = error.kind() == ErrorKind::Aborted;
            let sender = Sender {
                transport,
                clock,
                settings: &settings,
                origin,
            };
            compensate(&state, input, aborted, sender, cancel).await
        }
        None => Vec::new(),
    };
    Outcome {
        compensations,
        ..state.finish(origin)
    }
}

/// [`run`] through a composer's `memory` (`memory.rs`): its reply cache serves and keeps
/// the replies of calls with a `cache`, its breakers hold back calls to failing origins,
/// and its budget lets reads be hedged. With `prefetch`, only the calls a prefetch makes
/// run ([`prefetchable`](crate::prefetchable)): those with a `cache`, and the reads they need; the
/// others are `not-needed`, and no write is ever sent.
#[allow(clippy::too_many_arguments)]
pub async fn run_in<T, H>(
    memory: &Memory<T::Value>,
    prefetch: bool,
    plan: &Plan,
    input: &T::Value,
    transport: &T,
    clock: &impl Clock,
    hooks: &H,
    settings: impl Into<Settings>,
    cancel: impl Future<Output = ()>,
) -> Outcome<T::Value>
where
    T: Transport,
    T::Value: 'static,
    H: Hooks<T::Value> + ?Sized,
{
    let parts = Parts {
        transport,
        clock,
        hooks,
    };
    let remember = Remember {
        memory,
        prefetch,
        cache: None,
    };
    run_with(plan, input, parts, settings.into(), cancel, Some(remember)).await
}
