// README: Use it in a portal | import init, { composeOrder, ComposeError } from 'parallel-composer';
// The README's portal example, as a TypeScript portal would write it: the page's own
// functions are declared; the example's code is unchanged.
import init, { composeOrder, ComposeError } from 'parallel-composer';
import type { CallRecord, CompensationRecord, ComposeErrorCode } from 'parallel-composer';

declare const cancelButton: HTMLButtonElement;
declare function show(text: string): void;
declare function askForAnotherCard(retry: (paymentMethodId: string) => Promise<void>): void;
declare function offerRetry(retry: () => Promise<void>, code: ComposeErrorCode, calls: Record<string, CallRecord>, compensations: CompensationRecord[]): void;

await init(); // loads the .wasm once

const controller = new AbortController();
cancelButton.onclick = () => controller.abort();
let operationId = crypto.randomUUID(); // this checkout's intent: a double submit or a resubmission reuses its keys

async function placeOrder(paymentMethodId: string) {
  try {
    const order = await composeOrder(
      { customerId: 'c-42', cartId: 'k-7', paymentMethodId, shippingOption: 'express' },
      {
        baseUrl: 'https://gateway.internal/api',           // a service without its own entry uses ${baseUrl}/${name}
        services: { fraud: 'https://fraud.internal/v2' },   // or one base URL per service
        signal: controller.signal,
        deadlineMs: 8000,                                   // the whole order, retries included
        operationId,                                        // each write's Idempotency-Key is `${operationId}:<call>`
      },
    );
    show(`Order ${order.orderId}: ${order.total / 100} ${order.currency}`);
  } catch (e) {
    if (!(e instanceof ComposeError)) throw e;
    // "new-operation": nothing it made remains (a declined card's reservation was released),
    // so the next try is a new intent. Under the old id the services would replay the decline.
    if (e.resubmit === 'new-operation') operationId = crypto.randomUUID();
    if (e.code === 'PAYMENT_DECLINED') askForAnotherCard(placeOrder);
    // "same-operation": a write's outcome is unknown (or it was cancelled mid-way): trying
    // again with the same operationId gets what exists back by key and finishes the order.
    else offerRetry(() => placeOrder(paymentMethodId), e.code, e.calls, e.compensations);
  }
}

await placeOrder('pm_1');
