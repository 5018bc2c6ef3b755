import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "./paths.js";

export const MIN_NODE_MAJOR = 24;

/**
 * lotchain runs on Node.js 24 (libp2p 3 needs at least 22). The project pins that runtime as the
 * dev dependency `node@24`; npm scripts and npx put it first on PATH. When the bin is started by
 * an older Node anyway (a shell whose PATH finds the system Node first), run the same command
 * again on the pinned runtime. Returns false when the current runtime is fine.
 */
export function relaunchOnPinnedNode(): boolean {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= MIN_NODE_MAJOR) return false;
  const pinned = join(packageRoot(), "node_modules", "node", "bin", "node");
  if (!existsSync(pinned)) {
    process.stderr.write(
      `lotchain: needs Node.js ${MIN_NODE_MAJOR} or newer (this is ${process.version}); run "npm ci" to install the pinned runtime\n`,
    );
    process.exit(1);
  }
  const child = spawn(pinned, process.argv.slice(1), { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
  return true;
}
