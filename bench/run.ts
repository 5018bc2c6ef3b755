/**
 * `npm run bench [-- --json] [-- --only name,name]`: runs every benchmark and prints its figures.
 * Each benchmark reports absolute rates beside a raw limit measured in the same run, and their
 * ratio: the machines are shared and noisy, so ratios are the comparable figures.
 */
import { relaunchOnPinnedNode } from "../src/cli/runtime.js";

const BENCHMARKS = [
  "validate",
  "mempool",
  "lottery",
  "vrf",
  "state",
  "pow",
  "import",
  "api",
  "ingest",
  "network",
] as const;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const onlyArg = args.find((a) => a.startsWith("--only"));
  const only = onlyArg
    ? (onlyArg.includes("=") ? onlyArg.split("=")[1]! : args[args.indexOf(onlyArg) + 1]!).split(",")
    : undefined;
  const figures: Record<string, number | string> = {
    node: process.version,
    cpus: (await import("node:os")).cpus().length,
  };
  for (const name of BENCHMARKS) {
    if (only && !only.includes(name)) continue;
    let mod: { run(): Promise<Record<string, number | string>> };
    try {
      mod = await import(`./${name}.js`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") continue;
      throw e;
    }
    if (!json) process.stderr.write(`running ${name}...\n`);
    const result = await mod.run();
    Object.assign(figures, result);
    if (!json) for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(40)} ${v}`);
  }
  if (json) console.log(JSON.stringify(figures));
}

// On an older Node (started without npm run), the devnet's nodes would inherit it.
if (!relaunchOnPinnedNode())
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
