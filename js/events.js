// Progress events as JavaScript objects, handed to `options.onEvent`.
//
// Each event is one object literal, so its keys are own data properties (never set
// through a setter, whatever a call is named) and events of one type share a hidden
// class; Rust crosses into JavaScript once per event, with numbers only (the call's
// index, not its name). The callback cannot break the composition: what it throws, or
// what a promise it returns rejects with, is caught here and reported once per
// composition on the console. The report names the event type and the call (the plan
// author's names); it quotes nothing from the requests.

const CALL_STATES = ['ok', 'failed', 'skipped', 'cancelled', 'not-sent', 'unknown'];
const COMPENSATION_STATES = ['ok', 'failed', 'unknown', 'not-run'];

const status = (s) => (s < 0 ? null : s);

/** One composition's events, sent to `callback`; `names` are the plan's call names. */
export class EventSink {
  constructor(callback, names) {
    this.callback = callback;
    this.names = names;
    this.reported = false;
  }

  start(call, t, attempt) {
    this.send({ type: 'start', call: this.names[call], t, attempt });
  }

  retry(call, t, attempt, code, reason, waitMs) {
    this.send({ type: 'retry', call: this.names[call], t, attempt, status: status(code), reason, waitMs });
  }

  /** `end` or `cancel` (`cancelled` true), with the call's final state. */
  settled(cancelled, call, t, attempt, code, state) {
    const type = cancelled ? 'cancel' : 'end';
    this.send({ type, call: this.names[call], t, attempt, status: status(code), state: CALL_STATES[state] });
  }

  skip(call, t) {
    this.send({ type: 'skip', call: this.names[call], t, state: 'skipped' });
  }

  compensate(call, t, attempt, code, state) {
    this.send({ type: 'compensate', call: this.names[call], t, attempt, status: status(code), state: COMPENSATION_STATES[state] });
  }

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
