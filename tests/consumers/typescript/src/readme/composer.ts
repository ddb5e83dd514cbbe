// README: A composer that remembers | import init, { createComposer } from 'parallel-composer';
import init, { createComposer, type OrderResult, type PrefetchResult } from 'parallel-composer';

declare const placeOrderButton: HTMLButtonElement;
declare const operationId: string;
declare function show(orderId: string): void;

await init();
const composer = createComposer({ baseUrl: 'https://gateway.internal/api', deadlineMs: 8000 });
const request = { customerId: 'c-42', cartId: 'k-7', paymentMethodId: 'pm_1' };

// On page open: the reads (customer, cart) and the quotes (pricing, shipping, tax), never a write.
const prefetched: Promise<PrefetchResult> = composer.prefetchOrder(request);
prefetched.catch(() => {}); // a failed prefetch only means a colder click

// On "Place order": only what was not cached is sent.
placeOrderButton.onclick = async () => {
  const order: OrderResult = await composer.composeOrder(request, { operationId });
  const cached: boolean = order.calls.customer.cached;
  const age: number | null = order.calls.customer.ageMs;
  show(order.orderId);
  void cached;
  void age;
};
