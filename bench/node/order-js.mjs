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
//              promise per service, chained on its dependencies' promises);
//   js-staged-guarded: js-staged with the guarantees the composer gives every request,
//              written by hand (not a baseline of the target: what they cost by hand);
//   js-staged-http: js-staged over Node's http module, as composeOrder() sends its requests in
//              Node (not a baseline of the target either: teams call fetch; this shows the
//              composer's own cost over the same HTTP client).
//
// What each call sends is bench/page/order-steps.js, the same steps the page benchmark uses;
// bench/node/bff.mjs checks them against what composeOrder() actually sends, request by
// request, in the mock's log.
import http from 'node:http';
import { DEPENDS, stagesOf } from '../page/contract.js';
import { orderEager, orderSteps } from '../page/order-steps.js';
import { GUARD_MAX_BYTES, GUARD_TIMEOUT_MS, cappedJson } from '../page/guards.js';

const STAGES = stagesOf(DEPENDS);


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

/** Each call starts when its inputs are there (bench/page/order-steps.js, shared with the page). */
export const jsEager = orderEager;

/**
 * js-staged with what the composer gives every request, by hand: its own AbortController, so
 * it can be cancelled; one timer per order that aborts the requests still in flight after
 * 10 s (the composer's default limit, which it also keeps with one timer per composition);
 * redirects refused rather than followed with the request's headers (`redirect: "manual"`,
 * a 3xx then fails the status check); and at most 5 MiB of a reply read (cappedJson, as in
 * the page's `js-promise-all-guarded`).
 */
export async function jsStagedGuarded(S, req) {
  const live = new Set();
  const timer = setTimeout(() => live.forEach((c) => c.abort()), GUARD_TIMEOUT_MS);
  const guardedFetch = async (url, init) => {
    const controller = new AbortController();
    live.add(controller);
    const res = await fetch(url, { ...init, signal: controller.signal, redirect: 'manual' });
    const json = () => cappedJson(res, GUARD_MAX_BYTES).finally(() => live.delete(controller));
    return { status: res.status, json };
  };
  try {
    return await jsStaged(S, req, guardedFetch);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * js-staged over node:http (its default agent keeps connections alive, as fetch's does): the
 * reply read whole and parsed, a 2xx status checked by the steps as with fetch. Only plain
 * http:// URLs, which is what the mock serves.
 */
export async function jsStagedHttp(S, req) {
  return jsStaged(S, req, httpFetch);
}

function httpFetch(url, init = {}) {
  return new Promise((resolve, reject) => {
    const headers = { ...init.headers };
    if (init.body !== undefined) headers['Content-Length'] = Buffer.byteLength(init.body);
    const request = http.request(url, { method: init.method ?? 'GET', headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, json: async () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    request.on('error', reject);
    request.end(init.body);
  });
}
