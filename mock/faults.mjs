// Transport faults: replies that replace a domain endpoint's whole reply (see "Faults" in mock/README.md).
// Which request gets which fault is decided in store.mjs; the HTTP primitives are the Exchange's.

import { faultType } from './store.mjs';

const JSON_TYPE = 'application/json; charset=utf-8';
/** How many pieces a slow body is written in. */
export const SLOW_BODY_PIECES = 10;

/** A small valid JSON document (about 600 bytes) naming the fault, for bodies that are cut or dribbled. */
export function faultBody(type, service) {
  const items = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `item-${i + 1}` }));
  return Buffer.from(JSON.stringify({ fault: type, service, items }));
}

/** Split `buf` into `n` pieces of nearly equal size (never empty ones). */
export function splitBuffer(buf, n) {
  const count = Math.max(1, Math.min(n, buf.length));
  return Array.from({ length: count }, (_, i) => buf.subarray(
    Math.floor((i * buf.length) / count), Math.floor(((i + 1) * buf.length) / count),
  ));
}

// A huge body is {"fault":"huge-body","pad":["","xx…x","xx…x",…]}: exactly mb MiB, written from
// buffers built once and shared by every request, so a 64 MiB reply allocates nothing per request.
const PIECE = 64 * 1024;
const HUGE_HEAD = Buffer.from('{"fault":"huge-body","pad":[""');
const HUGE_TAIL = Buffer.from(']}');
let hugePieces = null;

function entry(bytes) {
  return `,"${'x'.repeat(bytes - 3)}"`;
}

function buildHugePieces() {
  // 64 entries of 1 KiB each; the last piece is shortened so that head + pieces + tail add up.
  const full = Buffer.from(entry(1024).repeat(PIECE / 1024));
  const lastBytes = PIECE - HUGE_HEAD.length - HUGE_TAIL.length;
  const last = Buffer.concat([Buffer.from(entry(1024).repeat(PIECE / 1024 - 1) + entry(lastBytes - (PIECE - 1024))), HUGE_TAIL]);
  return { full, last };
}

/** The pieces of a huge-body reply of `mb` MiB (the array holds references to shared buffers). */
export function hugeBodyPieces(mb) {
  hugePieces ??= buildHugePieces();
  const count = mb * (1024 * 1024 / PIECE);
  return [HUGE_HEAD, ...Array(count - 1).fill(hugePieces.full), hugePieces.last];
}

/** Where a redirect fault sends the client: the lab echo of another service, on that service's own port. */
export function redirectLocation(services, scenario, to) {
  return `${services[to]}${scenario === 'default' ? '' : `/s/${scenario}`}/lab/echo`;
}

/** Reply to `ex` as the transport fault `fault` says. Called after the latency, before body validation. */
export function applyTransportFault(rt, ex, { fault, scenario, service }) {
  const type = faultType(fault);
  switch (type) {
    case 'hang': return ex.hang();
    case 'reset': return ex.reset();
    case 'reset-mid-body': return ex.cutMidBody(JSON_TYPE, faultBody(type, service));
    case 'not-json': return ex.reply(200, { text: 'not json', contentType: 'text/plain; charset=utf-8' });
    case 'empty': return ex.reply(200, { text: '', contentType: JSON_TYPE });
    case 'slow-body':
      return ex.stream(200, JSON_TYPE, splitBuffer(faultBody(type, service), SLOW_BODY_PIECES), { gapMs: fault.ms / SLOW_BODY_PIECES });
    case 'huge-body': return ex.stream(200, JSON_TYPE, hugeBodyPieces(fault.mb));
    case 'redirect': {
      const location = redirectLocation(rt.info.services, scenario, fault.to);
      return ex.reply(fault.status, { json: { redirect: location }, headers: { Location: location } });
    }
    case 'status': {
      const headers = fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {};
      return ex.replyError(fault.status, `injected fault: ${service} answers HTTP ${fault.status}`, {}, headers);
    }
    default:
      throw new Error(`no transport fault "${type}"`);
  }
}
