// docs/options.md: Timeouts and deadlines | const controller = new AbortController();
// One change for TypeScript: a caught value is `unknown` under --strict, so the example
// narrows it with `instanceof ComposeError` before reading `code`, `call` and `calls`.
import { composeOrder, ComposeError, type OrderRequest } from 'parallel-composer';

declare const cancelButton: HTMLButtonElement;
declare const checkoutId: string;
declare const request: OrderRequest;

const controller = new AbortController();
cancelButton.onclick = () => controller.abort();
try {
  const order = await composeOrder(request, {
    baseUrl: '/api',
    timeoutMs: 2000,            // no single call may take over 2 s
    deadlineMs: 5000,           // the whole order within 5 s, retries and reading bodies included
    operationId: checkoutId,    // a double submit reuses the same Idempotency-Keys
    signal: controller.signal,
  });
} catch (e) {
  if (!(e instanceof ComposeError)) throw e;
  if (e.code === 'TIMEOUT') { const slow: string | null = e.call; /* e.call names the slow call, or is null for the deadline */ }
  if (e.code === 'ABORTED') { const sent = Object.entries(e.calls).filter(([, r]) => r.state !== 'not-sent'); /* the user cancelled: e.calls says which writes had been sent */ }
}
