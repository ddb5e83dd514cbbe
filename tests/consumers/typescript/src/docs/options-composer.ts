// docs/options.md: The reply cache | const composer = createComposer({ cacheEntries: 200 });
import { createComposer, ComposeError, type CircuitHealth, type Plan } from 'parallel-composer';

const composer = createComposer({
  cacheEntries: 200,
  hedge: { afterMs: 80, maxExtraPercent: 5 },
  breaker: { failures: 5, windowMs: 10000, cooldownMs: 30000 },
  cache: { tax: false, pricing: { maxAgeMs: 5000 } },
});
const plan: Plan = { calls: {
  user:  { url: 'https://api.example/users/{input.id}', cache: { maxAgeMs: 60000, staleWhileRevalidateMs: 300000 } },
  quote: { url: 'https://api.example/quotes', method: 'POST', safe: true, body: { user: '{user.id}' },
           cache: { maxAgeMs: 10000 } },
  order: { url: 'https://api.example/orders', method: 'POST', body: { quote: '{quote.id}' } },
} };
await composer.prefetch(plan, { id: 'u1' });
const { calls } = await composer.compose(plan, { id: 'u1' }, { hedge: { afterMs: 50 } });
const served: boolean = calls.user.cached && !calls.order.cached && !calls.order.hedged;
const dropped: number = composer.invalidate('user') + composer.invalidate(({ call, method, url }) => call === 'quote' || (method === 'GET' && url.includes('/users/')));
const cleared: number = composer.clear();
const health: Record<string, CircuitHealth> = composer.health();
for (const [origin, { state, failures, retryAt }] of Object.entries(health)) {
  if (state === 'open') console.log(origin, failures, retryAt === null ? 'closed' : new Date(retryAt));
}
try {
  await composer.compose(plan, { id: 'u1' });
} catch (e) {
  if (e instanceof ComposeError && e.code === 'CIRCUIT_OPEN') console.log(e.origin, e.retryAt);
}
void served;
void dropped;
void cleared;
