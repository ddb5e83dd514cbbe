// Progress events as JavaScript objects, handed to `options.onEvent`.
//
// Each event is one object literal, so its keys are own data properties (never set
// through a setter, whatever a call is named) and events of one type share a hidden
// class; Rust crosses into JavaScript once per event, with numbers only (the call's
// index, not its name). The callback cannot break the composition: what it throws, or
// what a promise it returns rejects with, is caught here and reported once per
// composition on the console. The report names the event type and the call (the plan
// author's names); it quotes nothing from the requests.

const TYPES = ['start', 'retry', 'end', 'skip', 'cancel', 'compensate'];
const CALL_STATES = ['ok', 'failed', 'skipped', 'cancelled', 'not-sent', 'unknown'];
const COMPENSATION_STATES = ['ok', 'failed', 'unknown', 'not-run'];

/** One composition's events, sent to `callback`; `names` are the plan's call names. */
export class EventSink {
  constructor(callback, names) {
    this.callback = callback;
    this.names = names;
    this.reported = false;
  }

  /** `kind` indexes TYPES, `state` the states of its kind; `status` < 0 is none. */
  send(kind, index, t, attempt, code, state, reason, waitMs) {
    const call = this.names[index];
    const status = code < 0 ? null : code;
    let event;
    switch (kind) {
      case 0:
        event = { type: 'start', call, t, attempt };
        break;
      case 1:
        event = { type: 'retry', call, t, attempt, status, reason, waitMs };
        break;
      case 3:
        event = { type: 'skip', call, t, state: 'skipped' };
        break;
      case 5:
        event = { type: 'compensate', call, t, attempt, status, state: COMPENSATION_STATES[state] };
        break;
      default:
        event = { type: TYPES[kind], call, t, attempt, status, state: CALL_STATES[state] };
    }
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
