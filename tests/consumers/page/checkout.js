// The README's "A page, no bundler": the web build imported by URL from where the server
// exposes node_modules/, init() once, then an order. `?scenario=<id>` picks a mock scenario.
import init, { composeOrder, ComposeError } from '/node_modules/parallel-composer/web/parallel_composer.js';

const status = document.querySelector('#status');
await init(); // once, before the first call
const { services } = await (await fetch('/config.json')).json();
const scenario = new URLSearchParams(location.search).get('scenario');
try {
  const order = await composeOrder(
    { customerId: 'c-42', cartId: 'k-7', paymentMethodId: 'pm_1' },
    { services: Object.fromEntries(Object.entries(services).map(([name, url]) => [name, `${url}/s/${scenario}`])) },
  );
  status.dataset.state = 'ok';
  status.textContent = `Order ${order.orderId}: ${(order.total / 100).toFixed(2)} ${order.currency}`;
} catch (e) {
  status.dataset.state = 'error';
  status.textContent = e instanceof ComposeError ? `${e.code} at ${e.call}` : String(e);
}
