import { lineChart } from "./svg.js";

/**
 * The scale model of docs/scale.md, checked against simulator reports: a block travels
 * h(N) = log_D N gossip hops, each costing a per-hop time τ (the link's delay plus the relaying
 * node's validation); bandwidth per node per block is the amplification times the block's size
 * plus a fixed overhead per slot (heartbeats, IHAVE gossip, status polls) that does not grow
 * with N when the peer count is fixed.
 */

export interface RunSummary {
  nodes: number;
  D: number;
  latencyMs: number;
  jitterMs: number;
  /** p50 over blocks of the time, from the forger, to reach 50 % and 99 % of the nodes */
  t50: number;
  t99: number;
  /** p99 over blocks of the time to reach 99 % */
  t99p99: number;
  copies: number;
  blockBytes: number;
  bytesInPerSlot: number;
  coresUsed: number;
  elu: number;
  lagP99: number;
  load: number;
  curve: [number, number, number, number][];
}

// biome-ignore lint/suspicious/noExplicitAny: a report read back from its JSON file
type Json = Record<string, any>;

const num = (v: unknown): number => (typeof v === "number" ? v : Number.POSITIVE_INFINITY);

export function summarise(report: Json): RunSummary {
  return {
    nodes: report.network.nodes,
    D: report.network.meshDegree,
    latencyMs: report.options.latencyMs,
    jitterMs: report.options.jitterMs,
    t50: num(report.propagation.fromForger["50%"].p50),
    t99: num(report.propagation.fromForger["99%"].p50),
    t99p99: num(report.propagation.fromSlotStart["99%"].p99),
    copies: report.amplification.copiesPerMessage,
    blockBytes: report.bandwidth.blockBytes.median,
    bytesInPerSlot: report.bandwidth.in.perNodePerSlot,
    coresUsed: report.cpu.coresUsed,
    elu: report.cpu.eluMean,
    lagP99: report.cpu.lagP99Mean,
    load: report.environment.loadAverage.atMeasurement[0],
    curve: report.curve,
  };
}

export const hops = (n: number, d: number) => Math.log(n) / Math.log(d);

/** τ fitted by least squares through the origin: t = τ · h(N), over the given runs. */
export function fitHopMs(runs: readonly RunSummary[], pick: (r: RunSummary) => number): number {
  let num = 0;
  let den = 0;
  for (const r of runs) {
    const h = hops(r.nodes, r.D);
    if (!Number.isFinite(pick(r))) continue;
    num += pick(r) * h;
    den += h * h;
  }
  return den > 0 ? num / den : Number.NaN;
}

export function modelTable(runs: RunSummary[], fitOn: number[]): string {
  const base = runs.filter((r) => fitOn.includes(r.nodes));
  const tau50 = fitHopMs(base, (r) => r.t50);
  const tau99 = fitHopMs(base, (r) => r.t99);
  const lines = [
    `Per-hop time fitted on the ${fitOn.join(" and ")}-node runs: τ50 = ${tau50.toFixed(0)} ms (to half the nodes), τ99 = ${tau99.toFixed(0)} ms (to 99 %).`,
    "",
    "| nodes | hops log_D N | t50 measured | t50 model | t99 measured | t99 model | copies/msg | bytes in/node/slot | cores used | event-loop busy | lag p99 | load |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : "never");
  for (const r of [...runs].sort((a, b) => a.nodes - b.nodes)) {
    const h = hops(r.nodes, r.D);
    lines.push(
      `| ${r.nodes} | ${h.toFixed(2)} | ${ms(r.t50)} | ${ms(tau50 * h)} | ${ms(r.t99)} | ${ms(tau99 * h)} | ${r.copies.toFixed(2)} | ${Math.round(r.bytesInPerSlot)} | ${r.coresUsed.toFixed(2)} | ${Math.round(r.elu * 100)} % | ${Math.round(r.lagP99)} ms | ${r.load.toFixed(1)} |`,
    );
  }
  const h10k = hops(10_000, runs[0]?.D ?? 6);
  lines.push(
    `| **10,000** (model) | ${h10k.toFixed(2)} | | ${ms(tau50 * h10k)} | | ${ms(tau99 * h10k)} | | | | | | |`,
  );
  return lines.join("\n");
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];

/** The median propagation curves of several runs on one chart. */
export function curvesChart(runs: RunSummary[], slotMs: number): string {
  const sorted = [...runs].sort((a, b) => a.nodes - b.nodes);
  return lineChart({
    title: "Median block propagation by network size (50 ± 20 ms links, 20 validators)",
    xLabel: "ms after the start of the block's slot",
    yLabel: "nodes that have the block",
    xMax: Math.max(...sorted.map((r) => r.curve.at(-1)?.[0] ?? 2 * slotMs)),
    yMax: 1,
    yFormat: (y) => `${Math.round(y * 100)} %`,
    series: sorted.map((r, i) => ({
      name: `${r.nodes} nodes (median block)`,
      color: COLORS[i % COLORS.length]!,
      points: r.curve.map(([t, median]) => ({ x: t, y: median })),
    })),
    xMarks: [{ x: slotMs, label: "one slot" }],
    yMarks: [
      { y: 0.5, label: "50 %" },
      { y: 0.99, label: "99 %" },
    ],
  });
}
