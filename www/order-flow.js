// The create-order flow as a plan the page can read: the same ten calls, requests and
// dependencies as composeOrder()'s own plan (README, "Results": the table of services).
//
// composeOrder() does not hand out its plan, so the page writes it down once here. It is
// used to draw, never to run: validatePlan() turns it into the stages of the graph, its
// `after` lists are the graph's edges, and its URL templates tell which call a request
// seen by the page's fetch belongs to, for the live waterfall.

/** The ten calls, in the order composeOrder() reports them. */
export const ORDER_CALLS = ['customer', 'cart', 'inventory', 'pricing', 'shipping', 'fraud', 'tax', 'payment', 'order', 'notification'];

/** What each call waits for: README's "depends on" column. */
export const ORDER_DEPENDS_ON = Object.freeze({
  customer: [],
  cart: [],
  inventory: ['cart'],
  pricing: ['cart', 'customer'],
  shipping: ['cart', 'customer'],
  fraud: ['customer'],
  tax: ['pricing', 'customer'],
  payment: ['pricing', 'shipping', 'tax', 'fraud'],
  order: ['inventory', 'payment'],
  notification: ['order', 'customer'],
});

/** What each call asks of its service, for the graph's tooltips. */
export const ORDER_REQUESTS = Object.freeze({
  customer: 'GET /customers/{customerId}',
  cart: 'GET /carts/{cartId}',
  inventory: 'POST /reservations',
  pricing: 'POST /quotes',
  shipping: 'POST /quotes',
  fraud: 'POST /checks',
  tax: 'POST /quotes',
  payment: 'POST /authorizations',
  order: 'POST /orders',
  notification: 'POST /notifications',
});

/** What undoing a completed write means, in words (composeOrder's two compensations). */
export const ORDER_UNDO = Object.freeze({
  inventory: 'reservation released',
  payment: 'authorization voided',
});

/** The order flow's plan against one base URL per service (`services` of /config.json). */
export function orderPlan(services) {
  const base = (name) => services[name].replace(/\/+$/, '').replaceAll('{', '{{').replaceAll('}', '}}');
  const call = (name, method, path, extra = {}) => ({ method, url: `${base(name)}${path}`, after: ORDER_DEPENDS_ON[name], ...extra });
  return {
    calls: {
      customer: call('customer', 'GET', '/customers/{input.customerId}'),
      cart: call('cart', 'GET', '/carts/{input.cartId}'),
      inventory: call('inventory', 'POST', '/reservations', {
        compensate: { method: 'DELETE', url: `${base('inventory')}/reservations/{inventory.reservationId}` },
      }),
      pricing: call('pricing', 'POST', '/quotes'),
      shipping: call('shipping', 'POST', '/quotes'),
      fraud: call('fraud', 'POST', '/checks'),
      tax: call('tax', 'POST', '/quotes'),
      payment: call('payment', 'POST', '/authorizations', {
        compensate: { method: 'POST', url: `${base('payment')}/authorizations/{payment.authorizationId}/void` },
      }),
      order: call('order', 'POST', '/orders'),
      notification: call('notification', 'POST', '/notifications'),
    },
  };
}
