// When the package was last changed at its sources: what a build of it reads (the crate,
// the js/ snippets, the manifests and scripts/build-pkg.mjs). The benchmark, the Node
// benchmark and the chaos run rebuild a package older than this. No dependencies, so that a
// Node-only script can import it without loading a browser driver.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['src', 'js', 'Cargo.toml', 'Cargo.lock', 'scripts/build-pkg.mjs'];

/** The newest file under `paths` (files or directories): `{ mtimeMs, file }`. */
export function newestMtime(paths) {
  let newest = 0;
  let which = null;
  const visit = (p) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) visit(join(p, e));
    } else if (st.mtimeMs > newest) {
      newest = st.mtimeMs;
      which = p;
    }
  };
  paths.forEach(visit);
  return { mtimeMs: newest, file: which };
}

/** The newest of the package's sources: `{ mtimeMs, file }`. */
export function newestPackageSource() {
  return newestMtime(SOURCES.map((p) => join(ROOT, p)));
}
