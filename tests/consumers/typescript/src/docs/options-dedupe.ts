// docs/options.md: Dedupe and concurrency limits | const plan = { calls: {
import { compose } from 'parallel-composer';

const plan = { calls: {
  profile: { url: 'https://api.example/users/{input.id}' },
  author:  { url: 'https://api.example/users/{post.authorId}' },
  post:    { url: 'https://api.example/posts/{input.postId}' },
  related: { url: 'https://api.example/posts?tag={post.tag}' },
} };
const { data, calls } = await compose(plan, { id: 'u1', postId: 'p9' }, {
  maxConcurrency: 4,
  maxConcurrencyPerOrigin: 2,
});
const sharedFrom: string | null = calls.author.sharedFrom;
const queuedMs: number = calls.post.queuedMs;
const author: unknown = data.author;
export { sharedFrom, queuedMs, author };
