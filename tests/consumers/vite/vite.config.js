import { defineConfig } from 'vite';
import wasm from 'vite-plugin-wasm';

export default defineConfig({
  // Only the bundler build (parallel-composer/bundler) needs the plugin: it imports the .wasm
  // as an ES module. The web build (index.html) works with Vite as it is.
  plugins: [wasm()],
  build: {
    // The bundler build instantiates its .wasm with a top-level await.
    target: 'es2022',
    rollupOptions: {
      input: { main: 'index.html', bundler: 'bundler.html' },
    },
  },
});
