// The example plans preloaded in the plan editor. Each one shows one thing compose() does,
// against the running mock services: their /lab endpoints (whose `delay` query sets the
// latency and `status` the reply's status; /lab/echo answers with the query it was sent, so
// a later call reads what an earlier URL said) and, for the compensation, the real
// inventory service. `services` is /config.json's map of service name to base URL.

export const EXAMPLES = [
  {
    id: 'fan-out',
    label: 'Fan-out and join',
    about: 'Two calls start at once; two more need their replies; the last one joins everything.',
    input: { user: 'ada' },
    plan: (s) => ({
      calls: {
        profile: { url: `${s.customer}/lab/echo?user={input.user}&delay=200` },
        catalog: { url: `${s.cart}/lab/items?n=3&delay=300` },
        quote: {
          method: 'POST',
          url: `${s.pricing}/lab/echo?delay=250`,
          body: { user: '{profile.query.user}', itemCount: '{catalog.count}' },
        },
        stock: { url: `${s.inventory}/lab/items?n={catalog.count}&delay=150` },
        audit: {
          method: 'POST',
          url: `${s.notification}/lab/echo?delay=100`,
          body: { quoted: '{quote.body}', inStock: '{stock.count}' },
          after: ['profile'],
        },
      },
    }),
  },
  {
    id: 'slow-branch',
    label: 'One slow branch (try eager, then stages)',
    about: 'A slow call sits beside a fast chain. Eager lets the chain run on; stages makes every stage wait for the slow call.',
    input: {},
    plan: (s) => ({
      calls: {
        start: { url: `${s.customer}/lab/echo?delay=100` },
        slow: { url: `${s.fraud}/lab/echo?after={start.path}&delay=600` },
        fast1: { url: `${s.pricing}/lab/echo?after={start.path}&delay=150` },
        fast2: { url: `${s.tax}/lab/echo?after={fast1.path}&delay=150` },
        fast3: { url: `${s.shipping}/lab/echo?after={fast2.path}&delay=150` },
        done: { method: 'POST', url: `${s.notification}/lab/echo?delay=50`, body: { slow: '{slow.query}', fast: '{fast3.query}' } },
      },
    }),
  },
  {
    id: 'fallback',
    label: 'An optional call with a fallback',
    about: 'The recommendations service answers 503 (retried, then given up); its fallback stands in and the page still renders.',
    input: { user: 'ada' },
    plan: (s) => ({
      calls: {
        user: { url: `${s.customer}/lab/echo?user={input.user}&delay=120` },
        recommendations: {
          url: `${s.fraud}/lab/echo?for={user.query.user}&status=503&delay=80`,
          fallback: { query: { picks: 'bestsellers' } },
        },
        page: {
          method: 'POST',
          url: `${s.notification}/lab/echo?delay=60`,
          body: { user: '{user.query.user}', picks: '{recommendations.query.picks}' },
        },
      },
    }),
  },
  {
    id: 'compensation',
    label: 'A write undone when a later call fails',
    about: 'The stock is reserved, then the charge fails (HTTP 402): the reservation is released by its compensation.',
    input: { cartId: 'k1' },
    plan: (s) => ({
      calls: {
        cart: { url: `${s.cart}/carts/{input.cartId}` },
        reserve: {
          method: 'POST',
          url: `${s.inventory}/reservations`,
          body: { cartId: '{cart.id}', items: '{cart.items}' },
          compensate: { method: 'DELETE', url: `${s.inventory}/reservations/{reserve.reservationId}` },
        },
        charge: {
          method: 'POST',
          url: `${s.payment}/lab/echo?status=402&delay=150`,
          body: { reservation: '{reserve.reservationId}' },
        },
      },
    }),
  },
  {
    id: 'condition',
    label: 'A call only when it is needed (when)',
    about: 'Loyalty points are for gold customers only, and this one is silver: points is not needed, so nothing is sent for it, '
      + 'nor for badge, which reads its reply. receipt, only ordered after points, still runs. Set the input\'s tier to gold to see all four run.',
    input: { tier: 'silver' },
    plan: (s) => ({
      calls: {
        customer: { url: `${s.customer}/lab/echo?tier={input.tier}&id=7&delay=120` },
        points: {
          url: `${s.pricing}/lab/echo?customer={customer.query.id}&balance=120&delay=150`,
          when: { equals: ['{customer.query.tier}', 'gold'] },
        },
        badge: { url: `${s.shipping}/lab/echo?balance={points.query.balance}&delay=80` },
        receipt: {
          method: 'POST',
          url: `${s.notification}/lab/echo?delay=60`,
          body: { customer: '{customer.query.id}' },
          after: ['points'],
        },
      },
    }),
  },
  {
    id: 'for-each',
    label: 'One call per item of a list (forEach)',
    about: 'products lists five items; details runs once per item, two at a time (concurrency 2), and item k takes (k + 1) × 100 ms, '
      + 'so the graph draws it as a stack and the waterfall gives each item a thin bar of its own. summary reads the whole array of replies, in list order.',
    input: {},
    plan: (s) => ({
      calls: {
        products: { url: `${s.cart}/lab/items?n=5&delay=150` },
        details: {
          url: `${s.inventory}/lab/echo/products/{product.id}?name={product.name}&delay={product.id}00`,
          forEach: '{products.items}',
          as: 'product',
          concurrency: 2,
        },
        summary: { method: 'POST', url: `${s.notification}/lab/echo?delay=80`, body: { products: '{details}' } },
      },
    }),
  },
  {
    id: 'for-each-undo',
    label: 'A fan-out whose writes are undone',
    about: 'One hold per line of the input, each a write with its compensation; the charge after them fails (HTTP 402), '
      + 'so each hold is released, one by one, each with its own reply and its own line.',
    input: { lines: [{ sku: 'A-1' }, { sku: 'B-2' }, { sku: 'C-3' }] },
    plan: (s) => ({
      calls: {
        hold: {
          method: 'POST',
          url: `${s.inventory}/lab/echo/hold/{line.sku}?delay=80`,
          forEach: '{input.lines}',
          as: 'line',
          body: { sku: '{line.sku}' },
          compensate: { method: 'DELETE', url: `${s.inventory}/lab/echo/release/{line.sku}?at={index}` },
        },
        charge: { method: 'POST', url: `${s.payment}/lab/echo?status=402&delay=50`, body: { holds: '{hold}' } },
      },
    }),
  },
  {
    id: 'for-each-failure',
    label: 'A fan-out with a failing item',
    about: 'One stock check per line of the input, two at a time. Line 2 (counting from 0) answers 404: the call fails, '
      + 'line 0, still in flight, is cancelled, line 3 is never sent, and order, which needed every reply, is skipped.',
    input: {
      lines: [
        { sku: 'A-1', ms: 600, status: 200 },
        { sku: 'B-2', ms: 100, status: 200 },
        { sku: 'C-3', ms: 150, status: 404 },
        { sku: 'D-4', ms: 200, status: 200 },
      ],
    },
    plan: (s) => ({
      calls: {
        stock: {
          url: `${s.inventory}/lab/echo/stock/{line.sku}?delay={line.ms}&status={line.status}`,
          forEach: '{input.lines}',
          as: 'line',
          concurrency: 2,
        },
        order: { method: 'POST', url: `${s.order}/lab/echo?delay=50`, body: { stock: '{stock}' } },
      },
    }),
  },
  {
    id: 'cycle',
    label: 'Broken: a cycle',
    about: 'Each call waits for the other, so neither can start: validation rejects the plan before anything is sent.',
    input: {},
    plan: (s) => ({
      calls: {
        a: { url: `${s.customer}/lab/echo?from={b.query.x}` },
        b: { url: `${s.cart}/lab/echo?x={a.query.from}` },
      },
    }),
  },
];
