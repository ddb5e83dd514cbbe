// README: Install and use | // checkout.js
// checkout.js
import init, { composeOrder } from 'parallel-composer';

await init(); // once, before the first call
const order = await composeOrder(
  { customerId: 'c-42', cartId: 'k-7', paymentMethodId: 'pm_1' },
  { baseUrl: 'https://gateway.internal/api' },
);
const total: number = order.total;
