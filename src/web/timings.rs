//! DevTools timings (`options.timings`): after a composition, one User Timing measure
//! per call, `compose:<call>`, from its first request to its settling, one per
//! compensation that ran, `compose:<call>.compensate`, and one for the whole composition,
//! `compose`, from its start to its result (compensations included). Chrome's Performance
//! panel draws them as a waterfall, on a track of the composition's own.
//!
//! The measures are made from the records once the composition has settled, with
//! explicit start and end times on the records' `performance.now()` clock: nothing is
//! done while the calls run, and nothing at all unless the option asks for it. A call
//! that never started (skipped, cancelled first, not sent) has no measure. A fan-out
//! call's items have one each, `compose:<call>[<index>]` (and their compensations
//! `compose:<call>.compensate[<index>]`), beside the call's own, from its first item's
//! start to its end.

use crate::engine::outcome::Outcome;
use crate::engine::record::{CallRecord, CallState, CompensationState};
use crate::plan::Plan;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/report.js")]
extern "C" {
    #[wasm_bindgen(js_name = timingsTrack)]
    fn timings_track(trace_id: Option<&str>) -> String;

    #[allow(clippy::too_many_arguments)]
    fn measure(
        name: &str,
        start: f64,
        end: f64,
        track: &str,
        trace_id: Option<&str>,
        state: &str,
        failed: bool,
        attempts: u32,
        status: i32,
    );
}

/// Measures `outcome` of `plan`, which ended at `end` (a `performance.now()` reading).
pub(crate) fn measure_composition(
    plan: &Plan,
    outcome: &Outcome<JsValue>,
    trace_id: Option<&str>,
    end: f64,
) {
    let track = timings_track(trace_id);
    let origin = outcome.origin;
    let mut name = String::from("compose:");
    let mut requests = 0;
    let record_measure = |name: &str, record: &CallRecord| {
        let Some(start) = record.start_ms else {
            return;
        };
        // A reply a composer's cache served is marked so: its bar is no request's.
        let cached;
        let name = match record.cached_age_ms {
            Some(_) => {
                cached = [name, " (cached)"].concat();
                &cached
            }
            None => name,
        };
        measure(
            name,
            origin + start,
            origin + record.end_ms.unwrap_or(end - origin),
            &track,
            trace_id,
            record.state.as_str(),
            record.state != CallState::Ok,
            record.attempts,
            record.status.map_or(-1, i32::from),
        );
    };
    for (call, record) in plan.calls().iter().zip(&outcome.records) {
        requests += record.attempts;
        name.truncate("compose:".len());
        name.push_str(&call.name);
        record_measure(&name, record);
        for (index, item) in record.items().iter().enumerate() {
            name.truncate("compose:".len() + call.name.len());
            push_index(&mut name, Some(index));
            record_measure(&name, item);
        }
    }
    for done in &outcome.compensations {
        requests += done.attempts;
        let (Some(start), Some(stop)) = (done.start_ms, done.end_ms) else {
            continue;
        };
        name.truncate("compose:".len());
        name.push_str(&plan.calls()[done.call].name);
        name.push_str(".compensate");
        push_index(&mut name, done.item);
        measure(
            &name,
            origin + start,
            origin + stop,
            &track,
            trace_id,
            done.state.as_str(),
            done.state != CompensationState::Ok,
            done.attempts,
            done.status.map_or(-1, i32::from),
        );
    }
    let state = outcome
        .error
        .as_ref()
        .map_or(CallState::Ok.as_str(), |e| e.code());
    let failed = outcome.error.is_some();
    measure(
        "compose", origin, end, &track, trace_id, state, failed, requests, -1,
    );
}

/// Appends a fan-out item's `[<index>]` to a measure's name.
fn push_index(name: &mut String, index: Option<usize>) {
    if let Some(index) = index {
        name.push('[');
        name.push_str(&index.to_string());
        name.push(']');
    }
}
