// A checkout form that places the order with composeOrder() and shows how it went: the
// order and its total, or the ComposeError's code and call, and how each service call ended.
// The service URLs come from /config.json (the server's runtime configuration); a
// `?scenario=<id>` in the page URL selects a mock scenario.

function text(tag, content) {
  const node = document.createElement(tag);
  node.textContent = content;
  return node;
}

export function mountCheckout({ composeOrder, ComposeError }) {
  const form = document.querySelector('#checkout');
  const status = document.querySelector('#status');
  const list = document.querySelector('#calls');
  const scenario = new URLSearchParams(location.search).get('scenario');
  const config = fetch('/config.json').then((r) => r.json());

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(form));
    const { services } = await config;
    const base = scenario ? `/s/${scenario}` : '';
    status.dataset.state = 'running';
    status.textContent = 'Placing the order…';
    list.replaceChildren();
    let calls;
    try {
      const order = await composeOrder(fields, {
        services: Object.fromEntries(Object.entries(services).map(([name, url]) => [name, url + base])),
        deadlineMs: 8000,
      });
      calls = order.calls;
      status.dataset.state = 'ok';
      status.textContent = `Order ${order.orderId} ${order.status}: ${(order.total / 100).toFixed(2)} ${order.currency}`;
    } catch (e) {
      if (!(e instanceof ComposeError)) throw e;
      calls = e.calls;
      status.dataset.state = 'error';
      status.textContent = `${e.code} at ${e.call}: ${e.message}`;
    }
    for (const [name, record] of Object.entries(calls)) {
      list.append(text('li', `${name}: ${record.state}`));
    }
  });
  form.querySelector('button').disabled = false;
  status.dataset.state = 'ready';
  status.textContent = 'Ready';
}
