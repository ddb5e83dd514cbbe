// Accessibility audits of a page with axe-core (the npm devDependency; not a test file itself:
// node --test picks up *.test.mjs).
//
// axe's own build, node_modules/axe-core/axe.min.js, is read once per process and evaluated in
// the page through the DevTools protocol (Playwright's page.evaluate of the source text, i.e.
// Runtime.evaluate), once per document. Nothing is added to the page: no <script> element, no
// change to the Content-Security-Policy header, no bypassCSP. So the page's own code keeps
// running under its strict policy with Trusted Types, and axe runs under it too: axe 4.14 needs
// neither eval nor a string given to an HTML sink for the rules run here, and the tests' CSP
// watcher (helpers.mjs watchPage) still sees every violation, axe's included, and fails on one.
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
 * Rules switched off, each with its reason. Empty: every rule of the tags above runs.
 * (An entry here is `ruleId: 'why'`, and the reason is printed with every audit's failure.)
 */
export const AXE_DISABLED_RULES = Object.freeze({});

/** Evaluates axe's source in the page's current document, unless it is already there. */
export async function injectAxe(page) {
  if (await page.evaluate(() => typeof window.axe?.run === 'function')) return false;
  await page.evaluate(AXE_SOURCE);
  const version = await page.evaluate(() => window.axe?.version);
  if (version !== AXE_VERSION) throw new Error(`axe-core did not load in the page (window.axe.version: ${version})`);
  return true;
}

/**
 * Runs one axe audit of the whole document; returns its violations as plain data:
 * [{ id, impact, help, helpUrl, nodes: [{ target, summary }] }].
 */
export async function audit(page) {
  await injectAxe(page);
  return page.evaluate(async ({ tags, disabled }) => {
    const results = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      rules: Object.fromEntries(disabled.map((id) => [id, { enabled: false }])),
      resultTypes: ['violations'],
    });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(' '), summary: n.failureSummary ?? '' })),
    }));
  }, { tags: [...AXE_TAGS], disabled: Object.keys(AXE_DISABLED_RULES) });
}

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
    throw new AssertionError({ message: describeViolations(state, violations) });
  }
}
