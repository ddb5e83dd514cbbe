// Small DOM and formatting helpers shared by the demo's modules.
//
// Nodes are built with createElement / createElementNS and textContent, never from HTML
// strings: the page runs under `require-trusted-types-for 'script'`, and replies and error
// messages are data.

export const $ = (selector, root = document) => root.querySelector(selector);

/** Sets props on a node: class, text, dataset, on<event>, or attributes. */
function apply(node, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
}

function appendAll(node, children) {
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
}

/** Creates an HTML element; children are nodes or strings. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  apply(node, props);
  appendAll(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element, the same way. */
export function svg(tag, props = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  apply(node, props);
  appendAll(node, children);
  return node;
}

export const ms = (value) => `${Math.round(value)} ms`;
export const seconds = (value) => `${(value / 1000).toFixed(2)} s`;
/** An age, such as a cached reply's: "1.2 s". */
export const age = (value) => `${(value / 1000).toFixed(1)} s`;
export const money = (cents, currency = 'USD') => new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(cents / 100);
export const pct = (value, scale) => `${Math.max(0, Math.min(100, (value / scale) * 100))}%`;

/** How each call state reads on the page (the legend, the bars' titles, the error panel). */
export const STATE_LABEL = {
  ok: 'ok',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
  'not-sent': 'not sent',
  'not-needed': 'not needed',
  unknown: 'outcome unknown',
  'not-run': 'not run',
  running: 'in flight',
  answered: 'answered',
  dropped: 'ended without a reply',
  cached: 'from the cache',
};

/** Runs `draw` once in the next animation frame, however often it is asked for before then. */
export function frameScheduler(draw) {
  let pending = 0;
  const request = () => {
    if (!pending) {
      pending = requestAnimationFrame(() => {
        pending = 0;
        draw();
      });
    }
  };
  request.cancel = () => {
    cancelAnimationFrame(pending);
    pending = 0;
  };
  return request;
}
