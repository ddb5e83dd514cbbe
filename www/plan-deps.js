// What the page needs to know about a plan besides its stages (which validatePlan() gives):
// which calls each call waits for, to draw the edges of the graph and find the critical
// path, and which call a request belongs to, to draw the waterfall while the run is live.
//
// Both read the plan's templates the way README's "The plan format" describes them, a
// `when` condition's operands the way docs/options.md's "Conditions" does, and a `forEach`
// list the way its "Fan-out" does. They only draw: validatePlan() stays the judge of what a
// plan means.

const NAME = /\{([A-Za-z0-9_$-]+)[.}]/g;

/** The call names a template string mentions (`{name.path}`), `input` and `{{` escapes left out. */
function mentioned(template) {
  const text = String(template).replaceAll('{{', '').replaceAll('}}', '');
  return [...text.matchAll(NAME)].map((m) => m[1]).filter((name) => name !== 'input');
}

function mentionedIn(value, out) {
  if (typeof value === 'string') out.push(...mentioned(value));
  else if (Array.isArray(value)) value.forEach((v) => mentionedIn(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => mentionedIn(v, out));
  return out;
}

/**
 * { call: [the calls it waits for] }: every call its url, headers, body, `when` and `forEach`
 * name, plus `after`. A condition's placeholders count: the call waits for them to decide
 * whether to run; so does a fan-out's list, which it needs to know how many items to send.
 * A fan-out call's own element (`{item}`, or the name `as` gives) and `{index}` are no
 * calls. A compensation's templates are left out: it runs after the failure, not before its
 * call.
 */
export function dependencies(plan) {
  const deps = {};
  for (const [name, call] of Object.entries(plan?.calls ?? {})) {
    const names = mentionedIn([call.url, call.headers ?? {}, call.body ?? null, call.when ?? null, call.forEach ?? null], []);
    names.push(...(Array.isArray(call.after) ? call.after : []));
    const own = call.forEach === undefined ? [name] : [name, call.as ?? 'item', 'index'];
    deps[name] = [...new Set(names)].filter((n) => !own.includes(n));
  }
  return deps;
}

/**
 * { call: its `forEach` list, as written } for the calls that fan out, one request per
 * element of a list; the others are left out.
 */
export function fanOuts(plan) {
  return Object.fromEntries(Object.entries(plan?.calls ?? {})
    .filter(([, call]) => call.forEach !== undefined)
    .map(([name, call]) => [name, String(call.forEach)]));
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * A URL template as a regular expression. A placeholder matches what the engine can put
 * there: a value percent-encoded down to the RFC 3986 unreserved characters.
 */
function templatePattern(template) {
  const parts = String(template).split(/(\{\{|\}\}|\{[^{}]*\})/);
  const body = parts.map((part) => {
    if (part === '{{') return '\\{';
    if (part === '}}') return '\\}';
    if (part.startsWith('{') && part.endsWith('}')) return '[A-Za-z0-9._~%-]*';
    return escapeRegExp(part);
  }).join('');
  // A path-only URL is resolved against the page by fetch(), or sent as it is.
  const origin = String(template).startsWith('/') ? '(?:https?://[^/]+)?' : '';
  return new RegExp(`^${origin}${body}$`);
}

/**
 * (url, method) -> { call, undo } for a request the engine sends for `plan`, or null.
 * `undo` marks a compensation. When two calls share a template, the first one that has not
 * started yet (per `started(call, undo)`) is taken.
 */
export function requestMatcher(plan) {
  const routes = [];
  for (const [name, call] of Object.entries(plan?.calls ?? {})) {
    routes.push({ call: name, undo: false, method: (call.method ?? 'GET').toUpperCase(), pattern: templatePattern(call.url) });
    if (call.compensate?.url) {
      routes.push({ call: name, undo: true, method: String(call.compensate.method ?? '').toUpperCase(), pattern: templatePattern(call.compensate.url) });
    }
  }
  return (url, method, started = () => false) => {
    const hits = routes.filter((r) => r.method === method.toUpperCase() && r.pattern.test(url));
    const hit = hits.find((r) => !started(r.call, r.undo)) ?? hits[0];
    return hit ? { call: hit.call, undo: hit.undo } : null;
  };
}
