// docs/options.md: The generic engine | function deepFreeze(value) {
// The page's deepFreeze, typed: a plan frozen all the way down goes to compose() like any
// other, and compose() reads it once.
import init, { compose, type Plan } from 'parallel-composer';
await init();

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
const PROFILE_PLAN = deepFreeze({ calls: { user: { url: 'https://api.example/users/{input.userId}' } } } satisfies Plan);
const { data } = await compose(PROFILE_PLAN, { userId: 'u1' });
const user: unknown = data.user;
