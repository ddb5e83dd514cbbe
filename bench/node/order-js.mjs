// The create-order flow written by hand in Node, the way a backend-for-frontend team would:
// the same services, requests, headers and JSON bodies as composeOrder() (README.md,
// "composeOrder: request, result, services"), the same money rules (tax on subtotal -
// discount; total = subtotal - discount + shipping.cost + tax.amount) and outcome rules
// (fraud must approve, payment must be authorized, a failed notification does not fail the
// order). The dependency graph is not copied here: both schedules are derived from
// bench/page/contract.js (DEPENDS, stagesOf), the graph the page benchmark uses.
//
//   js-staged: Promise.all per stage (the topological levels of DEPENDS);
//   js-eager:  each call starts as soon as the calls it depends on have replied (one
//              promise per service, chained on its dependencies' promises).
//
// Only the per-service request builders below are written out: what each call sends, from
// the replies so far. bench/page/bench.js (orderSteps) has the browser's copy of them; it
// cannot be imported in Node (it is the page's module), so bench/node/bff.mjs checks these
// against what composeOrder() actually sends, request by request, in the mock's log.
import { DEPENDS, SERVICES, stagesOf } from '../page/contract.js';

const STAGES = stagesOf(DEPENDS);

/** The order contract, one function per service; each takes the replies so far (`r`). */
export function orderSteps(S, req, f = fetch) {
  async function get(url) {
    const res = await f(url);
    if (res.status < 200 || res.status > 299) throw new Error(`GET ${url}: HTTP ${res.status}`);
    return res.json();
  }
  // Like the composer, every write carries an Idempotency-Key, so it is safe to repeat.
  async function post(url, body) {
    const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() };
    const res = await f(url, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status < 200 || res.status > 299) throw new Error(`POST ${url}: HTTP ${res.status}`);
    return res.json();
  }
  const total = (r) => r.pricing.subtotal - r.pricing.discount + r.shipping.cost + r.tax.amount;
  return {
    customer: () => get(`${S.customer}/customers/${encodeURIComponent(req.customerId)}`),
    cart: () => get(`${S.cart}/carts/${encodeURIComponent(req.cartId)}`),
    inventory: (r) => post(`${S.inventory}/reservations`, { cartId: req.cartId, items: r.cart.items }),
    pricing: (r) => post(`${S.pricing}/quotes`, { items: r.cart.items, tier: r.customer.tier }),
    shipping: (r) => post(`${S.shipping}/quotes`, {
      items: r.cart.items, address: r.customer.address, option: req.shippingOption ?? 'standard',
    }),
    fraud: async (r) => {
      const check = await post(`${S.fraud}/checks`, { customerId: req.customerId, email: r.customer.email, cartId: req.cartId });
      if (check.decision !== 'approve') throw new Error(`fraud check: ${check.decision}`);
      return check;
    },
    tax: (r) => post(`${S.tax}/quotes`, { amount: r.pricing.subtotal - r.pricing.discount, address: r.customer.address }),
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

/** Promise.all per stage of the dependency graph. */
export async function jsStaged(S, req, f) {
  const s = orderSteps(S, req, f);
  const r = {};
  for (const stage of STAGES) {
    const replies = await Promise.all(stage.map((name) => s[name](r)));
    stage.forEach((name, i) => {
      r[name] = replies[i];
    });
  }
  return s.result(r);
}

/**
 * Each call starts when its inputs are there: a promise per service, chained on the promises
 * of the services it depends on (a call without dependencies starts at once).
 */
export async function jsEager(S, req, f) {
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
