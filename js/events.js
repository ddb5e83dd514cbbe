// Hands progress events to `options.onEvent`.
//
// Rust builds each event (a plain object of own data properties, written by
// serde-wasm-bindgen from the engine's own names: src/bindings/events.rs) and crosses into
// JavaScript once per event, here. The callback cannot break the composition: what it
// throws, or what a promise it returns rejects with, is caught here and reported once per
// composition on the console. The report names the event type and the call (the plan
// author's names); it quotes nothing from the requests.

/** One composition's events, sent to `callback`. */
export class EventSink {
  constructor(callback) {
    this.callback = callback;
    this.reported = false;
  }

  /** Calls the callback with `event`, catching what it throws or rejects with. */
  send(event) {
    try {
      const returned = this.callback.call(undefined, event);
      // An async callback's rejection would otherwise be unhandled (and end a Node process).
      if (returned !== null && (typeof returned === 'object' || typeof returned === 'function') && typeof returned.then === 'function') {
        returned.then(undefined, (error) => this.report(event, error));
      }
    } catch (error) {
      this.report(event, error);
    }
  }

  report(event, error) {
    if (this.reported) return;
    this.reported = true;
    if (typeof console === 'undefined' || typeof console.error !== 'function') return;
    console.error(
      `parallel-composer: options.onEvent failed on the "${event.type}" event of call "${event.call}"; ` +
        'the composition carries on without it. Later failures of onEvent in this composition are not reported.',
      error,
    );
  }
}
