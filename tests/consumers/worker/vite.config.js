import { defineConfig } from 'vite';

export default defineConfig({
  // A module worker, as the page creates it ({ type: 'module' }); the package's glue finds
  // its .wasm with import.meta.url, and its init() is awaited at the worker's top level.
  worker: { format: 'es' },
  build: { target: 'es2022' },
});
