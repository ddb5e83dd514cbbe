//! The three schedules, as futures over the calls' tasks (`call.rs`).
//!
//! *Eager* starts each call the moment its last dependency succeeds: its tasks run in a
//! `FuturesUnordered`, and every task that ends may make others ready, so the makespan is
//! the plan's critical path. *Stages* runs each topological level's calls together, a
//! barrier after each. *Sequential* runs one call at a time, in stage order. All three
//! share the bookkeeping of `composition.rs`, and stop starting calls once the
//! composition has failed.
//!
//! Around the schedule, [`drive`] listens for the caller's abort and the composition's
//! deadline, in that order of priority, and keeps the time limits of the requests on
//! the wire.

use crate::engine::call::Ctx;
use crate::engine::hooks::Hooks;
use crate::engine::settings::Schedule;
use crate::engine::transport::{Clock, Transport};
use futures::future::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
use std::task::Poll;

/// Why the schedule stopped.
pub(crate) enum End {
    /// Every call settled (or will never start: the composition failed).
    Done,
    /// The caller aborted.
    Aborted,
    /// The composition's deadline came.
    Deadline,
}

/// Runs the schedule until every call settles, the caller aborts (`cancel`) or the
/// deadline comes. When it stops early, every task still running is dropped, which
/// aborts its request; the caller records what became of them.
pub(crate) async fn drive<'c, 'a: 'c, T, C, H>(
    ctx: &'c Ctx<'a, T, C, H>,
    cancel: impl Future<Output = ()> + Unpin,
) -> End
where
    T: Transport,
    C: Clock,
    H: Hooks<T::Value> + ?Sized,
{
    let deadline = match ctx.settings.deadline_ms {
        Some(ms) => ctx.clock.sleep(ms),
        None => std::future::pending().boxed_local(),
    };
    let schedule = schedule(ctx);
    futures::select_biased! {
        () = cancel.fuse() => End::Aborted,
        () = deadline.fuse() => End::Deadline,
        () = schedule.fuse() => End::Done,
        // After the schedule, which may have just sent a request: its limit is armed.
        () = time_limits(ctx).fuse() => End::Done,
    }
}

/// Starts the ready calls, as many at a time as the schedule lets run: all of them
/// (eager), all of one stage, the next stage once that one is over (stages), or one
/// (sequential). One loop for the three, asking for ready calls again each time one
/// ends: that one may have made others ready (eager), or released the next item of a
/// fan-out call. One loop's code, where a future per schedule was the .wasm's three.
async fn schedule<'c, 'a: 'c, T, C, H>(ctx: &'c Ctx<'a, T, C, H>)
where
    T: Transport,
    C: Clock,
    H: Hooks<T::Value> + ?Sized,
{
    let kind = ctx.settings.schedule;
    let mut running = FuturesUnordered::new();
    let mut stage = 0;
    loop {
        let only = (kind == Schedule::Stages).then_some(stage);
        while kind != Schedule::Sequential || running.is_empty() {
            let Some(i) = ctx.next_ready(only) else {
                break;
            };
            running.push(ctx.task(i));
        }
        if running.next().await.is_some() {
            continue;
        }
        stage += 1;
        if kind != Schedule::Stages || stage >= ctx.plan.stages().len() {
            return;
        }
    }
}

/// Cuts short each request on the wire that runs out of time, one timer for all of them
/// (`timeouts.rs`). Never ends by itself.
async fn time_limits<'c, 'a: 'c, T, C, H>(ctx: &'c Ctx<'a, T, C, H>)
where
    T: Transport,
    C: Clock,
    H: Hooks<T::Value> + ?Sized,
{
    std::future::poll_fn(|cx| {
        let mut state = ctx.state.borrow_mut();
        while let Poll::Ready((i, limit)) = state.limits.poll_expired(cx, || ctx.now(), ctx.clock) {
            state.expire(i, limit);
        }
        Poll::<()>::Pending
    })
    .await
}
