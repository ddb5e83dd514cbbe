//! `PerformanceClock`: the engine's [`Clock`] on the web platform, `performance.now()` for
//! the time and gloo-timers' `TimeoutFuture` (`setTimeout`) for its timers.
//!
//! Pages, workers and Node 20 all have a global `performance` and `setTimeout`. Node's
//! `setTimeout` returns a `Timeout` object rather than a number; gloo-timers keeps whatever
//! it returns as an opaque handle and gives that back to `clearTimeout`, so a dropped timer
//! is cleared there too.

use crate::engine::transport::{BoxFuture, Clock};
use gloo_timers::future::TimeoutFuture;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/report.js")]
extern "C" {
    #[wasm_bindgen(js_name = now)]
    fn performance_now() -> f64;

    /// `performance.timeOrigin + t`.
    fn epoch(t: f64) -> f64;
}

/// A time `t` of [`PerformanceClock`] as milliseconds since the Unix epoch (`Date.now()`'s
/// count), for the times JavaScript is handed, such as when an open circuit is tried again.
pub fn epoch_ms(t: f64) -> f64 {
    epoch(t)
}

/// `performance.now()`: monotonic, sub-millisecond, never `Date`. Read through
/// `js/report.js`, which looks `performance` up once (a global accessor in browsers).
///
/// Its timers are `setTimeout`s: [`Clock::sleep`] completes no earlier than `ms`
/// milliseconds later, and dropping the future before then clears the timeout.
#[derive(Clone, Copy, Debug, Default)]
pub struct PerformanceClock;

impl Clock for PerformanceClock {
    fn now(&self) -> f64 {
        performance_now()
    }

    fn sleep(&self, ms: f64) -> BoxFuture<()> {
        // Once over, it stays over: the engine may look at a finished timer again, and a
        // `TimeoutFuture` polled after it completed throws (its channel is spent).
        let mut timer = Some(TimeoutFuture::new(timer_ms(ms)));
        Box::pin(std::future::poll_fn(move |cx| {
            if let Some(running) = timer.as_mut() {
                if Pin::new(running).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                timer = None;
            }
            Poll::Ready(())
        }))
    }
}

/// The whole milliseconds to hand `setTimeout` for a wait of `ms`.
///
/// Rounded up, so a timer never fires before its time (the engine's time limits would
/// only look again and arm another); clamped to what `setTimeout` takes (a 32-bit signed
/// delay: a longer one fires at once in browsers, and after 1 ms in Node). Time limits are
/// validated to fit already; this keeps a computed wait (a far `Retry-After`) from
/// wrapping around. Not a number waits 0 ms, as `setTimeout` itself reads it.
fn timer_ms(ms: f64) -> u32 {
    // `as` saturates and maps NaN to 0.
    ms.ceil().clamp(0.0, i32::MAX as f64) as u32
}

#[cfg(test)]
mod tests {
    use super::timer_ms;

    #[test]
    fn waits_are_whole_milliseconds_rounded_up_and_within_set_timeouts_range() {
        assert_eq!(timer_ms(0.0), 0);
        assert_eq!(timer_ms(10.0), 10);
        assert_eq!(timer_ms(10.2), 11);
        assert_eq!(timer_ms(0.0001), 1);
        assert_eq!(timer_ms(-5.0), 0);
        assert_eq!(timer_ms(f64::NAN), 0);
        assert_eq!(timer_ms(2_147_483_647.0), 2_147_483_647);
        assert_eq!(timer_ms(1e12), 2_147_483_647);
        assert_eq!(timer_ms(f64::INFINITY), 2_147_483_647);
    }
}
