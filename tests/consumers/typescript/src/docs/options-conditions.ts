// docs/options.md: Conditions | const plan = { calls: {
// Passed straight to compose(), the plan with its conditions is checked field by field as written.
import { compose, type CallState, type Condition, type Plan } from 'parallel-composer';

const plan = { calls: {
  customer: { url: 'https://customers.internal/customers/{input.customerId}' },
  points:   { url: 'https://loyalty.internal/points/{customer.id}',
              when: { equals: ['{customer.tier}', 'gold'] } },
  secure:   { url: 'https://payments.internal/3ds/{input.cardId}',
              when: { and: [{ gt: ['{input.amount}', 250] }, { in: ['{customer.country}', ['DE', 'FR']] }] } },
} };
const { calls } = await compose(plan, { customerId: 'c1', cardId: 'k1', amount: 300 });
// A silver customer: calls.points.state is "not-needed", and nothing was sent to the loyalty service.
const pointsState: CallState = calls.points.state;
const notNeeded: CallState = 'not-needed';
const typed: Plan = plan;
const exists: Condition = { exists: '{customer.loyaltyId}' };
const negated: Condition = { not: { in: ['{customer.country}', '{input.blocked}'] } };
// @ts-expect-error: `exists` takes one placeholder, bare, not an array
const wrong: Condition = { exists: ['{customer.loyaltyId}'] };
export { pointsState, notNeeded, typed, exists, negated, wrong };
