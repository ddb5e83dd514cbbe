// README: Install and use | import { composeOrder, ComposeError } from 'parallel-composer/bundler'; // no init()
// The bundler build's types: the same API, and no default export (no init()).
import { composeOrder, ComposeError } from 'parallel-composer/bundler'; // no init()
import * as bundler from 'parallel-composer/bundler';

// @ts-expect-error the bundler build has no init(): the bundler instantiates the .wasm
bundler.default;
const order = await composeOrder({ customerId: 'c-42', cartId: 'k-7', paymentMethodId: 'pm_1' }, { baseUrl: 'https://gateway.internal/api' });
const orderId: string = order.orderId;
const isError = (e: unknown): e is ComposeError => e instanceof ComposeError;
