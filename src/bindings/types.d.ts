/** One call of a plan. Strings may hold `{name.path}` placeholders. */
export interface PlanCall {
  /** Absolute http(s) URL, or a path starting with `/`. Substituted values are percent-encoded. */
  url: string;
  /** Defaults to "GET". */
  method?: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Header values may hold placeholders. */
  headers?: Record<string, string>;
  /** Sent as JSON. A string that is exactly one placeholder keeps the value's JSON type. */
  body?: unknown;
  /** Calls to wait for besides those the templates name. */
  after?: string[];
  /** This call's time limit in ms, overriding `options.timeoutMs`. */
  timeoutMs?: number;
  /** Its failure does not fail the composition; its dependents are skipped (default false). */
  optional?: boolean;
  /** Stands in for the reply when the call fails, so its dependents still run. Implies `optional`. */
  fallback?: unknown;
  /** The write that undoes this one when a later required call fails. May read this call's reply. */
  compensate?: Compensate;
  /**
   * Runs the call only when this holds, once the calls it reads have replied. When false
   * it sends nothing and is "not-needed": its `fallback`, if any, feeds its dependents;
   * without one, calls that read its reply are "not-needed" too. Never fails the composition.
   */
  when?: Condition;
  /**
   * Makes this a fan-out call: one request per element of the array this one whole
   * placeholder names (in `input` or an earlier reply), such as `"{cart.items}"`. The
   * element is `{item}` (or the name `as` gives) and its position `{index}`, in `url`,
   * `headers`, `body` and `compensate`. The call's reply is the array of the items'
   * replies, in list order; its record holds one record per item (`items`).
   */
  forEach?: string;
  /** The element's name in a fan-out call's templates (default "item"). */
  as?: string;
  /** How many of a fan-out call's items may be in flight at once (default: no limit of its own). */
  concurrency?: number;
  /**
   * Marks a POST that computes without changing anything (a quote): it is retried and
   * aborted as a read, gets no `Idempotency-Key`, and may declare `cache`. Never with `compensate`.
   */
  safe?: boolean;
  /**
   * How long a composer (`createComposer`) may reuse this call's reply: fresh for `maxAgeMs`
   * (used without a request), then stale but used for `staleWhileRevalidateMs` more while it
   * is refreshed in the background. GET, HEAD and `safe` calls only. Ignored outside a composer.
   */
  cache?: CachePolicy;
  /** When a composer sends this GET or HEAD a second time (see `ComposerOptions.hedge`). */
  hedge?: HedgePolicy;
}

/** How long a reply may be reused. */
export interface CachePolicy {
  maxAgeMs: number;
  staleWhileRevalidateMs?: number;
}

/**
 * A hedged read: when it has not answered after `afterMs`, one identical second request goes
 * (past the HTTP cache) and the first good reply wins. At most `maxExtraPercent` (default 10)
 * of the composer's reads over the last 10 s are hedges.
 */
export interface HedgePolicy {
  afterMs: number;
  maxExtraPercent?: number;
}

/**
 * A `when` condition. An operand is a JSON literal or a placeholder (a string that is one
 * whole placeholder keeps its JSON type); a path a reply does not have reads as null.
 * `lt`, `lte`, `gt`, `gte` compare numbers (big integers exactly); `equals` strings,
 * numbers, booleans and null. Each comparison and `in` takes two operands: an array
 * literal of any length type-checks (as a plan written inline infers one), and
 * `validatePlan` refuses any other count.
 */
export type Condition =
  | { equals: readonly unknown[] }
  | { notEquals: readonly unknown[] }
  | { lt: readonly unknown[] }
  | { lte: readonly unknown[] }
  | { gt: readonly unknown[] }
  | { gte: readonly unknown[] }
  /** The value, then the list: `{"in": ["{customer.country}", ["DE", "FR"]]}`. */
  | { in: readonly unknown[] }
  /** One placeholder: its path is present and not null. */
  | { exists: string }
  | { and: readonly Condition[] }
  | { or: readonly Condition[] }
  | { not: Condition };

/** How to undo a completed write: a templated request (`method` is required). */
export interface Compensate {
  method: "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
}

/** A plan: named calls; each waits for the calls its templates name. */
export interface Plan {
  calls: Record<string, PlanCall>;
}

/** `"eager"`: each call starts when its dependencies end (default). `"stages"`: a barrier after each level. `"sequential"`: one at a time. */
export type Schedule = "eager" | "stages" | "sequential";

/** Options of `compose()`. */
export interface ComposeOptions {
  schedule?: Schedule;
  /** Aborting it aborts every in-flight request and rejects with code "ABORTED". */
  signal?: AbortSignal;
  /** Replaces the global fetch (in Node, its http module): called as fetch(url, init). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Each call's time limit in ms (default 10000); a call over it is aborted: code "TIMEOUT". */
  timeoutMs?: number;
  /** The whole composition's time limit in ms; it also bounds every call. Code "TIMEOUT". */
  deadlineMs?: number;
  /** Makes each POST's Idempotency-Key `<operationId>:<call>`, so a double submit reuses the keys. */
  operationId?: string;
  /** Attempts per call, the first included (default 3, at most 10). */
  maxAttempts?: number;
  /**
   * The most bytes one reply body may have (default 5 MiB = 5242880). It is checked while
   * the body streams in: a reply over it is aborted there and fails with "BAD_RESPONSE".
   */
  maxResponseBytes?: number;
  /**
   * The only origins requests may go to, such as ["https://api.example"]. A plan (or an
   * order service) naming another is refused before anything is sent. A URL starting
   * with `/` is on the page's origin (and refused where there is no page, as in Node).
   */
  allowedOrigins?: string[];
  /**
   * fetch's `credentials` per origin, such as { "https://api.example": "include" }.
   * Every other request is sent with "same-origin".
   */
  credentials?: Record<string, "include" | "same-origin" | "omit">;
  /** The most calls a plan may have (default 1000). Not an option of `composeOrder()`. */
  maxCalls?: number;
  /**
   * Identical GETs (and HEADs) of one composition, same URL, headers and time limit once
   * filled in, are sent once and shared (default true); each sharer's record names the
   * call it shared from in `sharedFrom`. Writes are never shared.
   */
  dedupe?: boolean;
  /**
   * The most requests on the wire at once, a whole number from 1 (default: no limit).
   * The rest wait, first come first served; `queuedMs` in the records says how long.
   */
  maxConcurrency?: number;
  /** The most requests on the wire at once per origin, a whole number from 1 (default: no limit). */
  maxConcurrencyPerOrigin?: number;
  /**
   * Called synchronously with each progress event. Every call gets exactly one terminal
   * event ("end", "skip" or "cancel") once the composition runs, so terminal events / calls
   * is a progress fraction. What it throws (or an async callback rejects with) is caught:
   * the composition carries on, and the first failure is reported once on the console.
   */
  onEvent?: (event: ComposeEvent) => void | Promise<void>;
  /**
   * Adds User Timing measures when the composition settles: "compose:<call>" per call
   * that started, "compose:<call>.compensate" per compensation sent, and "compose" for the
   * whole composition, each on a DevTools track of its own composition (default false).
   */
  timings?: boolean;
  /**
   * The W3C `traceparent` header: true (default) sends it to the page's own origin and
   * to every origin of `allowedOrigins`; an array sends it to exactly those origins;
   * false sends it nowhere (and `traceId` is null). Cross-origin services must allow it
   * (`Access-Control-Allow-Headers: traceparent`).
   */
  traceContext?: boolean | string[];
}

/**
 * A progress event of `options.onEvent`. `t`: ms since the composition started, on the
 * clock of `CallRecord.startMs`. `item`: for an item of a fan-out call, its position in the
 * call's list; each item has its own events, and the call its one terminal event after them.
 */
export type ComposeEvent =
  /** A request was sent: `attempt` is 1 for the first, 2 for the first retry, ...; 0, with `cached: true` and the reply's age `ageMs`, when a composer's cache serves the call, which sends nothing. */
  | { type: "start"; call: string; item?: number; t: number; attempt: number; cached?: true; ageMs?: number }
  /** Attempt `attempt` failed (`status`, or null without an HTTP answer); the next one starts after `waitMs`. */
  | { type: "retry"; call: string; item?: number; t: number; attempt: number; status: number | null; reason: "HTTP_STATUS" | "NETWORK" | "TIMEOUT"; waitMs: number }
  /** The call settled by itself. `attempt`: requests sent (0 if its request could not be built). */
  | { type: "end"; call: string; item?: number; t: number; attempt: number; status: number | null; state: "ok" | "failed" | "unknown" }
  /** A call it needs failed: it was never sent. */
  | { type: "skip"; call: string; t: number; state: "skipped" }
  /** Its `when` was false, or it reads a call that was not needed: it was never sent. */
  | { type: "skip"; call: string; t: number; state: "not-needed"; reason: "not-needed" }
  /** The abort, the deadline or another call's failure stopped it, in flight, waiting to retry, or before it started. */
  | { type: "cancel"; call: string; item?: number; t: number; attempt: number; status: number | null; state: "cancelled" | "not-sent" | "unknown" | "failed" }
  /**
   * A request of `call` changed the state of its origin's circuit breaker, in a composer made
   * with a `breaker` option: `retryAt` (ms since the epoch, as `Date.now()`) is when an open
   * circuit lets a probe through, 0 when closed.
   */
  | { type: "breaker"; call: string; item?: number; t: number; origin: string; state: CircuitState; retryAt: number }
  /** The compensation of `call`'s write ran (or could not): its outcome, after every call's terminal event. */
  | { type: "compensate"; call: string; item?: number; t: number; attempt: number; status: number | null; state: CompensationState };

/** One of the event types. */
export type ComposeEventType = ComposeEvent["type"];

/** What happened to one call. Times are ms from the composition's start (performance.now()). */
export interface CallRecord {
  state: CallState;
  status: number | null;
  attempts: number;
  startMs: number | null;
  endMs: number | null;
  /** Why a `failed` or `unknown` call failed. */
  error: { code: ComposeErrorCode; message: string } | null;
  /**
   * ms the call waited for a free slot under `maxConcurrency` / `maxConcurrencyPerOrigin`,
   * its retries included; 0 when it never waited. Counts against `deadlineMs`, not `timeoutMs`.
   */
  queuedMs: number;
  /**
   * The call whose identical read this one shared instead of sending its own (`attempts`
   * is then 0), or null.
   */
  sharedFrom: string | null;
  /**
   * true when the service replayed a stored reply for the request's `Idempotency-Key`
   * (`Idempotent-Replayed: true`): an earlier request with the same key made the write,
   * so this composition never undoes it.
   */
  replayed: boolean;
  /**
   * true when its plan `fallback` stood in for the reply: it failed (an optional call), or
   * it was not needed. The call is then in the result's `fellBack`.
   */
  fellBack: boolean;
  /**
   * A fan-out call's items' records, one per element of its list, in list order (empty
   * when the list was never read); absent on any other call. The call's own record sums
   * them up: "ok" when every item is, otherwise its items' worst state ("failed", then
   * "unknown", "cancelled", "not-sent"); `attempts` all their requests; `status` null.
   */
  items?: CallRecord[];
  /** true when a composer's cache served the reply (then `attempts` is 0). */
  cached: boolean;
  /** The age of the reply the cache served, in ms; null when the call sent its own. */
  ageMs: number | null;
  /** true when a second request hedged its read (a composer's `hedge`). */
  hedged: boolean;
  /** true when the hedge's reply was the one used. */
  hedgeWon: boolean;
}

/** What became of the compensation of one completed write. */
export interface CompensationRecord {
  /** The call whose write it undid. */
  call: string;
  /** For a fan-out call, the position in its list of the item whose write it undid; else null. */
  item: number | null;
  /**
   * "not-run": not attempted; `reason` says why (aborted, its outcome was unknown, a write
   * that depends on it is unknown, or an earlier submission made it: its reply was replayed).
   */
  state: CompensationState;
  status: number | null;
  attempts: number;
  startMs: number | null;
  endMs: number | null;
  error: { code: ComposeErrorCode; message: string } | null;
  reason: string | null;
}

/** What `compose()` resolves to. */
export interface ComposeResult {
  /** Each successful call's parsed JSON reply. */
  data: Record<string, unknown>;
  /**
   * Every call's record. Built the first time it is read (a composition whose caller reads
   * only `data` does not pay for it), then an ordinary property holding the same object.
   */
  calls: Record<string, CallRecord>;
  /** The topological levels, as call names. */
  stages: string[][];
  /** The optional calls that failed and whose `fallback` stood in for the reply. */
  fellBack: string[];
  /** The trace id every `traceparent` of this composition carried (32 hex digits), or null with `traceContext: false`. */
  traceId: string | null;
}

/**
 * A call's value the moment it is known: a part of `composeStream()` and
 * `composeOrderStream()`, one per call whose value the result holds, in that order.
 */
export interface CallPart<Call extends string = string> {
  type: "call";
  call: Call;
  /** Its reply, as the result's `data[call]` will hold it: its `fallback` when `fellBack`. */
  data: unknown;
  /** Its record, final, as the result's `calls[call]` will hold it. */
  record: CallRecord;
  /** true when its `fallback` stood in for the reply (as `record.fellBack` says). */
  fellBack: boolean;
}

/** The last part: what `compose()` or `composeOrder()` would resolve to. */
export interface ResultPart<Result> {
  type: "result";
  result: Result;
}

/** What `composeStream()` yields. */
export type ComposePart = CallPart | ResultPart<ComposeResult>;

/** What `composeOrderStream()` yields: the services' replies, then the order. */
export type OrderPart = CallPart<ServiceName> | ResultPart<OrderResult>;

/**
 * What `composeStream()` and `composeOrderStream()` return: the parts, for `for await`.
 * It is its own iterator, as an async generator's object is: one composition, read once.
 * It throws the `ComposeError` `compose()` would reject with, after the parts before it.
 */
export interface PartStream<Part> extends AsyncIterator<Part, undefined> {
  next(): Promise<IteratorResult<Part, undefined>>;
  /**
   * Leaves early (what `break` does): aborts the composition as its signal would, and
   * resolves once it has wound down (its compensations included).
   */
  return(): Promise<IteratorReturnResult<undefined>>;
  [Symbol.asyncIterator](): PartStream<Part>;
}

/** What `validatePlan()` returns. */
export interface PlanSummary {
  stages: string[][];
}

/** The order services. */
export type ServiceName = "customer" | "cart" | "inventory" | "pricing" | "shipping" | "fraud" | "tax" | "payment" | "order" | "notification";

/** The "create order" request. */
export interface OrderRequest {
  customerId: string;
  cartId: string;
  paymentMethodId: string;
  /** Defaults to "standard". */
  shippingOption?: "standard" | "express";
}

/** Options of `composeOrder()`: where the services are, plus the `compose()` options. */
export interface OrderOptions extends Omit<ComposeOptions, "maxCalls"> {
  /** One base URL per service; a path prefix is kept. */
  services?: Partial<Record<ServiceName, string>>;
  /** A gateway: a service without its own entry uses `${baseUrl}/${serviceName}`. */
  baseUrl?: string;
}

/** A customer as the customer service returns it. */
export interface Customer {
  id: string;
  email: string;
  tier: string;
  address: Record<string, unknown>;
}

/** A cart line. */
export interface CartItem {
  sku: string;
  quantity: number;
}

/** What `composeOrder()` resolves to. Money is in integer cents. */
export interface OrderResult {
  orderId: string;
  status: string;
  /** subtotal - discount + shipping.cost + tax. */
  total: number;
  currency: string;
  customer: Customer;
  items: CartItem[];
  reservationId: string;
  authorizationId: string;
  shipping: { cost: number; carrier: string };
  tax: number;
  /**
   * The confirmation. Not sent: `state` says how the call ended ("unknown": it was sent and
   * stopped by the deadline or the abort, which came after the order was placed).
   */
  notification:
    | { sent: true; notificationId?: string }
    | { sent: false; state: Exclude<CallState, "ok" | "not-needed">; error: string };
  calls: Record<ServiceName, CallRecord>;
  /** The trace id every `traceparent` of this order carried, or null with `traceContext: false`. */
  traceId: string | null;
}

/** The error every rejection carries. `calls` tells which calls (and so which writes) ran. */
export class ComposeError extends Error {
  readonly name: "ComposeError";
  readonly code: ComposeErrorCode;
  readonly call: string | null;
  /** For a fan-out call, the position in its list of the item that failed; else null. */
  readonly item: number | null;
  readonly status: number | null;
  readonly calls: Record<string, CallRecord>;
  /** The completed writes the failure left to undo, in the order they were undone. */
  readonly compensations: CompensationRecord[];
  /** The composition's trace id, to find it in the backend's traces; null when nothing was sent or `traceContext` is false. */
  readonly traceId: string | null;
  /**
   * How to try again. "same-operation": a write's outcome is unknown, or a write it made is
   * still in effect; submit again under the same `operationId`, which gets what exists back
   * by key. "new-operation": nothing it made remains (all undone, or nothing made); a new
   * attempt (another card, say) needs a new `operationId`, or it would replay the old outcome.
   */
  readonly resubmit: "same-operation" | "new-operation";
  /** For `CIRCUIT_OPEN`: the origin whose circuit breaker is open; else null. */
  readonly origin: string | null;
  /** For `CIRCUIT_OPEN`: when the origin is tried again, in ms since the epoch (as `Date.now()`); else null. */
  readonly retryAt: number | null;
}

/**
 * The options of `createComposer`: every option of `compose()` and `composeOrder()`, shared
 * by the composer's compositions (a call's own options win), and the composer's own.
 */
export interface ComposerOptions extends ComposeOptions, Omit<OrderOptions, keyof ComposeOptions> {
  /** The most replies the cache holds (default 500), the least recently used evicted first. */
  cacheEntries?: number;
  /** The most bytes of reply bodies the cache holds (default 5 MiB). */
  cacheBytes?: number;
  /**
   * Circuit breakers, one per origin: after `failures` consecutive failures (network errors,
   * timeouts and 5xx; not 4xx) within `windowMs`, calls to the origin fail at once with
   * `CIRCUIT_OPEN` for `cooldownMs`; then one probe request is let through, and its success
   * closes the circuit. Defaults: 5, 10000, 30000. Without this option no circuit opens.
   */
  breaker?: { failures?: number; windowMs?: number; cooldownMs?: number };
  /** Hedge every GET and HEAD whose plan call has no `hedge` of its own. */
  hedge?: HedgePolicy;
  /**
   * The order flow's cacheable calls and their ages. By default customer, cart, pricing,
   * shipping and tax for 30 s; `false` takes one out. The others change something and are
   * never cached. `false`: none.
   */
  cache?: false | Partial<Record<"customer" | "cart" | "pricing" | "shipping" | "tax", CachePolicy | false>>;
}

/**
 * Makes a composer: `compose`, `composeOrder` and their streams sharing its options (each call's
 * own options win), a reply cache and circuit breakers; with `prefetch` and `prefetchOrder` to
 * fill the cache before the user asks. Throws a `ComposeError` (`INVALID_INPUT`) naming a bad option.
 */
export function createComposer(options?: ComposerOptions): Composer;

/** A call's options through a composer: the module function's, and a `hedge` of its own. */
export type ComposerCallOptions<Options> = Options & { hedge?: HedgePolicy };

/** What `createComposer` returns. */
export interface Composer {
  /** `compose()` through this composer: its options under `options`, its cache and its breakers. */
  compose(plan: Plan, input: unknown, options?: ComposerCallOptions<ComposeOptions> | null): Promise<ComposeResult>;
  /** `composeOrder()` through this composer. */
  composeOrder(request: OrderRequest, options?: ComposerCallOptions<OrderOptions> | null): Promise<OrderResult>;
  /** `composeStream()` through this composer. */
  composeStream(plan: Plan, input: unknown, options?: ComposerCallOptions<ComposeOptions> | null): PartStream<ComposePart>;
  /** `composeOrderStream()` through this composer. */
  composeOrderStream(request: OrderRequest, options?: ComposerCallOptions<OrderOptions> | null): PartStream<OrderPart>;
  /**
   * Runs only the calls of `plan` with a `cache`, and the reads they need, to fill the cache;
   * never a write. Resolves as `compose()` does, the other calls "not-needed".
   */
  prefetch(plan: Plan, input: unknown, options?: ComposerCallOptions<ComposeOptions> | null): Promise<ComposeResult>;
  /**
   * Runs the order flow's cacheable calls for `request` (customer, cart and the quotes, by
   * default), so that `composeOrder(request)` then makes only the others. Never sends a write.
   */
  prefetchOrder(request: OrderRequest, options?: ComposerCallOptions<OrderOptions> | null): Promise<PrefetchResult>;
  /** Drops the cache entries of the call named `which`, or those `which` picks; returns how many. */
  invalidate(which: string | ((entry: CacheEntry) => boolean)): number;
  /** Drops every cache entry; returns how many there were. */
  clear(): number;
  /** Each origin's circuit breaker; empty without a `breaker` option. */
  health(): Record<string, CircuitHealth>;
  /** Releases the composer's memory in the wasm instance at once (it is also released when collected). */
  free(): void;
}

/** A cache entry, as `Composer.invalidate`'s predicate sees it. */
export interface CacheEntry {
  call: string;
  method: string;
  url: string;
}

/** One origin's circuit breaker, as `Composer.health()` reports it. */
export interface CircuitHealth {
  state: CircuitState;
  /** The failures of the current run, reset by a success. */
  failures: number;
  /** When an open circuit lets a probe through, in ms since the epoch; null when closed. */
  retryAt: number | null;
}

/** What `prefetchOrder` resolves: every call's record (those not prefetched `not-needed`). */
export interface PrefetchResult {
  calls: Record<ServiceName, CallRecord>;
  traceId: string | null;
}
