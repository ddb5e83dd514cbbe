// The "Result" card: the aggregated order as formatted JSON, or, when the composition
// failed, the error panel: its code, the failing call, how each call ended (colour-coded),
// which writes had completed, and what the composer undid (its compensations).
import { $, el, ms, money, STATE_LABEL } from './dom.js';

const MODE_LABEL = { sequential: 'Sequential', stages: 'Stages', eager: 'Eager' };
/** "Eager run", or "Eager run after prefetch" for the one that used a prefetch. */
export const runName = (run) => `${MODE_LABEL[run.mode]} run${run.prefetch ? ' after prefetch' : ''}`;

/** What undoing a completed write of the order flow means, in words. */
const UNDO_WORDS = {
  inventory: 'reservation released',
  payment: 'authorization voided',
};

/** What a completed write means, for the error panel. */
const WRITES = {
  inventory: 'a stock reservation',
  payment: 'a payment authorization',
  order: 'the order',
  notification: 'the confirmation e-mail',
};

/** The fields of a rejection the page shows, whatever was thrown. */
export function errorFacts(error) {
  return {
    code: error?.code ?? 'UNEXPECTED',
    call: error?.call ?? null,
    item: error?.item ?? null,
    status: error?.status ?? null,
    message: error?.message ?? String(error),
  };
}

/** One sentence on which writes happened before the failure; `undoable`: the calls with a compensation. */
function writesSentence(calls, compensations, undoable) {
  const done = Object.keys(WRITES).filter((c) => calls[c]?.state === 'ok');
  const inFlight = Object.keys(WRITES).filter(
    (c) => (calls[c]?.state === 'cancelled' && calls[c].startMs !== null) || calls[c]?.state === 'unknown',
  );
  const undone = new Set(compensations.filter((c) => c.state === 'ok').map((c) => c.call));
  const parts = [];
  if (done.length > 0) {
    const all = done.every((c) => undone.has(c) || !undoable.has(c));
    parts.push(`Writes that completed before the failure: ${done.map((c) => `${c} (${WRITES[c]})`).join(', ')}; ${
      all && undone.size > 0 ? `the composer undid ${done.length === 1 ? 'it' : 'them'} (below).` : 'error.calls and error.compensations tell a portal what is left to undo.'}`);
  }
  if (inFlight.length > 0) {
    parts.push(`Sent but not confirmed, so possibly applied: ${inFlight.join(', ')}.`);
  }
  if (parts.length === 0) parts.push('No write call completed, so there is nothing to undo.');
  return parts.join(' ');
}

function renderCallStates(list, calls, names) {
  list.replaceChildren(...names.filter((n) => calls[n]).map((name) => {
    const record = calls[name];
    return el('li', { 'data-testid': `error-state-${name}`, 'data-state': record.state },
      el('span', { class: `chip state-${record.state}`, text: STATE_LABEL[record.state] ?? record.state }),
      el('span', { class: 'call-state-name', text: name }),
      record.status !== null ? el('span', { class: 'call-state-status', text: `HTTP ${record.status}` }) : null);
  }));
}

/** "inventory reservation released" for the order flow; "reserve undone" for a plan. */
// A compensation's write: its call, and for an item of a fan-out call its position.
const writeOf = (c) => (c.item == null ? c.call : `${c.call}[${c.item}]`);
const undoWords = (c) => (UNDO_WORDS[c.call] ? `${writeOf(c)} ${UNDO_WORDS[c.call]}` : `${writeOf(c)} undone`);

/**
 * Fills `list` (and `summary`) with what became of each compensation, in the order they ran
 * (last finished write first): "Undone: payment authorization voided (ok), inventory
 * reservation released (ok)." A compensation that did not succeed is named apart, with why:
 * that write may still stand, and a portal has to reconcile it.
 */
export function renderCompensations(summary, list, compensations, prefix = 'compensation') {
  if (compensations.length === 0) {
    summary.textContent = 'Nothing to undo: no write that declares a compensation had completed.';
    list.replaceChildren();
    return;
  }
  const undone = compensations.filter((c) => c.state === 'ok');
  const left = compensations.filter((c) => c.state !== 'ok');
  const sentences = [];
  if (undone.length) sentences.push(`Undone: ${undone.map((c) => `${undoWords(c)} (ok)`).join(', ')}.`);
  if (left.length) {
    sentences.push(`Not undone, so possibly still in place: ${left.map((c) => `${writeOf(c)} (${STATE_LABEL[c.state] ?? c.state})`).join(', ')}.`);
  }
  summary.textContent = sentences.join(' ');
  list.replaceChildren(...compensations.map((c) => el('li', { 'data-testid': `${prefix}-${writeOf(c)}`, 'data-state': c.state },
    el('span', { class: `chip state-${c.state}`, text: STATE_LABEL[c.state] ?? c.state }),
    el('span', { class: 'call-state-name', text: c.state === 'ok' ? undoWords(c) : `${writeOf(c)} not undone` }),
    c.status !== null ? el('span', { class: 'call-state-status', text: `HTTP ${c.status}` }) : null,
    c.reason ? el('span', { class: 'call-state-reason', text: c.reason }) : null)));
}

/**
 * Shows a finished order run: { ok, mode, order | error, calls, compensations, totalMs, prefetch? }.
 * `plan`: the order plan as the page read it, { calls (the names, in order), undoable }.
 */
export function renderResult(run, plan) {
  const summary = $('#result-summary');
  const errorPanel = $('#error-panel');
  const json = $('#order-json');
  if (run.ok) {
    const { calls, ...order } = run.order;
    summary.textContent = `${runName(run)}: order ${order.orderId} ${order.status}, total ${money(order.total, order.currency)}, in ${ms(run.totalMs)}.`;
    summary.dataset.kind = 'ok';
    errorPanel.hidden = true;
    json.hidden = false;
    json.textContent = JSON.stringify(order, null, 2);
    return;
  }
  const facts = errorFacts(run.error);
  summary.textContent = `${runName(run)} failed after ${ms(run.totalMs)}.`;
  summary.dataset.kind = 'error';
  json.hidden = true;
  json.textContent = '';
  $('#error-title').textContent = facts.code === 'ABORTED' ? 'The order was cancelled' : 'The order failed';
  $('#error-code').textContent = facts.code;
  $('#error-call').textContent = facts.call ?? '(none: the composition as a whole)';
  $('#error-status').textContent = facts.status !== null ? String(facts.status) : '—';
  $('#error-message').textContent = facts.message;
  $('#error-writes').textContent = writesSentence(run.calls, run.compensations, plan.undoable);
  renderCallStates($('#error-calls'), run.calls, plan.calls);
  renderCompensations($('#undo-summary'), $('#compensations'), run.compensations);
  errorPanel.dataset.code = facts.code;
  errorPanel.dataset.call = facts.call ?? '';
  errorPanel.hidden = false;
}
