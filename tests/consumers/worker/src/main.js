// The page: keeps the composition off the main thread. It sends the plan and the input to a
// module worker, which runs compose(), and shows what the worker posts back.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const form = document.querySelector('#quote');
const status = document.querySelector('#status');
const output = document.querySelector('#result');
const scenario = new URLSearchParams(location.search).get('scenario');
const config = fetch('/config.json').then((r) => r.json());

/** Customer and cart at once, then pricing with what both returned. */
function pricingPlan(services) {
  const at = (name) => services[name] + (scenario ? `/s/${scenario}` : '');
  return {
    calls: {
      customer: { url: `${at('customer')}/customers/{input.customerId}` },
      cart: { url: `${at('cart')}/carts/{input.cartId}` },
      pricing: { method: 'POST', url: `${at('pricing')}/quotes`, body: { items: '{cart.items}', tier: '{customer.tier}' } },
    },
  };
}

worker.addEventListener('message', ({ data }) => {
  if (data.type === 'ready') {
    form.querySelector('button').disabled = false;
    status.dataset.state = 'ready';
    status.textContent = 'Ready';
    return;
  }
  status.dataset.state = data.ok ? 'ok' : 'error';
  status.textContent = data.ok
    ? `Subtotal ${(data.result.data.pricing.subtotal / 100).toFixed(2)}, discount ${(data.result.data.pricing.discount / 100).toFixed(2)}`
    : `${data.error.code} at ${data.error.call}`;
  output.textContent = JSON.stringify(data, null, 2);
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  status.dataset.state = 'running';
  output.textContent = '';
  worker.postMessage({ plan: pricingPlan((await config).services), input: Object.fromEntries(new FormData(form)) });
});
