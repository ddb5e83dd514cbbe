// docs/options.md: Optional calls and fallbacks | const plan = { calls: {
// Passed straight to compose(), the plan is checked field by field as written.
import { compose, type CallState } from 'parallel-composer';

const plan = { calls: {
  user:  { url: 'https://users.internal/users/{input.id}' },
  recs:  { url: 'https://recs.internal/for/{user.id}', fallback: { items: [] } },
  promo: { url: 'https://promo.internal/banner', optional: true },
  page:  { url: 'https://cms.internal/page?recs={recs.items.length}' },
} };
const { data, calls, fellBack } = await compose(plan, { id: 'u1' });
// recs down: data.recs is { items: [] }, page still ran, fellBack is ["recs"],
// calls.recs is { state: "failed", status: 503, error: { code: "HTTP_STATUS", ... }, ... }.
// promo down: calls.promo.state is "failed", data has no promo, and any call reading it is skipped.
const promoState: CallState = calls.promo.state;
const recsStatus: number | null = calls.recs.status;
const recsCode = calls.recs.error?.code;
const fellBackNames: string[] = fellBack;
const recs: unknown = data.recs;
