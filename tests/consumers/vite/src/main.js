// The web build: `init()` fetches the .wasm, which Vite emitted as an asset (the glue's
// `new URL('parallel_composer_bg.wasm', import.meta.url)`), once, before the first order.
import init, { composeOrder, ComposeError } from 'parallel-composer';
import { mountCheckout } from './checkout.js';

await init();
mountCheckout({ composeOrder, ComposeError });
