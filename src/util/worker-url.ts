import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * URL of a worker-thread entry module next to `fromUrl` (pass import.meta.url). Workers run the
 * compiled JavaScript: when the caller itself runs from TypeScript sources (vitest), the file is
 * looked up in dist/ instead, which `npm test` builds before running the tests.
 */
export function workerUrl(fromUrl: string, name: string): URL {
  const here = fileURLToPath(fromUrl);
  if (here.endsWith(".js")) return new URL(`./${name}.js`, fromUrl);
  const marker = `${"/"}src${"/"}`;
  const index = here.lastIndexOf(marker);
  if (index < 0) throw new Error(`cannot locate dist/ for ${here}`);
  const root = here.slice(0, index);
  const rel = here.slice(index + 1).replace(/[^/]+\.ts$/, `${name}.js`);
  const compiled = `${root}/dist/${rel}`;
  if (!existsSync(compiled))
    throw new Error(`worker ${compiled} is not built: run "npm run build" first`);
  return pathToFileURL(compiled);
}
