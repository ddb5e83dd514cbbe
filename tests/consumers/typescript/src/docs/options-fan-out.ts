// docs/options.md: Fan-out | const plan = { calls: {
// The page's plan, typed as a Plan: its fan-out call is checked field by field as written.
import { compose, ComposeError, type CallRecord, type ComposeEvent, type Plan } from 'parallel-composer';

const plan: Plan = { calls: {
  cart:    { url: 'https://carts.internal/carts/{input.cartId}' },
  reserve: { method: 'POST', url: 'https://inventory.internal/reservations',
             forEach: '{cart.items}', as: 'line', concurrency: 4,
             body: { sku: '{line.sku}', quantity: '{line.quantity}' },
             compensate: { method: 'DELETE', url: 'https://inventory.internal/reservations/{reserve.id}' } },
  confirm: { method: 'POST', url: 'https://orders.internal/orders',
             body: { reservations: '{reserve}', first: '{reserve.0.id}' } },
} };
const { data, calls } = await compose(plan, { cartId: 'k1' }, { operationId: 'order-7' });
// data.reserve: one reply per line, in the cart's order; calls.reserve.items: one record per line.
const items: CallRecord[] | undefined = calls.reserve.items;
const reserved: unknown = data.reserve;
function failedItem(e: unknown): number | null {
  return e instanceof ComposeError ? e.item : null;
}
function eventItem(e: ComposeEvent): number | undefined {
  return e.type === 'skip' ? undefined : e.item;
}
// @ts-expect-error: `concurrency` is a number of items
const wrong: Plan = { calls: { each: { url: '/x', forEach: '{input.ids}', concurrency: 'four' } } };
export { items, reserved, failedItem, eventItem, wrong };
