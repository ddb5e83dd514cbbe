//! `composeStream()` and `composeOrderStream()`: `compose()` and `composeOrder()` as async
//! iterators of their results as they arrive.
//!
//! Each runs the very composition `compose()` or `composeOrder()` runs (`mod.rs`), with two
//! additions made once its options are read: a listener to the engine's terminal events,
//! which carry each call's value the moment it is known (`engine/events.rs`), making it a
//! part; and a signal of its own, which leaving the iteration early aborts. The queue and
//! the iterator protocol are JavaScript's (`PartQueue` in js/report.js): parts wait there
//! until read, and the promise the composition settles becomes the last part, or the
//! error the iteration throws.

use super::options::RunOptions;
use super::records::{record_js, CallNames};
use super::{compose_into, compose_order_into, promise};
use super::{ComposeOptionsJs, InputJs, OrderOptionsJs, OrderRequestJs, PlanJs};
use crate::engine::events::{Event, OnEvent};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

#[wasm_bindgen(module = "/js/report.js")]
extern "C" {
    /// One composition's parts, waiting to be read.
    #[derive(Clone)]
    pub(super) type PartQueue;

    #[wasm_bindgen(constructor)]
    pub(super) fn new() -> PartQueue;

    /// The signal the composition runs under, following `caller`'s.
    #[wasm_bindgen(method)]
    fn signal(this: &PartQueue, caller: Option<AbortSignal>) -> AbortSignal;

    /// Queues call `name`'s part: its value and its record.
    #[wasm_bindgen(method)]
    fn call(this: &PartQueue, name: &JsValue, data: &JsValue, record: &JsValue);

    /// Runs the composition `composition` settles, and returns the iterator of its parts.
    #[wasm_bindgen(method)]
    pub(super) fn run(this: &PartQueue, composition: &js_sys::Promise) -> JsValue;
}

/// Makes the composition `options` describe, over the calls `names`, hand its parts to
/// `queue` and stop when the queue's signal aborts; without a queue, nothing changes.
/// `run.rs` sends the events to `options.onEvent` too, if there is one.
pub(super) fn attach(queue: Option<PartQueue>, options: &mut RunOptions, names: &Rc<CallNames>) {
    let Some(queue) = queue else {
        return;
    };
    options.signal = Some(queue.signal(options.signal.take()));
    let names = names.clone();
    // A call's own terminal event, not its items': a fan-out call is one part, its list.
    let parts = move |e: &Event<'_>| {
        let name = names.get(e.call).filter(|_| e.item.is_none());
        if let (Some(name), Some(record), Some(data)) = (name, e.record, e.value::<JsValue>()) {
            queue.call(name, data, &record_js(&names, record));
        }
    };
    options.settings.on_event = Some(OnEvent::new(parts));
}

/// Runs a plan as `compose()` does, and yields each call's reply as it arrives, then the
/// result: `{type: "call", call, data, record, fellBack}` per call whose value is known
/// (its reply, or its `fallback`), in that order, then `{type: "result", result}`.
///
/// The composition starts at once, whether or not the iterator is read. Where `compose()`
/// would reject, the iteration throws the same `ComposeError` after the parts before it
/// (at the first `next()` for a plan, input or options refused before anything is sent).
/// Leaving the loop early aborts the composition as `options.signal` would; `return()`
/// resolves once it has wound down.
#[wasm_bindgen(
    js_name = composeStream,
    unchecked_return_type = "PartStream<ComposePart>"
)]
pub fn compose_stream(plan: PlanJs, input: InputJs, options: Option<ComposeOptionsJs>) -> JsValue {
    let queue = PartQueue::new();
    let composition = compose_into(plan, input, options, Some(queue.clone()), None);
    queue.run(&promise(composition))
}

/// Creates an order as `composeOrder()` does, and yields each service's reply as it
/// arrives (the customer's and the cart's first), then the order, as `composeStream()`
/// yields a plan's.
#[wasm_bindgen(
    js_name = composeOrderStream,
    unchecked_return_type = "PartStream<OrderPart>"
)]
pub fn compose_order_stream(request: OrderRequestJs, options: Option<OrderOptionsJs>) -> JsValue {
    let queue = PartQueue::new();
    let composition = compose_order_into(request, options, Some(queue.clone()), None);
    queue.run(&promise(composition))
}
