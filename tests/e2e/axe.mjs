// Accessibility audits of a page with axe-core (the npm devDependency; not a test file itself:
// node --test picks up *.test.mjs).
//
// How axe gets into the page without loosening its Content-Security-Policy: axe's own build,
// node_modules/axe-core/axe.min.js, is read once per process and evaluated in the page's main
// world through the DevTools protocol (Runtime.evaluate on a CDP session), once per document.
// Nothing is added to the page: no <script> element (script-src 'self' would refuse an inline
// one, and a file of ours next to the page's would be served to every visitor), no change to the
// CSP header, no bypassCSP. Each evaluation passes allowUnsafeEvalBlockedByCSP: false, because
// DevTools otherwise lets the code it evaluates (not the page's) build code from strings
// despite the policy; with false, axe itself runs under the page's whole policy: no eval or
// new Function, no string to an HTML sink (Trusted Types). axe 4.14 needs neither for the rules
// run here, and the tests' CSP watcher (helpers.mjs watchPage) still sees every violation,
// axe's included, and fails on one. So the page's own code runs under exactly the policy a
// visitor's browser applies, and the audits add no exception to it.
import { AssertionError } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** axe's source text, read once and reused for every page and document. */
export const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_VERSION = require('axe-core/package.json').version;

/**
 * The rule sets run: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and Deque's best practices.
 * (AAA and experimental rules are not part of the project's standard.)
 */
export const AXE_TAGS = Object.freeze(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']);

/**
 * Rules switched off, each as `ruleId: 'why'`. Empty: every rule of the tags above runs, and
 * one that must be switched off says here why.
 */
export const AXE_DISABLED_RULES = Object.freeze({});

/** One CDP session per page, for the evaluations below. */
const sessions = new WeakMap();

/**
 * Evaluates `expression` in the page's main world with no exemption from its CSP; returns its
 * value (awaited when it is a promise) or throws the page's exception.
 */
async function evaluateStrictly(page, expression) {
  let session = sessions.get(page);
  if (!session) {
    session = await page.context().newCDPSession(page);
    sessions.set(page, session);
  }
  const { result, exceptionDetails } = await session.send('Runtime.evaluate', {
    expression,
    allowUnsafeEvalBlockedByCSP: false,
    awaitPromise: true,
    returnByValue: true,
  });
  if (exceptionDetails) {
    throw new Error(`in the page: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
  }
  return result.value;
}

/** Evaluates axe's source in the page's current document, unless it is already there. */
export async function injectAxe(page) {
  if (await evaluateStrictly(page, "typeof window.axe?.run === 'function'")) return false;
  await evaluateStrictly(page, AXE_SOURCE);
  const version = await evaluateStrictly(page, 'window.axe?.version');
  if (version !== AXE_VERSION) throw new Error(`axe-core did not load in the page (window.axe.version: ${version})`);
  return true;
}

/**
 * Runs one axe audit of the whole document; returns its violations as plain data:
 * [{ id, impact, help, helpUrl, nodes: [{ target, summary }] }].
 */
export async function audit(page) {
  const started = performance.now();
  await injectAxe(page);
  const options = {
    runOnly: { type: 'tag', values: AXE_TAGS },
    rules: Object.fromEntries(Object.keys(AXE_DISABLED_RULES).map((id) => [id, { enabled: false }])),
    resultTypes: ['violations'],
  };
  const violations = await evaluateStrictly(page, `window.axe.run(document, ${JSON.stringify(options)}).then((results) =>
    results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(' '), summary: n.failureSummary ?? '' })),
    })))`);
  auditStats.audits += 1;
  auditStats.ms += performance.now() - started;
  return violations;
}

/** How many audits this process ran and how long they took (injection included), for a log line. */
export const auditStats = { audits: 0, ms: 0 };

/**
 * The violations as a readable message: per rule its id, impact, help text and link, then its
 * targets, grouped under each distinct failure summary (so ten bars failing alike read once).
 */
export function describeViolations(state, violations) {
  const lines = [`axe-core ${AXE_VERSION} found ${violations.length} accessibility violation(s) ${state}:`];
  for (const v of violations) {
    lines.push(`- ${v.id} (${v.impact}): ${v.help} [${v.helpUrl}]`);
    const bySummary = new Map();
    for (const n of v.nodes) bySummary.set(n.summary, [...(bySummary.get(n.summary) ?? []), n.target]);
    for (const [summary, targets] of bySummary) {
      lines.push(...targets.map((t) => `    ${t}`));
      if (summary) lines.push(...summary.split('\n').map((l) => `      ${l}`));
    }
  }
  return lines.join('\n');
}

/** Audits the page as it is now (`state` says which state, for the message); fails on any violation. */
export async function assertAccessible(page, state) {
  const violations = await audit(page);
  if (violations.length > 0) {
    throw Object.assign(new AssertionError({ message: describeViolations(state, violations) }), { violations });
  }
}
