// Random faults ("chaos") per scenario: which domain requests get a fault, and which one; and which
// ones fall in the long tail of latency. Each seeded draw is a pure function of (seed, service, nth) so
// that a run with the same seed and the same arrival order per service gets the same faults and the
// same slow requests (the tail's exact spread: of (seed, service) for its phase, then of nth); see
// "Chaos" and "Long tail" in mock/README.md.

/**
 * The kinds a chaos config can pick, in the order picks are made and configs are read back.
 * (Integer-like keys come first in a JS object whatever the insertion order, so the statuses lead.)
 */
export const CHAOS_KINDS = Object.freeze([
  '429', '500', '503', 'reset', 'reset-mid-body', 'lose-reply', 'hang', 'slow-body', 'decline', 'reject',
]);

// Kinds that only make sense on one endpoint: they shape that endpoint's normal reply.
const ONLY_ON = {
  decline: { service: 'payment', method: 'POST', path: '/authorizations' },
  reject: { service: 'fraud', method: 'POST', path: '/checks' },
};

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text`. */
export function fnv1a32(text) {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A number in [0, 1) fixed by (seed, service, nth, salt): FNV-1a of "seed:service:nth:salt" / 2^32. */
export function chaosDraw(seed, service, nth, salt) {
  return fnv1a32(`${seed}:${service}:${nth}:${salt}`) / 2 ** 32;
}

/** Whether a chaos kind can apply to a request (decline and reject only to their one endpoint). */
export function chaosKindApplies(kind, { service, method, path }) {
  const only = ONLY_ON[kind];
  return !only || (only.service === service && only.method === method && only.path === path);
}

/** The fault a kind stands for, in the normalized form an explicit fault of that kind has. */
function faultOf(kind, chaos) {
  switch (kind) {
    case '429': return { status: 429 };
    case '500': return { status: 500 };
    case '503': return { status: 503, retryAfter: chaos.retryAfter };
    case 'slow-body': return { type: 'slow-body', ms: chaos.slowBodyMs };
    default: return kind;
  }
}

/**
 * The chaos fault for request `nth` to `service` (method and path as routed), or undefined.
 * Faulted when draw("fault") < rate; then the kind is picked by weight among the kinds that apply,
 * in CHAOS_KINDS order: the first whose running total of weights exceeds draw("kind") × total.
 */
export function pickChaos(chaos, { service, nth, method, path }) {
  if (!(chaosDraw(chaos.seed, service, nth, 'fault') < chaos.rate)) return undefined;
  const kinds = CHAOS_KINDS.filter((k) => chaos.kinds[k] !== undefined && chaosKindApplies(k, { service, method, path }));
  if (kinds.length === 0) return undefined; // e.g. only "decline", and this is not POST /authorizations
  const total = kinds.reduce((sum, k) => sum + chaos.kinds[k], 0);
  const x = chaosDraw(chaos.seed, service, nth, 'kind') * total;
  let upTo = 0;
  for (const k of kinds) {
    upTo += chaos.kinds[k];
    if (x < upTo) return faultOf(k, chaos);
  }
  return faultOf(kinds.at(-1), chaos); // only reached through rounding of the running total
}

/**
 * The long-tail draw of request `nth` to `service` under the random spread: a number in [0, 1), in the
 * tail when below the share. With a seed it is chaosDraw(seed, service, nth, "tail"); without one,
 * Math.random().
 */
export function tailDraw(tail, { service, nth }) {
  return tail.seed === undefined ? Math.random() : chaosDraw(tail.seed, service, nth, 'tail');
}

/**
 * The phase in [0, 1) of a service's exact spread: where in its first 1/share requests the first slow
 * one falls. With a seed it is chaosDraw(seed, service, "phase", "tail"); without one, Math.random(),
 * drawn once per service each time the scenario's config is set (the store keeps it).
 */
export function tailPhase(tail, service) {
  return tail.seed === undefined ? Math.random() : chaosDraw(tail.seed, service, 'phase', 'tail');
}

/**
 * Whether request `nth` (from 1) is in the tail under the exact spread of `share` with `phase`: whether
 * floor(nth × share + phase) steps up from request nth - 1. The steps telescope, so any run of n
 * consecutive requests holds floor(n × share) or ceil(n × share) slow ones, and exactly n × share when
 * that is a whole number: one in every 20 for a share of 5%, however the window is placed.
 */
export function inExactTail(share, phase, nth) {
  return Math.floor(nth * share + phase) > Math.floor((nth - 1) * share + phase);
}
