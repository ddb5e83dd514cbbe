// docs/options.md: Progress, timings and tracing | const bar = document.querySelector('progress');   // <progress value="0" max="1">
import { compose, type ComposeEvent, type Plan } from 'parallel-composer';

const plan: Plan = { calls: {
  user:  { url: 'https://api.example/users/{input.id}' },
  posts: { url: 'https://api.example/users/{user.id}/posts' },
} };
const input = { id: 'u1' };
const status = document.createElement('p');

const bar = document.querySelector('progress')!;
const total = Object.keys(plan.calls).length;
let settled = 0;
const { data, traceId } = await compose(plan, input, {
  onEvent(e: ComposeEvent) {
    if (e.type === 'end' || e.type === 'skip' || e.type === 'cancel') bar.value = ++settled / total;
    if (e.type === 'retry') status.textContent = `${e.call}: retrying in ${Math.round(e.waitMs)} ms`;
  },
  timings: true,
  traceContext: ['https://api.example'],
});
const trace: string | null = traceId;
export { data, trace };
