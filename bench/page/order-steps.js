// The create-order flow's calls written by hand, shared by the benchmark page (Chromium,
// bench/page/bench.js) and the Node benchmark (bench/node/order-js.mjs): one copy of what
// each call sends, which bench/run.mjs part A and bench/node/bff.mjs check against what
// composeOrder() sends, request by request, in the mock's log; and the order run eagerly on
// them (`orderEager`: Node's `js-eager`, and bench/ab-order.mjs's `by-hand`). No DOM: the
// platform's fetch and crypto only.

import { DEPENDS, SERVICES } from './contract.js';

/**
 * The order contract, one function per service, as a team writes it by hand: the same
 * requests and JSON bodies as composeOrder() (README.md), the same money rules (tax on
 * subtotal - discount; total = subtotal - discount + shipping.cost + tax.amount), the same
 * outcome rules (fraud must approve, payment must be authorized, a failed notification
 * does not fail the order). Each step takes the replies so far (`r`); `result` is what the
 * order comes to. `f` is the fetch to use.
 */
export function orderSteps(S, req, f = fetch) {
  async function get(url) {
    const res = await f(url);
    if (res.status < 200 || res.status > 299) throw new Error(`GET ${url}: HTTP ${res.status}`);
    return res.json();
  }
  // Like the composer, every write carries an Idempotency-Key, so it is safe to repeat; the
  // quotes (pricing, shipping, tax) change nothing, and the composer sends them without one
  // (safe POSTs, src/order/plan.json), so they go without one here too.
  async function post(url, body, { key = true } = {}) {
    const headers = { 'Content-Type': 'application/json' };
    if (key) headers['Idempotency-Key'] = crypto.randomUUID();
    const res = await f(url, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status < 200 || res.status > 299) throw new Error(`POST ${url}: HTTP ${res.status}`);
    return res.json();
  }
  const quote = (url, body) => post(url, body, { key: false });
  const total = (r) => r.pricing.subtotal - r.pricing.discount + r.shipping.cost + r.tax.amount;
  return {
    customer: () => get(`${S.customer}/customers/${encodeURIComponent(req.customerId)}`),
    cart: () => get(`${S.cart}/carts/${encodeURIComponent(req.cartId)}`),
    inventory: (r) => post(`${S.inventory}/reservations`, { cartId: req.cartId, items: r.cart.items }),
    pricing: (r) => quote(`${S.pricing}/quotes`, { items: r.cart.items, tier: r.customer.tier }),
    shipping: (r) => quote(`${S.shipping}/quotes`, {
      items: r.cart.items, address: r.customer.address, option: req.shippingOption ?? 'standard',
    }),
    fraud: async (r) => {
      const check = await post(`${S.fraud}/checks`, { customerId: req.customerId, email: r.customer.email, cartId: req.cartId });
      if (check.decision !== 'approve') throw new Error(`fraud check: ${check.decision}`);
      return check;
    },
    tax: (r) => quote(`${S.tax}/quotes`, { amount: r.pricing.subtotal - r.pricing.discount, address: r.customer.address }),
    payment: async (r) => {
      const auth = await post(`${S.payment}/authorizations`, {
        customerId: req.customerId, paymentMethodId: req.paymentMethodId, amount: total(r), currency: r.pricing.currency,
      });
      if (auth.status !== 'authorized') throw new Error(`payment: ${auth.status}`);
      return auth;
    },
    order: (r) => post(`${S.order}/orders`, {
      customerId: req.customerId,
      cartId: req.cartId,
      reservationId: r.inventory.reservationId,
      authorizationId: r.payment.authorizationId,
      total: total(r),
      currency: r.pricing.currency,
    }),
    notification: (r) => post(`${S.notification}/notifications`, {
      orderId: r.order.orderId, email: r.customer.email, template: 'order-confirmation',
    }).then(
      (n) => ({ sent: true, notificationId: n.notificationId }),
      (error) => ({ sent: false, error: String(error) }),
    ),
    result: (r) => ({
      orderId: r.order.orderId,
      status: r.order.status,
      total: total(r),
      currency: r.pricing.currency,
      tax: r.tax.amount,
      shippingCost: r.shipping.cost,
      notificationSent: r.notification.sent,
    }),
  };
}

/**
 * Each call starts when its inputs are there: a promise per service, chained on the promises
 * of the services it depends on (a call without dependencies starts at once).
 */
export async function orderEager(S, req, f) {
  const s = orderSteps(S, req, f);
  const r = {};
  const p = {};
  for (const name of SERVICES) {
    const deps = DEPENDS[name];
    const start = () => s[name](r).then((v) => {
      r[name] = v;
    });
    p[name] = deps.length === 0 ? start()
      : deps.length === 1 ? p[deps[0]].then(start)
        : Promise.all(deps.map((d) => p[d])).then(start);
  }
  // Promise.all handles every rejection, so a failure is reported once and none goes unhandled.
  await Promise.all(SERVICES.map((name) => p[name]));
  return s.result(r);
}
