// The chaos run's report: one Markdown table per run (runtimes side by side), the load
// check's table, and the first few discrepancies of each invariant. The same text goes to
// stdout and, with --docs, into docs/reliability.md.
import { INVARIANTS } from './judge.mjs';

/** Fault kinds in the order the mock draws them (mock/chaos.mjs), as judge.faultKind() names them. */
const FAULT_ORDER = ['500', '503 Retry-After', '429', 'reset', 'reset-mid-body', 'lose-reply', 'hang', 'slow-body', 'decline', 'reject'];
const CODES = ['HTTP_STATUS', 'NETWORK', 'BAD_RESPONSE', 'TIMEOUT', 'ABORTED', 'FRAUD_REJECTED', 'PAYMENT_DECLINED', 'INVALID_INPUT', 'INVALID_PLAN', 'CIRCUIT_OPEN'];
const COMPENSATION_STATES = ['ok', 'failed', 'unknown', 'not-run'];

const pct = (n, of) => (of ? ` (${((100 * n) / of).toFixed(1)}%)` : '');
const secs = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');
const mib = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MiB` : 'n/a');

function mdTable(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** Counts of discrepancies per invariant id for one runtime. */
function byInvariant(discrepancies) {
  const out = {};
  for (const d of discrepancies) out[d.invariant] = (out[d.invariant] ?? 0) + 1;
  return out;
}

/** The main table: one column per runtime that ran. */
export function runTable(results) {
  const names = Object.keys(results.runtimes);
  const cols = names.map((n) => results.runtimes[n]);
  const row = (label, cell) => [label, ...cols.map((r) => String(cell(r.summary, r)))];
  const rows = [
    row('orders (compositions, resubmissions included)', (s) => `${s.orders} (${s.compositions})`),
    row('resolved', (s) => `${s.resolved}${pct(s.resolved, s.orders)}`),
    row('failed', (s) => `${s.failed}${pct(s.failed, s.orders)}`),
    row('resubmitted under the same operationId (resolved then)', (s) => `${s.resubmitted} (${s.resubmittedResolved})`),
    row('aborted by their caller', (s) => s.aborted),
    row('requests the services received', (s) => s.requests),
    row('faults injected', (s) => {
      const n = Object.values(s.faults).reduce((a, b) => a + b, 0);
      return `${n}${pct(n, s.requests)}`;
    }),
    ...FAULT_ORDER.map((k) => row(`fault: ${k}`, (s) => s.faults[k] ?? 0)),
    ...Object.keys(Object.assign({}, ...cols.map((r) => r.summary.faults))).filter((k) => !FAULT_ORDER.includes(k))
      .map((k) => row(`fault: ${k}`, (s) => s.faults[k] ?? 0)),
    row(`retries (in the records / in the log${results.composer ? ', hedges included' : ''})`, (s) => `${s.retriesRecorded} / ${s.retriesLogged}`),
    ...(results.composer ? composerRows(row) : []),
    row('compensations ok / failed / unknown / not-run', (s) => COMPENSATION_STATES.map((k) => s.compensations[k] ?? 0).join(' / ')),
    row('undone at the services (releases and voids)', (s) => s.undoneAtServices),
    row('unknown outcomes (calls)', (s) => `${s.unknownCalls}${Object.keys(s.unknownByCall).length ? ` (${Object.entries(s.unknownByCall).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`),
    row('rejections by code', (s) => CODES.filter((c) => s.rejectionsByCode[c]).map((c) => `${c} ${s.rejectionsByCode[c]}`).join(', ') || '-'),
    row('orders at the order service', (s) => s.ordersInState),
    row('live reservations / authorizations without an order', (s) => `${s.liveReservationsWithoutOrder} / ${s.liveAuthorizationsWithoutOrder}`),
    row('wall time (the event loop at most late by)', (s) => `${secs(s.wallMs)} (${Math.round(s.maxLoopLagMs)} ms)`),
    ...INVARIANTS.map((inv) => row(`**${inv.id}. ${inv.name}**`, (s, r) => byInvariant(r.discrepancies)[inv.id] ?? 0)),
    row('**discrepancies**', (s, r) => `**${r.discrepancies.length}**`),
  ];
  return mdTable(['', ...names], rows);
}

/** The composer mode's rows: what its cache, hedges and circuit breakers did. */
function composerRows(row) {
  const byCall = (m) => {
    const n = Object.values(m ?? {}).reduce((a, b) => a + b, 0);
    return `${n}${n ? ` (${Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`;
  };
  return [
    row('calls served by the composer\'s cache', (s) => byCall(s.cachedByCall)),
    row('reads hedged (the hedge\'s reply used)', (s) => `${s.hedged ?? 0} (${s.hedgeWon ?? 0})`),
    row('calls refused by an open circuit (CIRCUIT_OPEN)', (s) => byCall(s.circuitOpenByCall)),
  ];
}

/** The load check's table. */
export function loadTable(load) {
  const s = load.summary;
  const rows = [
    [`compositions started at once (one Chromium page, through the gateway: one origin; latency ${load.latencyMs} ms)`, s.compositions],
    ['settled / resolved', `${s.settled} / ${s.resolved}`],
    ['rejected, by code (no fault was injected)', Object.entries(s.rejectedByCode).map(([k, v]) => `${k} ${v}`).join(', ') || '0'],
    ['requests the browser failed itself, by reason', Object.entries(load.browserFailures ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || '0'],
    ['time until all settled', secs(s.settleMs)],
    ['peak JS heap (before: collected heap)', `${mib(load.heap?.peak)} (before: ${mib(load.heap?.base)}, ${load.heap?.polls ?? 0} polls)`],
    [`peak requests of one composition to one origin on the wire (maxConcurrencyPerOrigin ${s.limit})`, s.peakPerCompositionOrigin],
    ['peak requests to that origin on the wire, all compositions together', s.peakAllCompositionsPerOrigin],
    ['**discrepancies**', `**${load.discrepancies.length}**`],
  ];
  return mdTable(['load check', ''], rows.map(([a, b]) => [a, String(b)]));
}

/** The first `perInvariant` discrepancies of each invariant and runtime, one line each. */
export function examples(results, perInvariant = 3) {
  const lines = [];
  const all = [...Object.values(results.runtimes).flatMap((r) => r.discrepancies), ...(results.load?.discrepancies ?? [])];
  const groups = new Map();
  for (const d of all) {
    const key = `${d.invariant}\n${d.runtime}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(d);
  }
  for (const [key, list] of [...groups].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
    const [invariant, runtime] = key.split('\n');
    const inv = INVARIANTS.find((i) => String(i.id) === invariant);
    lines.push(`- **${inv ? `${inv.id}. ${inv.name}` : invariant}**, ${runtime}: ${list.length}`);
    for (const d of list.slice(0, perInvariant)) {
      const who = [d.operationId, d.submission ? `submission ${d.submission}` : null, d.traceId ? `trace ${d.traceId}` : null].filter(Boolean).join(', ');
      lines.push(`  - ${who ? `${who}: ` : ''}expected ${d.expected}; found ${d.found}`);
    }
  }
  return lines.join('\n');
}

/** The whole report, as printed and as put in the docs. */
export function report(results) {
  const parts = Object.keys(results.runtimes).length ? [runTable(results)] : [];
  if (results.load) parts.push(loadTable(results.load));
  const ex = examples(results);
  if (ex) parts.push(`Discrepancies, the first 3 of each invariant and runtime (all of them in the JSON results):\n\n${ex}`);
  if (results.errors.length) parts.push(`Errors (the run itself broke):\n\n${results.errors.map((e) => `- ${e.split('\n')[0]}`).join('\n')}`);
  return parts.join('\n\n');
}
