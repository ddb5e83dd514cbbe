// docs/options.md: Compensation | inventory: {
// The page shows one call of a plan; here it is, verbatim, inside a whole plan.
import { validatePlan, type Plan } from 'parallel-composer';

const plan: Plan = {
  calls: {
    cart: { url: 'https://cart.internal/carts/{input.cartId}' },
inventory: {
  method: 'POST', url: 'https://inventory.internal/reservations', body: { items: '{cart.items}' },
  compensate: { method: 'DELETE', url: 'https://inventory.internal/reservations/{inventory.reservationId}' },
},
  },
};
validatePlan(plan);
