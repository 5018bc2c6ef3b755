import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { relaunchOnPinnedNode } from "../../src/cli/runtime.js";
import { curvesChart, modelTable, summarise } from "./model.js";
import { DEFAULTS, runSimulation } from "./run.js";
import { measureValidatorLimits } from "./validator-limits.js";

/**
 * `npm run sim -- --nodes N [--validators V] [--slots S] [--latency MS] [--jitter MS]
 * [--churn PCT] [--partition]`: runs the scale simulator and writes one JSON report and an SVG
 * of the propagation curve (see docs/scale.md).
 */

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

const program = new Command("sim")
  .description("N lotchain nodes on this machine over delayed loopback links, measured")
  .option("--nodes <n>", "nodes", int("--nodes", 2, 2000), DEFAULTS.nodes)
  .option(
    "--validators <n>",
    "validators among them",
    int("--validators", 1, 2000),
    DEFAULTS.validators,
  )
  .option("--slots <n>", "slots measured", int("--slots", 5, 100_000), DEFAULTS.slots)
  .option("--slot-ms <ms>", "slot length", int("--slot-ms", 100, 60_000), DEFAULTS.slotMs)
  .option("--latency <ms>", "one-way link latency", int("--latency", 0, 10_000), DEFAULTS.latencyMs)
  .option("--jitter <ms>", "link jitter (uniform ±)", int("--jitter", 0, 10_000), DEFAULTS.jitterMs)
  .option(
    "--churn <pct>",
    "share of nodes killed and restarted",
    int("--churn", 0, 50),
    DEFAULTS.churnPct,
  )
  .option("--partition", "cut the network in two halves for a while, then heal it", false)
  .option(
    "--partition-slots <n>",
    "slots the cut lasts",
    int("--partition-slots", 1, 1000),
    DEFAULTS.partitionSlots,
  )
  .option(
    "--down-slots <n>",
    "slots killed nodes stay down",
    int("--down-slots", 1, 1000),
    DEFAULTS.downSlots,
  )
  .option("--workers <n>", "worker processes", int("--workers", 1, 64), DEFAULTS.workers)
  .option("--peers <n>", "peer target of each node", int("--peers", 1, 100), DEFAULTS.targetPeers)
  .option("--finality <n>", "finality depth", int("--finality", 2, 10_000), DEFAULTS.finalityDepth)
  .option(
    "--settle <n>",
    "slots between startup and measurement",
    int("--settle", 0, 1000),
    DEFAULTS.settleSlots,
  )
  .option("--seed <n>", "seed of roles and topology", int("--seed", 0, 2 ** 31), DEFAULTS.seed)
  .option("--disk", "keep every chain in LevelDB on disk instead of memory-level")
  .option("--log-level <level>", "nodes' log level (to <out>/sim-nodes.log)", DEFAULTS.logLevel)
  .option("--out <dir>", "where the report, the SVG and the node log go", DEFAULTS.outDir)
  .option(
    "--model <reports...>",
    "run nothing: check the scale model against these reports (markdown table; --svg for curves)",
  )
  .option("--fit-on <nodes...>", "runs (by node count) the per-hop time is fitted on", ["25", "50"])
  .option("--svg <file>", "with --model: write the propagation curves of the reports here")
  .option(
    "--validator-limits",
    "run nothing: measure the lottery and snapshots for 20 to 100,000 validators",
  )
  .option("--raw", "also write what the nodes recorded (<name>.raw.json)")
  .option("--name <name>", "file name of the report and plot (default sim-<nodes>)")
  .action(async (flags) => {
    if (flags.model) {
      const runs = (flags.model as string[]).map((f) =>
        summarise(JSON.parse(readFileSync(f, "utf8"))),
      );
      process.stdout.write(`${modelTable(runs, (flags.fitOn as string[]).map(Number))}\n`);
      if (flags.svg) writeFileSync(flags.svg, curvesChart(runs, flags.slotMs));
      return;
    }
    if (flags.validatorLimits) {
      const rows = measureValidatorLimits([20, 1_000, 10_000, 100_000]);
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    const { report, svg, raw } = await runSimulation({
      nodes: flags.nodes,
      validators: flags.validators,
      slots: flags.slots,
      slotMs: flags.slotMs,
      latencyMs: flags.latency,
      jitterMs: flags.jitter,
      churnPct: flags.churn,
      partition: flags.partition,
      partitionSlots: flags.partitionSlots,
      downSlots: flags.downSlots,
      workers: flags.workers,
      targetPeers: flags.peers,
      finalityDepth: flags.finality,
      settleSlots: flags.settle,
      seed: flags.seed,
      memory: !flags.disk,
      logLevel: flags.logLevel,
      outDir: flags.out,
    });
    const name = flags.name ?? `sim-${flags.nodes}`;
    writeFileSync(join(flags.out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(flags.out, `${name}.svg`), svg);
    if (flags.raw) writeFileSync(join(flags.out, `${name}.raw.json`), JSON.stringify(raw));
    process.stdout.write(`${JSON.stringify({ targets: report.targets }, null, 2)}\n`);
    process.stderr.write(
      `report: ${join(flags.out, `${name}.json`)}, plot: ${join(flags.out, `${name}.svg`)}\n`,
    );
  });

// Started by an older Node (`node dist/bench/sim/main.js` from a shell whose PATH finds the
// system Node first), the workers would inherit it and libp2p would fail in every node.
if (!relaunchOnPinnedNode())
  program.parseAsync().catch((err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
