// README: parallel-composer | import init, { composeOrder } from 'parallel-composer';
// The README's opening example, unchanged: the web build with init(), then one order.
import init, { composeOrder } from 'parallel-composer';

await init();
const order = await composeOrder(
  { customerId: 'c-42', cartId: 'k-7', paymentMethodId: 'pm_1' },
  { baseUrl: 'https://gateway.internal/api', deadlineMs: 8000 },
);
console.log(order.orderId, order.total, order.currency); // the total in integer cents

const orderId: string = order.orderId;
const total: number = order.total;
const currency: string = order.currency;
