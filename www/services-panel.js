// The "Mock services" table: a latency and a fault for each service, applied to the running
// mock at once (PUT /scenarios/default on the admin API), one request at a time so that the
// last setting wins. Runs remember the settings key they ran with, so the page compares
// only runs made under the same settings.
import { $, el } from './dom.js';

export const MAX_LATENCY = 60000;

/**
 * The fault menu: the four failures the issue names, plus none. `only` restricts a choice to
 * one service; `fault` is what the admin API gets (mock/README.md, "Faults").
 */
export const FAULT_CHOICES = [
  { value: 'none', label: 'none' },
  { value: 'http500', label: 'HTTP 500', fault: { status: 500 } },
  { value: 'hang', label: 'hang', fault: 'hang' },
  { value: 'reject', label: 'fraud reject', fault: 'reject', only: 'fraud' },
  { value: 'decline', label: 'payment declined', fault: 'decline', only: 'payment' },
];

function faultChoiceFor(service, fault) {
  if (fault === undefined) return 'none';
  if (typeof fault === 'object' && fault.status === 500 && Object.keys(fault).length === 1) return 'http500';
  const type = typeof fault === 'string' ? fault : Object.keys(fault).length === 1 ? fault.type : undefined;
  const choice = FAULT_CHOICES.find((c) => c.value === type && (!c.only || c.only === service));
  return choice ? choice.value : 'other';
}

/**
 * Builds the table into #services-body and wires it.
 *   admin      request(method, path, body) against the admin API
 *   services   { name: base URL }
 *   initial    the mock's config at page load, for "Restore start-up settings"
 *   onChange   called after each apply (success or not)
 * Returns { key(), settle(), setLatency(service, ms) }.
 */
export function servicesPanel({ admin, services, initial, onChange = () => {} }) {
  const names = Object.keys(services);
  const state = { key: '', otherFaults: {}, timer: null, seq: 0, chain: Promise.resolve() };

  const keyOf = (config) => {
    const latency = Object.fromEntries(names.map((s) => [s, config.latency?.[s] ?? config.defaultLatency ?? 0]));
    const faults = Object.fromEntries(Object.keys(config.faults ?? {}).sort().map((s) => [s, config.faults[s]]));
    return JSON.stringify({ latency, faults });
  };

  const setState = (kind, text) => {
    $('#services').dataset.configState = kind;
    const status = $('#services-status');
    status.textContent = text;
    status.dataset.kind = kind;
  };

  function show(config) {
    state.otherFaults = {};
    for (const service of names) {
      $(`#latency-${service}`).value = String(config.latency?.[service] ?? config.defaultLatency ?? 0);
      $(`#latency-${service}`).removeAttribute('aria-invalid');
      const select = $(`#fault-${service}`);
      const fault = config.faults?.[service];
      const choice = faultChoiceFor(service, fault);
      $('option[value="other"]', select)?.remove();
      if (choice === 'other') {
        state.otherFaults[service] = fault;
        select.append(el('option', { value: 'other', text: `other: ${JSON.stringify(fault)}` }));
      }
      select.value = choice;
    }
  }

  /** The config the controls describe, or { problem } (with the fields marked) when a latency is invalid. */
  function read() {
    const config = { latency: {}, defaultLatency: 0, faults: {} };
    let problem = null;
    for (const service of names) {
      const input = $(`#latency-${service}`);
      const value = Number(input.value);
      const ok = input.value.trim() !== '' && Number.isInteger(value) && value >= 0 && value <= MAX_LATENCY;
      if (ok) input.removeAttribute('aria-invalid');
      else input.setAttribute('aria-invalid', 'true');
      if (!ok) problem ??= `${service}: the latency must be a whole number of ms from 0 to ${MAX_LATENCY}`;
      config.latency[service] = value;
      const choice = $(`#fault-${service}`).value;
      if (choice === 'other') config.faults[service] = state.otherFaults[service];
      else {
        const fault = FAULT_CHOICES.find((c) => c.value === choice)?.fault;
        if (fault !== undefined) config.faults[service] = fault;
      }
    }
    return problem ? { problem } : { config };
  }

  function markDirty() {
    setState('pending', 'Not applied yet…');
    clearTimeout(state.timer);
    state.timer = setTimeout(flush, 400);
  }

  function flush() {
    clearTimeout(state.timer);
    state.timer = null;
    const { config, problem } = read();
    if (problem) {
      setState('invalid', `Not applied: ${problem}.`);
      return state.chain;
    }
    const seq = ++state.seq;
    setState('applying', 'Applying…');
    state.chain = state.chain.then(async () => {
      try {
        const applied = await admin('PUT', '/scenarios/default', config);
        state.key = keyOf(applied);
        if (seq === state.seq) {
          const time = new Date().toLocaleTimeString('en-GB');
          setState('applied', `Applied to the running services at ${time}.`);
        }
      } catch (error) {
        if (seq === state.seq) setState('error', `Could not apply: ${error.message}`);
      }
      onChange();
    });
    return state.chain;
  }

  $('#services-body').replaceChildren(...names.map((service) => {
    const origin = new URL(services[service]).host;
    const latency = el('input', {
      type: 'number', id: `latency-${service}`, 'data-testid': `latency-${service}`, 'data-service': service,
      min: 0, max: MAX_LATENCY, step: 10, inputmode: 'numeric', required: true,
      'aria-label': `${service} latency in milliseconds`,
    });
    const fault = el('select', { id: `fault-${service}`, 'data-testid': `fault-${service}`, 'data-service': service, 'aria-label': `${service} fault` },
      FAULT_CHOICES.filter((c) => !c.only || c.only === service).map((c) => el('option', { value: c.value, text: c.label })));
    latency.addEventListener('input', markDirty);
    latency.addEventListener('change', flush);
    fault.addEventListener('change', flush);
    return el('tr', { 'data-service': service },
      el('th', { scope: 'row' }, el('span', { class: 'svc-name', text: service }), el('span', { class: 'svc-origin', text: origin })),
      el('td', {}, latency),
      el('td', {}, fault));
  }));
  show(initial);
  state.key = keyOf(initial);
  setState('applied', 'These are the settings the services run with.');

  $('#reset-services').addEventListener('click', () => {
    show(initial);
    flush();
  });
  $('#reset-services').disabled = false;
  $('#slow-fraud').addEventListener('click', () => {
    $('#latency-fraud').value = '900';
    flush();
  });
  $('#slow-fraud').disabled = false;

  return {
    /** Identifies the applied settings. */
    key: () => state.key,
    /** Resolves once the settings on screen are the ones the mock uses. */
    settle: () => {
      if (state.timer) flush();
      return state.chain;
    },
  };
}
