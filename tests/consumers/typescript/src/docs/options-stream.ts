// docs/options.md: Results as they arrive | import { composeStream, ComposeError } from 'parallel-composer';
import { composeStream, ComposeError, type CallRecord, type ComposeErrorCode, type ComposeResult } from 'parallel-composer';

declare function render(call: string, data: unknown, record: CallRecord): void;
declare function done(result: ComposeResult): void;
declare function showError(code: ComposeErrorCode, calls: Record<string, CallRecord>): void;

const plan = {
  calls: {
    user: { url: '/api/users/{input.id}' },
    orders: { url: '/api/orders?user={user.id}' },
    recs: { url: '/api/recs/{user.id}', fallback: { items: [] } },
  },
};

try {
  for await (const part of composeStream(plan, { id: 'u1' }, { deadlineMs: 5000 })) {
    if (part.type === 'call') render(part.call, part.data, part.record); // as each reply arrives
    else done(part.result); // what compose() would resolve to: { data, calls, stages, fellBack, traceId }
  }
} catch (e) {
  if (e instanceof ComposeError) showError(e.code, e.calls); // the error compose() would reject with
  else throw e;
}
