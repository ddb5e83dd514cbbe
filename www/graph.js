// The plan as a dependency graph, in SVG built node by node (createElementNS, no markup
// strings). Nodes are calls, an arrow goes from a call to each call that waits for it, and
// the stages validatePlan() returns are the columns: everything in a column can run at once.
//
// Within a column, calls are ordered by where their inputs are (the mean row of their
// dependencies), which keeps most arrows short and uncrossed. An arrow that skips columns
// passes each column it skips at a free spot, between or around the nodes, never through one.
// A container narrower than NARROW draws the stages as rows instead, top to bottom.
//
// After a run, nodes take the colour of their call's state, and the calls and arrows of
// the critical path are drawn heavier.
//
// A fan-out call (one request per element of a list) is drawn as a stack: two cards offset
// behind its node (within the gaps the layout leaves between nodes), and a badge on it with its item count once the list has been read
// ("×5"), "forEach" until then.
import { svg, STATE_LABEL } from './dom.js';

const NARROW = 560;
// Geometry in SVG units. Along: the direction of the stages; across: within a stage.
const GEOMETRY = {
  wide: { nodeAlong: 104, nodeAcross: 28, stageGap: 46, rowGap: 10, pad: 8, header: 18, stackStep: 3 },
  tall: { nodeAlong: 26, nodeAcross: 86, stageGap: 26, rowGap: 6, pad: 6, header: 14, stackStep: 2 },
};
// A fan-out node's cards behind it, and its badge (SVG units).
const STACK_CARDS = 2;
const BADGE = { height: 12, charWidth: 5.6, padding: 8, inset: 4 };
// How far (SVG units) an arrow passing a stage keeps from the nodes there, and from another
// arrow passing the same stage.
const CLEAR_NODE = 7;
const CLEAR_EDGE = 8;

/** Orders each stage by the mean position of its calls' dependencies in earlier stages. */
function orderStages(stages, deps) {
  const position = new Map();
  return stages.map((stage, s) => {
    const mean = (name) => {
      const known = (deps[name] ?? []).filter((d) => position.has(d)).map((d) => position.get(d));
      return known.length ? known.reduce((a, b) => a + b, 0) / known.length : Infinity;
    };
    const ordered = s === 0 ? [...stage] : stage.map((name, i) => ({ name, i, key: mean(name) }))
      .sort((a, b) => (a.key === b.key ? a.i - b.i : a.key - b.key))
      .map((x) => x.name);
    // Positions centred across the widest stage: 0..1.
    ordered.forEach((name, i) => position.set(name, ordered.length === 1 ? 0.5 : i / (ordered.length - 1)));
    return ordered;
  });
}

/**
 * Where an arrow crosses each stage it skips: the free spot nearest to where it was in the
 * stage before, so it runs straight past the nodes (or around the column) rather than
 * through them. Shorter arrows choose first, so they keep closest to their nodes.
 */
function routeLongEdges(edges, ordered, centre, g) {
  // In row units (one node plus one gap), as `centre` is.
  const pitch = g.nodeAcross + g.rowGap;
  const clearNode = (g.nodeAcross / 2 + CLEAR_NODE) / pitch;
  const clearEdge = CLEAR_EDGE / pitch;
  const taken = ordered.map((stage) => stage.map((name) => ({ at: centre.get(name), clear: clearNode })));
  const free = (s, at) => taken[s].every((t) => Math.abs(t.at - at) >= t.clear);
  for (const e of [...edges].sort((a, b) => a.span - b.span)) {
    e.via = [];
    let at = centre.get(e.from);
    const target = centre.get(e.to);
    for (let s = e.fromStage + 1; s < e.toStage; s++) {
      // Lean towards the target, then search outwards, an arrow's clearance at a time.
      const want = at + (target - at) / (e.toStage - s + 1);
      let best = null;
      for (let d = 0; best === null && d < 200; d++) {
        for (const c of d === 0 ? [want] : [want - d * clearEdge, want + d * clearEdge]) {
          if (best === null && free(s, c)) best = c;
        }
      }
      at = best ?? want;
      taken[s].push({ at, clear: clearEdge });
      e.via.push({ stage: s, at });
    }
  }
}

/**
 * Lays out nodes and edges. Returns { width, height, nodes: Map(name -> {x, y, w, h, stage}),
 * edges: [{ from, to, d }], labels: [{ x, y, text }], ordered, tall }.
 */
export function layoutGraph({ stages, deps, tall = false }) {
  const g = tall ? GEOMETRY.tall : GEOMETRY.wide;
  const ordered = orderStages(stages, deps);
  const stageOf = new Map(ordered.flatMap((stage, s) => stage.map((name) => [name, s])));
  const rowsMax = Math.max(1, ...ordered.map((s) => s.length));
  // A node's centre line, in row units: stages with fewer calls are centred.
  const centre = new Map(ordered.flatMap((stage) => stage.map((name, i) => [name, i + 0.5 + (rowsMax - stage.length) / 2])));

  const edges = [];
  for (const stage of ordered) {
    for (const to of stage) {
      for (const from of deps[to] ?? []) {
        if (stageOf.has(from)) edges.push({ from, to, fromStage: stageOf.get(from), toStage: stageOf.get(to), span: stageOf.get(to) - stageOf.get(from) });
      }
    }
  }
  routeLongEdges(edges, ordered, centre, g);

  // Row units to SVG units, leaving room for arrows routed outside the nodes.
  const pitch = g.nodeAcross + g.rowGap;
  const ats = [0.5, rowsMax - 0.5, ...edges.flatMap((e) => e.via.map((v) => v.at))];
  const low = Math.min(...ats);
  const high = Math.max(...ats);
  const across0 = g.pad + g.header + g.nodeAcross / 2 + (0.5 - low) * pitch;
  const acrossAt = (at) => across0 + (at - 0.5) * pitch; // the centre line
  const alongAt = (stage) => g.pad + stage * (g.nodeAlong + g.stageGap);
  const alongEnd = alongAt(ordered.length - 1) + g.nodeAlong;
  const acrossEnd = acrossAt(high) + g.nodeAcross / 2;

  // (along, across) -> (x, y)
  const xy = tall ? (a, c) => [c, a] : (a, c) => [a, c];
  const pt = (a, c) => xy(a, c).map((n) => n.toFixed(1)).join(',');
  // A smooth step from one point to the next, level at both ends.
  const step = ([a0, c0], [a1, c1]) => {
    const mid = (a0 + a1) / 2;
    return `C${pt(mid, c0)} ${pt(mid, c1)} ${pt(a1, c1)}`;
  };

  const nodes = new Map();
  for (const [name, stage] of stageOf) {
    const [x, y] = xy(alongAt(stage), acrossAt(centre.get(name)) - g.nodeAcross / 2);
    const [w, h] = xy(g.nodeAlong, g.nodeAcross);
    nodes.set(name, { x, y, w, h, stage });
  }

  for (const e of edges) {
    let at = [alongAt(e.fromStage) + g.nodeAlong, acrossAt(centre.get(e.from))];
    const parts = [`M${pt(...at)}`];
    for (const v of e.via) {
      const enter = [alongAt(v.stage), acrossAt(v.at)];
      parts.push(step(at, enter));
      at = [alongAt(v.stage) + g.nodeAlong, acrossAt(v.at)];
      parts.push(`L${pt(...at)}`);
    }
    parts.push(step(at, [alongAt(e.toStage) - 4, acrossAt(centre.get(e.to))])); // 4: room for the arrowhead
    e.d = parts.join(' ');
  }

  const labels = ordered.map((stage, s) => {
    const along = alongAt(s) + g.nodeAlong / 2;
    const [x, y] = tall ? [g.pad + 2, along] : [along, g.pad + 9];
    return { x, y, text: tall ? String(s + 1) : `stage ${s + 1}` };
  });

  const [width, height] = xy(alongEnd + g.pad, acrossEnd + g.pad);
  return { width, height, nodes, edges, labels, ordered, tall, stackStep: g.stackStep };
}

/** Per host element: the last drawing's arguments, for redrawing on resize. */
const hosts = new WeakMap();
let nextId = 0;

/** "5 items", or "" while the count is not known (null). */
const itemsText = (count) => (count === null || count === undefined ? '' : `${count} item${count === 1 ? '' : 's'}`);

/**
 * The cards behind a fan-out node, back to front, each a step down and to the right: into
 * the gaps between nodes, clear of the stage labels above them.
 */
function stackCards(n, step) {
  return Array.from({ length: STACK_CARDS }, (_, i) => {
    const offset = (STACK_CARDS - i) * step;
    return svg('rect', { class: 'stack-card', x: n.x + offset, y: n.y + offset, width: n.w, height: n.h, rx: 6 });
  });
}

/** The badge on a fan-out node's top edge: its item count, or "forEach" before it is known. */
function countBadge(n, count, testid) {
  const text = count === null || count === undefined ? 'forEach' : `×${count}`;
  const w = text.length * BADGE.charWidth + BADGE.padding;
  const x = n.x + n.w - BADGE.inset - w;
  const y = n.y - BADGE.height / 2;
  return svg('g', { class: 'fan-badge', 'data-testid': testid, 'data-count': count ?? '' },
    svg('rect', { x, y, width: w, height: BADGE.height, rx: BADGE.height / 2 }),
    svg('text', { x: x + w / 2, y: y + BADGE.height / 2, text }));
}

/** The graph's name for assistive technology: its stages, fan-out calls and critical path. */
function graphLabel(layout, { critical, fanOut }) {
  const summary = layout.ordered.map((stage, s) => `stage ${s + 1}: ${stage.join(', ')}`).join('; ');
  const fans = Object.entries(fanOut).map(([name, count]) => {
    const items = itemsText(count);
    return ` ${name} runs once per item of its list${items ? ` (${items})` : ''}.`;
  }).join('');
  const pathText = critical.length ? ` Critical path of the last run: ${critical.join(' → ')}.` : '';
  return `Dependency graph, ${layout.nodes.size} calls in ${layout.ordered.length} stages. ${summary}.${fans}${pathText}`;
}

function draw(host, options) {
  const { stages, deps, states = {}, critical = [], prefix, describe = () => '', fanOut = {} } = options;
  const tall = host.clientWidth > 0 && host.clientWidth < NARROW;
  const layout = layoutGraph({ stages, deps, tall });
  const id = hosts.get(host).id;
  const onPath = new Set(critical);
  const pathEdges = new Set(critical.slice(1).map((to, i) => `${critical[i]}>${to}`));

  const root = svg('svg', {
    class: `graph${tall ? ' graph-tall' : ''}`,
    viewBox: `0 0 ${layout.width.toFixed(0)} ${layout.height.toFixed(0)}`,
    role: 'img',
    'aria-label': graphLabel(layout, { critical, fanOut }),
    'data-testid': `${prefix}`,
    'data-orientation': tall ? 'rows' : 'columns',
  });
  // Never drawn larger than life: a small plan stays small.
  root.style.maxWidth = `${Math.ceil(layout.width)}px`;
  const arrow = (name, cls) => svg('marker', {
    id: `${id}-${name}`, class: cls, viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto',
  }, svg('path', { d: 'M0,0 L8,4 L0,8 z' }));
  root.append(svg('defs', {}, arrow('arrow', 'arrowhead'), arrow('arrow-critical', 'arrowhead arrowhead-critical')));

  root.append(svg('g', { class: 'graph-labels', 'aria-hidden': 'true' },
    layout.labels.map((l) => svg('text', { x: l.x, y: l.y, class: 'stage-label', text: l.text }))));

  const edgeLayer = svg('g', { class: 'graph-edges', 'aria-hidden': 'true' });
  // Critical edges last, so they are drawn on top.
  const sorted = [...layout.edges].sort((a, b) => Number(pathEdges.has(`${a.from}>${a.to}`)) - Number(pathEdges.has(`${b.from}>${b.to}`)));
  for (const e of sorted) {
    const critical = pathEdges.has(`${e.from}>${e.to}`);
    edgeLayer.append(svg('path', {
      d: e.d,
      class: `edge${critical ? ' critical' : ''}`,
      'marker-end': `url(#${id}-${critical ? 'arrow-critical' : 'arrow'})`,
      'data-testid': `${prefix}-edge-${e.from}-${e.to}`,
      'data-from': e.from,
      'data-to': e.to,
      'data-critical': critical ? 'true' : null,
    }));
  }
  root.append(edgeLayer);

  const nodeLayer = svg('g', { class: 'graph-nodes' });
  for (const [name, n] of layout.nodes) {
    const state = states[name] ?? 'idle';
    const critical = onPath.has(name);
    const waits = (deps[name] ?? []).length ? `waits for ${deps[name].join(', ')}` : 'waits for nothing';
    const stateText = state === 'idle' ? '' : `; ${STATE_LABEL[state] ?? state}`;
    const fan = name in fanOut;
    const count = fanOut[name] ?? null;
    const fanText = fan ? `; once per item of its list${count === null ? '' : `, ${itemsText(count)}`}` : '';
    const title = `${name} (stage ${n.stage + 1}): ${waits}${fanText}${stateText}${critical ? '; on the critical path' : ''}${describe(name)}`;
    nodeLayer.append(svg('g', {
      class: `gnode${critical ? ' critical' : ''}${fan ? ' fan-out' : ''}`,
      'data-testid': `${prefix}-node-${name}`,
      'data-stage': n.stage,
      'data-state': state,
      'data-critical': critical ? 'true' : null,
      'data-fan-out': fan ? 'true' : null,
    },
    svg('title', { text: title }),
    fan ? stackCards(n, layout.stackStep) : null,
    svg('rect', { class: 'card', x: n.x, y: n.y, width: n.w, height: n.h, rx: 6 }),
    svg('text', { x: n.x + n.w / 2, y: n.y + n.h / 2, text: name }),
    fan ? countBadge(n, count, `${prefix}-count-${name}`) : null));
  }
  root.append(nodeLayer);
  host.replaceChildren(root);
}

/**
 * Draws the graph into `host` (replacing what was there) and redraws it when the host
 * crosses the narrow width. options: { stages, deps, states, critical, prefix, describe,
 * fanOut }, where fanOut is { call: its item count, or null while not known } for the calls
 * that fan out. Node test ids are `<prefix>-node-<call>`, edges `<prefix>-edge-<from>-<to>`,
 * a fan-out node's badge `<prefix>-count-<call>`.
 */
export function drawGraph(host, options) {
  let entry = hosts.get(host);
  if (!entry) {
    entry = { id: `g${nextId++}`, options, tall: null };
    hosts.set(host, entry);
    new ResizeObserver(() => {
      const tall = host.clientWidth > 0 && host.clientWidth < NARROW;
      if (tall !== entry.tall) {
        entry.tall = tall;
        draw(host, entry.options);
      }
    }).observe(host);
  }
  entry.options = options;
  entry.tall = host.clientWidth > 0 && host.clientWidth < NARROW;
  draw(host, options);
}
