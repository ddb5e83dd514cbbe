// The "create order" domain: one route table per service. Money is in integer cents.
//
// A handler gets ctx = { state, params, body, query, fault, faultApplied(), location(path) } and returns
// { status, body, headers?, effect? }. It may throw HttpError (e.g. a 400 from body validation).
// effect says what the request changed in the scenario's state, when it changed something:
// { created: id }, { released: id }, { voided: id } or { cancelled: id }. It goes in the log entry, and
// a created id is remembered with the request that created it (so a chaos run can be judged).

export class HttpError extends Error {
  /** extra: fields added to the JSON error body (e.g. { field }); headers: extra reply headers. */
  constructor(status, message, extra = {}, headers = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
    this.headers = headers;
  }
}

// ---------------------------------------------------------------- body validation

const TYPE_CHECKS = {
  string: (v) => typeof v === 'string' && v.length > 0,
  integer: (v) => Number.isSafeInteger(v),
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  array: (v) => Array.isArray(v),
};

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v === '') return 'empty string';
  if (typeof v === 'number' && !Number.isInteger(v)) return 'non-integer number';
  return typeof v;
}

function fieldError(field, detail) {
  // Always starts with "<field> missing" so clients/tests can match on that.
  return new HttpError(400, detail ? `${field} missing (${detail})` : `${field} missing`, { field });
}

/**
 * Check the body has each field with the right type.
 * spec: [[field, type]] with type one of string|integer|object|array|items, or an array of allowed values.
 */
function requireFields(body, spec) {
  if (body === null || body === undefined) body = {};
  if (!TYPE_CHECKS.object(body)) throw new HttpError(400, 'body must be a JSON object', { field: 'body' });
  for (const [field, type] of spec) {
    const v = body[field];
    if (v === undefined) throw fieldError(field);
    if (Array.isArray(type)) {
      if (!type.includes(v)) throw fieldError(field, `expected one of ${type.map((t) => JSON.stringify(t)).join(', ')}, got ${JSON.stringify(v)}`);
    } else if (type === 'items') {
      if (!Array.isArray(v)) throw fieldError(field, `expected array, got ${describe(v)}`);
      v.forEach((item, i) => {
        if (!TYPE_CHECKS.object(item)) throw fieldError(`${field}[${i}]`, `expected object, got ${describe(item)}`);
        if (!TYPE_CHECKS.string(item.sku)) {
          throw fieldError(`${field}[${i}].sku`, item.sku === undefined ? undefined : `expected string, got ${describe(item.sku)}`);
        }
        if (!(Number.isSafeInteger(item.quantity) && item.quantity > 0)) {
          throw fieldError(`${field}[${i}].quantity`, item.quantity === undefined ? undefined : 'expected positive integer');
        }
      });
    } else if (!TYPE_CHECKS[type](v)) {
      throw fieldError(field, `expected ${type === 'string' ? 'non-empty string' : type}, got ${describe(v)}`);
    }
  }
  return body;
}

// ---------------------------------------------------------------- domain data

export const UNIT_PRICES = Object.freeze({ 'SKU-1': 1999, 'SKU-2': 4500 });
export const OTHER_SKU_PRICE = 1000;
export const GOLD_DISCOUNT = 0.10;
export const TAX_RATE = 0.0825;
export const SHIPPING = Object.freeze({
  standard: { cost: 599, carrier: 'Parcelway' },
  express: { cost: 1499, carrier: 'Swiftline' },
});
export const MAX_MANY_ITEMS = 10_000;

const ADDRESS = Object.freeze({ line1: '1 Main St', city: 'Springfield', postcode: '12345', country: 'US' });

function notFound(what, id) {
  return new HttpError(404, `${what} ${id} not found`);
}

function nextId(state, kind) {
  state.counters[kind] += 1;
  return `${kind}-${state.counters[kind]}`;
}

// ---------------------------------------------------------------- handlers

function getCustomer({ params: [id] }) {
  if (id.startsWith('missing')) throw notFound('customer', id);
  return {
    status: 200,
    body: { id, email: `${id}@example.test`, tier: id.includes('gold') ? 'gold' : 'standard', address: { ...ADDRESS } },
  };
}

function getCart({ params: [id] }) {
  if (id.startsWith('missing')) throw notFound('cart', id);
  let items;
  const many = /^many-(\d+)/.exec(id);
  if (id.startsWith('empty')) {
    items = [];
  } else if (many) {
    const n = Number(many[1]);
    if (n > MAX_MANY_ITEMS) throw new HttpError(400, `cart ${id}: at most ${MAX_MANY_ITEMS} items`);
    items = Array.from({ length: n }, (_, i) => ({ sku: `SKU-${i + 1}`, quantity: 1 }));
  } else {
    items = [{ sku: 'SKU-1', quantity: 2 }, { sku: 'SKU-2', quantity: 1 }];
  }
  return { status: 200, body: { id, items } };
}

function createReservation({ state, body, location }) {
  requireFields(body, [['cartId', 'string'], ['items', 'items']]);
  const reservationId = nextId(state, 'res');
  state.reservations.set(reservationId, { reservationId, cartId: body.cartId, items: body.items, released: false });
  return {
    status: 201,
    body: { reservationId, cartId: body.cartId },
    headers: { Location: location(`/reservations/${reservationId}`) },
    effect: { created: reservationId },
  };
}

function getReservation({ state, params: [id] }) {
  const r = state.reservations.get(id);
  if (!r) throw notFound('reservation', id);
  return { status: 200, body: r };
}

function releaseReservation({ state, params: [id] }) {
  const r = state.reservations.get(id);
  if (!r) throw notFound('reservation', id);
  // Releasing twice is fine (idempotent), and only the first release changes anything.
  const effect = r.released ? undefined : { released: id };
  r.released = true;
  return { status: 200, body: { released: true }, effect };
}

function priceQuote({ body }) {
  requireFields(body, [['items', 'items'], ['tier', 'string']]);
  const subtotal = body.items.reduce((sum, { sku, quantity }) => sum + (UNIT_PRICES[sku] ?? OTHER_SKU_PRICE) * quantity, 0);
  const discount = body.tier === 'gold' ? Math.round(subtotal * GOLD_DISCOUNT) : 0;
  return { status: 200, body: { currency: 'USD', subtotal, discount } };
}

function shippingQuote({ body }) {
  requireFields(body, [['items', 'items'], ['address', 'object'], ['option', ['standard', 'express']]]);
  return { status: 200, body: { ...SHIPPING[body.option] } };
}

function fraudCheck({ body, fault, faultApplied }) {
  requireFields(body, [['customerId', 'string'], ['email', 'string'], ['cartId', 'string']]);
  let decision = 'approve';
  if (fault === 'reject' || fault === 'review') {
    decision = fault;
    faultApplied();
  }
  return { status: 200, body: { decision } };
}

function taxQuote({ body }) {
  requireFields(body, [['amount', 'integer'], ['address', 'object']]);
  return { status: 200, body: { amount: Math.round(body.amount * TAX_RATE) } };
}

function authorize({ state, body, fault, faultApplied, location }) {
  requireFields(body, [['customerId', 'string'], ['paymentMethodId', 'string'], ['amount', 'integer'], ['currency', 'string']]);
  let declined = body.paymentMethodId === 'pm_declined';
  if (fault === 'decline') {
    declined = true;
    faultApplied();
  }
  const authorizationId = nextId(state, 'auth');
  const status = declined ? 'declined' : 'authorized';
  state.authorizations.set(authorizationId, {
    authorizationId, status, customerId: body.customerId, paymentMethodId: body.paymentMethodId,
    amount: body.amount, currency: body.currency,
  });
  // A declined authorization exists too (GET shows it), so it is created all the same.
  const effect = { created: authorizationId };
  if (declined) return { status: 200, body: { authorizationId, status }, effect };
  return {
    status: 201,
    body: { authorizationId, status },
    headers: { Location: location(`/authorizations/${authorizationId}`) },
    effect,
  };
}

function getAuthorization({ state, params: [id] }) {
  const a = state.authorizations.get(id);
  if (!a) throw notFound('authorization', id);
  return { status: 200, body: a };
}

function voidAuthorization({ state, params: [id] }) {
  const a = state.authorizations.get(id);
  if (!a) throw notFound('authorization', id);
  // Voiding twice is fine (idempotent), and only the first void changes anything.
  const effect = a.status === 'voided' ? undefined : { voided: id };
  a.status = 'voided';
  return { status: 200, body: { voided: true }, effect };
}

function conflict(field, message) {
  return new HttpError(409, message, { field });
}

/**
 * An order must stand on a reservation that is still held and an authorization that is still live,
 * as a real order service would check: so a client that compensated (released, voided) or got a
 * decline cannot still create the order, and a chaos run shows it if it tries.
 */
function checkOrderBacking(state, { reservationId, authorizationId }) {
  const r = state.reservations.get(reservationId);
  if (!r) throw conflict('reservationId', `reservation ${reservationId} does not exist`);
  if (r.released) throw conflict('reservationId', `reservation ${reservationId} is no longer held (released)`);
  const a = state.authorizations.get(authorizationId);
  if (!a) throw conflict('authorizationId', `authorization ${authorizationId} does not exist`);
  if (a.status !== 'authorized') throw conflict('authorizationId', `authorization ${authorizationId} is not live (${a.status})`);
}

function createOrder({ state, body, location }) {
  requireFields(body, [
    ['customerId', 'string'], ['cartId', 'string'], ['reservationId', 'string'],
    ['authorizationId', 'string'], ['total', 'integer'], ['currency', 'string'],
  ]);
  checkOrderBacking(state, body);
  const orderId = nextId(state, 'ord');
  const { customerId, cartId, reservationId, authorizationId, total, currency } = body;
  state.orders.set(orderId, {
    orderId, status: 'confirmed', customerId, cartId, reservationId, authorizationId, total, currency,
  });
  return {
    status: 201,
    body: { orderId, status: 'confirmed' },
    headers: { Location: location(`/orders/${orderId}`) },
    effect: { created: orderId },
  };
}

function listOrders({ state }) {
  return { status: 200, body: { orders: [...state.orders.values()] } };
}

function getOrder({ state, params: [id] }) {
  const o = state.orders.get(id);
  if (!o) throw notFound('order', id);
  return { status: 200, body: o };
}

function cancelOrder({ state, params: [id] }) {
  const o = state.orders.get(id);
  if (!o) throw notFound('order', id);
  const effect = o.status === 'cancelled' ? undefined : { cancelled: id };
  o.status = 'cancelled';
  return { status: 200, body: { orderId: id, status: 'cancelled' }, effect };
}

function notify({ state, body }) {
  requireFields(body, [['orderId', 'string'], ['email', 'string'], ['template', 'string']]);
  const notificationId = nextId(state, 'ntf');
  // The fields it was asked for only: a body's own "notificationId" must not overwrite the id.
  const { orderId, email, template } = body;
  state.notifications.set(notificationId, { notificationId, orderId, email, template });
  return { status: 202, body: { notificationId }, effect: { created: notificationId } };
}

// ---------------------------------------------------------------- routes

const SEG = '([^/]+)';

export const ROUTES = {
  customer: [['GET', `/customers/${SEG}`, getCustomer]],
  cart: [['GET', `/carts/${SEG}`, getCart]],
  inventory: [
    ['POST', '/reservations', createReservation],
    ['GET', `/reservations/${SEG}`, getReservation],
    ['DELETE', `/reservations/${SEG}`, releaseReservation],
  ],
  pricing: [['POST', '/quotes', priceQuote]],
  shipping: [['POST', '/quotes', shippingQuote]],
  fraud: [['POST', '/checks', fraudCheck]],
  tax: [['POST', '/quotes', taxQuote]],
  payment: [
    ['POST', '/authorizations', authorize],
    ['GET', `/authorizations/${SEG}`, getAuthorization],
    ['POST', `/authorizations/${SEG}/void`, voidAuthorization],
  ],
  order: [
    ['POST', '/orders', createOrder],
    ['GET', '/orders', listOrders],
    ['GET', `/orders/${SEG}`, getOrder],
    ['POST', `/orders/${SEG}/cancel`, cancelOrder],
  ],
  notification: [['POST', '/notifications', notify]],
};

const COMPILED = Object.fromEntries(
  Object.entries(ROUTES).map(([svc, list]) => [
    svc,
    list.map(([method, pattern, handler]) => ({ method, re: new RegExp(`^${pattern}$`), handler })),
  ]),
);

/**
 * Find the handler for (service, method, path).
 * Returns { handler, params } or throws HttpError 404 / 405 (with an Allow header).
 */
export function route(service, method, path) {
  const matches = [];
  for (const r of COMPILED[service]) {
    const m = r.re.exec(path);
    if (m) matches.push({ r, m });
  }
  if (matches.length === 0) throw new HttpError(404, `no route ${path} on the ${service} service`);
  const hit = matches.find(({ r }) => r.method === method);
  if (!hit) {
    const allow = [...new Set(matches.map(({ r }) => r.method))].join(', ');
    throw new HttpError(405, `method ${method} not allowed on ${path} (allowed: ${allow})`, {}, { Allow: allow });
  }
  let params;
  try {
    params = hit.m.slice(1).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in ${path}`);
  }
  return { handler: hit.r.handler, params };
}
