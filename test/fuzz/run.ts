import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `npm run fuzz -- --minutes N [--seed S] [--json]`: the fuzzing suite of `npm test` (test/fuzz)
 * for N minutes instead of about one, its files one after the other (one core, so a shared
 * machine keeps the other), then a table of what ran: cases per property, their rate, the
 * requests, messages and blocks behind them, and the seeds (a failure prints its own replay
 * command, as in `npm test`). Exits non-zero when a property failed.
 */
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const minutes = Number(flag("--minutes") ?? "10");
const seed = flag("--seed");
const json = args.includes("--json");
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error("--minutes must be a positive number");
  process.exit(2);
}

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const report = join(tmpdir(), `lotchain-fuzz-${process.pid}.jsonl`);
rmSync(report, { force: true });
const vitest = join(repo, "node_modules", "vitest", "vitest.mjs");
const child = spawn(
  process.execPath,
  [vitest, "run", "test/fuzz", "--no-file-parallelism", "--testTimeout", "0", "--hookTimeout", "0"],
  {
    cwd: repo,
    stdio: json ? ["ignore", "ignore", "inherit"] : "inherit",
    env: {
      ...process.env,
      LOTCHAIN_FUZZ_MS: String(Math.round(minutes * 60_000)),
      LOTCHAIN_FUZZ_REPORT: report,
      ...(seed !== undefined ? { LOTCHAIN_FUZZ_SEED: seed } : {}),
    },
  },
);
const started = Date.now();
const code: number = await new Promise((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
const rows = existsSync(report)
  ? readFileSync(report, "utf8")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, number | string | boolean>)
  : [];
rmSync(report, { force: true });

const summary = {
  minutes,
  wallSeconds: Math.round((Date.now() - started) / 1000),
  failed: code !== 0,
  properties: rows.map(
    (r): Record<string, number | string | boolean> => ({
      ...r,
      casesPerSecond: Math.round((Number(r.cases) / Number(r.ms)) * 1000),
    }),
  ),
};
if (json) console.log(JSON.stringify(summary));
else {
  console.log(
    `\nfuzzing for ${minutes} min: ${summary.wallSeconds} s, ${code === 0 ? "no failure" : "FAILED"}`,
  );
  for (const p of summary.properties) {
    const extra = Object.entries(p)
      .filter(
        ([k]) => !["name", "file", "seed", "cases", "ms", "failed", "casesPerSecond"].includes(k),
      )
      .map(([k, v]) => `${v} ${k}`)
      .join(", ");
    console.log(
      `  ${String(p.name).padEnd(34)} ${String(p.cases).padStart(9)} cases ${String(p.casesPerSecond).padStart(6)}/s  seed ${p.seed}${p.failed ? "  FAILED" : ""}${extra ? `  (${extra})` : ""}`,
    );
  }
}
process.exit(code);
