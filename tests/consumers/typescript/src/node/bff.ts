// README: Install and use | import { composeOrder, ComposeError } from 'parallel-composer'; // or require('parallel-composer')
// The Node example, in a Node TypeScript project ("moduleResolution": "nodenext", @types/node,
// no DOM library): the package's "node" export and its types, which have no init().
import { composeOrder, ComposeError } from 'parallel-composer'; // or require('parallel-composer')
import * as node from 'parallel-composer';
import type { OrderRequest, OrderResult } from 'parallel-composer';

// In Node's ESM, the default import of this CommonJS build is its module.exports, which
// has compose() and the rest but is no init() to call: the .wasm is read from disk on load.
// @ts-expect-error not callable
await node.default();
const composeFromDefault: typeof composeOrder = node.default.composeOrder;

export async function checkout(request: OrderRequest, checkoutId: string) {
  try {
    return { status: 200, body: await composeOrder(request, {
      baseUrl: 'http://gateway.internal:8080/api',
      operationId: checkoutId, // a resubmitted checkout reuses its Idempotency-Keys
      deadlineMs: 8000,
    }) };
  } catch (e) {
    if (!(e instanceof ComposeError)) throw e;
    // resubmit: 'same-operation' (retry with this checkoutId) or 'new-operation' (start a new one)
    const body = { code: e.code, call: e.call, resubmit: e.resubmit };
    return { status: e.code === 'PAYMENT_DECLINED' ? 402 : 502, body };
  }
}

const reply = await checkout({ customerId: 'c-1', cartId: 'k-1', paymentMethodId: 'pm_1' }, 'chk-1');
if (reply.status === 200) {
  const order = reply.body as OrderResult;
  process.stdout.write(`${order.orderId} ${order.total}\n`);
}
