// The bundler build: the .wasm is an ES module import (vite-plugin-wasm in vite.config.js),
// instantiated when this module loads; there is no init() to call.
import { composeOrder, ComposeError } from 'parallel-composer/bundler';
import { mountCheckout } from './checkout.js';

mountCheckout({ composeOrder, ComposeError });
