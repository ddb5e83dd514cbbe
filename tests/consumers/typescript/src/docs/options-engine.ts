// docs/options.md: The generic engine | import init, { compose, validatePlan } from 'parallel-composer';
// The generic engine example. One change for TypeScript: `satisfies Plan`, so that the plan
// held in a variable keeps 'POST' as a method rather than widening it to string.
import init, { compose, validatePlan, type Plan, type PlanSummary } from 'parallel-composer';
await init();

const plan = {
  calls: {
    user:  { url: 'https://api.example/users/{input.userId}' },
    posts: { url: 'https://api.example/posts?author={user.id}' },
    audit: { method: 'POST', url: 'https://api.example/audit',
             body: { userId: '{user.id}', count: '{posts.length}' },
             after: ['posts'], headers: { 'X-Source': 'portal' } },
  },
} satisfies Plan;
const summary: PlanSummary = validatePlan(plan);              // { stages: [["user"], ["posts"], ["audit"]] }, or throws INVALID_PLAN
const { data, calls, stages } = await compose(plan, { userId: 'u/1' }, { schedule: 'eager' });
const stageNames: string[][] = [...summary.stages, ...stages];
const userReply: unknown = data.user;
const attempts: number = calls.audit.attempts;
