// README: Use it in a portal | import init, { composeOrder, ComposeError } from 'parallel-composer';
// The README's first example, as a TypeScript portal would write it: the page's own
// functions are declared; the example's code is unchanged.
import init, { composeOrder, ComposeError } from 'parallel-composer';
import type { CallRecord, CompensationRecord, ComposeErrorCode } from 'parallel-composer';

declare const cancelButton: HTMLButtonElement;
declare const checkoutId: string;
declare function show(text: string): void;
declare function askForAnotherCard(): void;
declare function report(code: ComposeErrorCode, call: string | null, calls: Record<string, CallRecord>, compensations: CompensationRecord[]): void;

await init(); // loads the .wasm once

const controller = new AbortController();
cancelButton.onclick = () => controller.abort();

try {
  const order = await composeOrder(
    { customerId: 'c-42', cartId: 'k-7', paymentMethodId: 'pm_1', shippingOption: 'express' },
    {
      baseUrl: 'https://gateway.internal/api',             // a service without its own entry uses ${baseUrl}/${name}
      services: { fraud: 'https://fraud.internal/v2' },     // or one base URL per service
      signal: controller.signal,
      deadlineMs: 8000,                                     // the whole order, retries included
      operationId: checkoutId,                              // made once per checkout: a double submit reuses the keys
    },
  );
  show(`Order ${order.orderId}: ${order.total / 100} ${order.currency}`);
} catch (e) {
  if (e instanceof ComposeError && e.code === 'PAYMENT_DECLINED') askForAnotherCard(); // the reservation was released
  else if (e instanceof ComposeError) report(e.code, e.call, e.calls, e.compensations); // which writes happened, what was undone
  else throw e;
}
