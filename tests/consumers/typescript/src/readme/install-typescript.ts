// README: Install and use | import init, { compose, ComposeError, type ComposeOptions, type Plan } from 'parallel-composer';
// The README's TypeScript example, verbatim (typescript.test.mjs checks that it is).
import init, { compose, ComposeError, type ComposeOptions, type Plan } from 'parallel-composer';

await init();
const plan = {
  calls: {
    user: { url: 'https://api.example/users/{input.userId}' },
    audit: { method: 'POST', url: 'https://api.example/audit', body: { userId: '{user.id}' } },
  },
} satisfies Plan;
const options: ComposeOptions = { timeoutMs: 2000, deadlineMs: 5000, schedule: 'eager' };
try {
  const { data, calls } = await compose(plan, { userId: 'u1' }, options);
  console.log(data.user, calls.audit.state); // calls.audit: CallRecord
} catch (e) {
  if (e instanceof ComposeError && e.code === 'TIMEOUT') console.log(e.call, e.calls);
  else throw e;
}
