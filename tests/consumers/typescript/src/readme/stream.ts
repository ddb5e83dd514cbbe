// README: Results as they arrive | import { composeStream } from 'parallel-composer';
// The README's for-await example: the page's own functions are declared; the parts narrow
// on `type`.
import { composeStream, type ComposeResult, type Plan } from 'parallel-composer';

declare const plan: Plan;
declare function render(call: string, data: unknown): void;
declare function show(result: ComposeResult): void;

for await (const part of composeStream(plan, { id: 'u1' }, { deadlineMs: 5000 })) {
  if (part.type === 'call') render(part.call, part.data); // each call's reply, as it arrives
  else show(part.result); // type 'result': the same object compose() resolves to
}
