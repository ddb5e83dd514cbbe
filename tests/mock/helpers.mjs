// Helpers for the mock's tests: one mock per test file, a fresh scenario per test, HTTP calls.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServices } from '../../mock/services.mjs';

/**
 * Start a mock on free ports before the file's tests and close it after them. The returned object's
 * `mock` is set once `before` has run; the functions use it.
 */
export function useMock(options = {}) {
  const h = { mock: null };
  before(async () => {
    h.mock = await startServices({ port: 0, ...options });
  });
  after(() => h.mock?.close());

  let counter = 0;
  /** A fresh scenario id per test, so tests never see each other's config or log. */
  h.sid = (name) => `${name}-${++counter}`;
  /** Base URL of a service (or the gateway) inside a scenario. */
  h.at = (service, scenario) => `${service === 'gateway' ? h.mock.gatewayUrl : h.mock.services[service]}/s/${scenario}`;
  h.call = (url, init) => call(url, init);
  h.post = (url, body, headers) => call(url, { method: 'POST', body, headers });
  h.put = (scenario, config) => call(`${h.mock.adminUrl}/scenarios/${scenario}`, { method: 'PUT', body: config });
  h.configure = async (scenario, config) => {
    const r = await h.put(scenario, config);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  h.logOf = async (scenario) => (await call(`${h.mock.adminUrl}/log?scenario=${scenario}`)).json;
  h.stateOf = async (scenario) => (await call(`${h.mock.adminUrl}/scenarios/${scenario}/state`)).json;
  /**
   * What POST /orders needs in `scenario` (through `via`: a service name or 'gateway'): a held
   * reservation and a live authorization, made first. Returns an order body standing on them.
   */
  h.orderBody = async (scenario, via) => {
    const url = (service) => (via === 'gateway' ? `${h.at('gateway', scenario)}/${service}` : h.at(service, scenario));
    const res = await h.post(`${url('inventory')}/reservations`, { cartId: 'k1', items: ITEMS });
    const auth = await h.post(`${url('payment')}/authorizations`, PAYMENT);
    assert.deepEqual([res.status, auth.status], [201, 201], 'the order\'s reservation and authorization');
    return {
      customerId: 'c1', cartId: 'k1', reservationId: res.json.reservationId,
      authorizationId: auth.json.authorizationId, total: 9000, currency: 'USD',
    };
  };
  /** The scenario's log, polled until `pred(log)` holds (for states no event marks, e.g. a fault applied). */
  h.logUntil = async (scenario, pred, { timeoutMs = 5000 } = {}) => {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const log = await h.logOf(scenario);
      if (pred(log)) return log;
      if (performance.now() > until) assert.fail(`log of ${scenario} never matched: ${JSON.stringify(log)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  /** Resolve with the first entry for which mock.events emits `name` and pred(entry) holds. */
  h.nextEvent = (name, pred) => new Promise((resolve) => {
    const handler = (entry) => {
      if (!pred(entry)) return;
      h.mock.events.off(name, handler);
      resolve(entry);
    };
    h.mock.events.on(name, handler);
  });
  return h;
}

/** fetch, then read the body as text and JSON (json is undefined when the text is not JSON). */
export async function call(url, { method = 'GET', body, headers = {}, signal, redirect } = {}) {
  const init = { method, headers: { ...headers }, signal, redirect };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, url: res.url, redirected: res.redirected };
}

export const ITEMS = [{ sku: 'SKU-1', quantity: 2 }, { sku: 'SKU-2', quantity: 1 }];
export const ADDRESS = { line1: '1 Main St', city: 'Springfield', postcode: '12345', country: 'US' };
export const PAYMENT = { customerId: 'c1', paymentMethodId: 'pm_visa', amount: 9000, currency: 'USD' };
