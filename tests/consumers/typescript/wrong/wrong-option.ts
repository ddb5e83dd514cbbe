// Deliberately wrong, without @ts-expect-error: typescript.test.mjs runs tsc on this file
// and asserts that it fails with exactly these diagnostics.
import { compose, composeOrder } from 'parallel-composer';

await compose({ calls: { a: { url: 'https://api.example/a' } } }, {}, { timeoutMS: 2000 });
await composeOrder({ customerId: 'c', cartId: 'k', paymentMethodId: 'p' }, { deadlinems: 5000 });
