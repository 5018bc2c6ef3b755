import type {
  BlockRecord,
  HeadRecord,
  NodeCounters,
  ProcessSample,
  ReorgRecord,
} from "./messages.js";

/**
 * The simulator's measurements, computed from what the nodes recorded: pure functions of the
 * records, so a report can be recomputed from its raw data and the analysis tested on its own.
 */

export interface BlockSeen {
  hash: string;
  parent: string;
  height: number;
  slot: number;
  forger: string;
  bytes: number;
  /** when the first node stored it: the forger, right after sealing */
  firstSeen: number;
  /** node → first time it stored the block */
  arrivals: Map<number, number>;
}

export function collectBlocks(records: readonly BlockRecord[]): Map<string, BlockSeen> {
  const blocks = new Map<string, BlockSeen>();
  for (const [node, , hash, parent, height, slot, forger, time, , bytes] of records) {
    let b = blocks.get(hash);
    if (!b) {
      b = { hash, parent, height, slot, forger, bytes, firstSeen: time, arrivals: new Map() };
      blocks.set(hash, b);
    }
    b.firstSeen = Math.min(b.firstSeen, time);
    const before = b.arrivals.get(node);
    if (before === undefined || time < before) b.arrivals.set(node, time);
  }
  return blocks;
}

/** The hashes of the chain ending at `tip`, by height. */
export function chainOf(tip: string, blocks: Map<string, BlockSeen>): Map<number, string> {
  const out = new Map<number, string>();
  let b = blocks.get(tip);
  while (b) {
    out.set(b.height, b.hash);
    b = blocks.get(b.parent);
  }
  return out;
}

/** The head most nodes ended on (ties: the higher one). */
export function finalHead(heads: readonly HeadRecord[]): { hash: string; height: number } {
  const last = new Map<number, HeadRecord>();
  for (const h of heads) {
    const before = last.get(h[0]);
    if (!before || h[1] >= before[1]) last.set(h[0], h);
  }
  const votes = new Map<string, { count: number; height: number }>();
  for (const [, , hash, height] of last.values()) {
    const v = votes.get(hash) ?? { count: 0, height };
    v.count++;
    votes.set(hash, v);
  }
  let best = { hash: "", height: -1, count: 0 };
  for (const [hash, v] of votes)
    if (v.count > best.count || (v.count === best.count && v.height > best.height))
      best = { hash, ...v };
  return { hash: best.hash, height: best.height };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Time after `from` at which `share` of `population` nodes had the block (Infinity: never). */
export function timeToReach(
  arrivals: readonly number[],
  population: number,
  share: number,
  from: number,
): number {
  const need = Math.max(1, Math.ceil(share * population - 1e-9));
  if (arrivals.length < need) return Number.POSITIVE_INFINITY;
  const sorted = [...arrivals].sort((a, b) => a - b);
  return Math.max(0, sorted[need - 1]! - from);
}

export const SHARES = [0.5, 0.9, 0.99, 1] as const;

export interface Propagation {
  blocks: number;
  /** from the start of the block's slot; share → { p50, p99 } over blocks, ms */
  fromSlotStart: Record<string, { p50: number; p99: number }>;
  /** from the moment the forger stored it (sealing done) */
  fromForger: Record<string, { p50: number; p99: number }>;
  /** the forger's delay: stored by the forger this long after its slot began */
  forgeDelay: { p50: number; p99: number };
  /** fraction of nodes reached, t ms after the slot start: median and worst-1 % block */
  curve: { t: number; median: number; p1: number; mean: number }[];
}

export function propagation(
  blocks: readonly BlockSeen[],
  population: number,
  slotStart: (slot: number) => number,
  curveMaxMs: number,
  nodesCounted: (node: number) => boolean = () => true,
): Propagation {
  const keys = SHARES.map((share) => `${share * 100}%`);
  const fromSlot: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
  const fromForger: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
  const forge: number[] = [];
  const perBlock: number[][] = [];
  for (const b of blocks) {
    const start = slotStart(b.slot);
    const times = [...b.arrivals].filter(([n]) => nodesCounted(n)).map(([, t]) => t);
    forge.push(b.firstSeen - start);
    perBlock.push(times.map((t) => t - start).sort((x, y) => x - y));
    for (const share of SHARES) {
      const key = `${share * 100}%`;
      fromSlot[key]!.push(timeToReach(times, population, share, start));
      fromForger[key]!.push(timeToReach(times, population, share, b.firstSeen));
    }
  }
  const summary = (by: Record<string, number[]>) =>
    Object.fromEntries(
      Object.entries(by).map(([k, v]) => [k, { p50: percentile(v, 50), p99: percentile(v, 99) }]),
    );
  const curve: Propagation["curve"] = [];
  const step = Math.max(5, Math.round(curveMaxMs / 200));
  for (let t = 0; t <= curveMaxMs; t += step) {
    const fractions = perBlock.map((d) => countAtMost(d, t) / population);
    curve.push({
      t,
      median: percentile(fractions, 50),
      p1: percentile(fractions, 1),
      mean: fractions.reduce((a, b) => a + b, 0) / Math.max(1, fractions.length),
    });
  }
  return {
    blocks: blocks.length,
    fromSlotStart: summary(fromSlot),
    fromForger: summary(fromForger),
    forgeDelay: { p50: percentile(forge, 50), p99: percentile(forge, 99) },
    curve,
  };
}

function countAtMost(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface Forks {
  slots: number;
  blocks: number;
  canonical: number;
  orphaned: number;
  /** heights with two or more blocks */
  contestedHeights: number;
  forksPer100Slots: number;
  orphansPer100Slots: number;
  /** slots of the range without a canonical block */
  emptySlots: number;
  /** the longest branch that lost: blocks in a row off the canonical chain */
  longestLostBranch: number;
  /** the deepest reorganisation any node made */
  deepestReorg: number;
}

export function forks(
  all: Map<string, BlockSeen>,
  canonical: Map<number, string>,
  fromSlot: number,
  toSlot: number,
  reorgs: readonly ReorgRecord[],
): Forks {
  const inRange = [...all.values()].filter((b) => b.slot >= fromSlot && b.slot <= toSlot);
  const onChain = new Set(canonical.values());
  const orphaned = inRange.filter((b) => !onChain.has(b.hash));
  const perHeight = new Map<number, number>();
  for (const b of inRange) perHeight.set(b.height, (perHeight.get(b.height) ?? 0) + 1);
  const contested = [...perHeight.values()].filter((c) => c > 1).length;
  let longest = 0;
  for (const b of orphaned) {
    let depth = 0;
    let x: BlockSeen | undefined = b;
    while (x && !onChain.has(x.hash)) {
      depth++;
      x = all.get(x.parent);
    }
    longest = Math.max(longest, depth);
  }
  const slots = toSlot - fromSlot + 1;
  const canonicalInRange = inRange.length - orphaned.length;
  return {
    slots,
    blocks: inRange.length,
    canonical: canonicalInRange,
    orphaned: orphaned.length,
    contestedHeights: contested,
    forksPer100Slots: (100 * contested) / slots,
    orphansPer100Slots: (100 * orphaned.length) / slots,
    emptySlots: slots - canonicalInRange,
    longestLostBranch: longest,
    deepestReorg: reorgs.reduce((m, r) => Math.max(m, r[2]), 0),
  };
}

/** The block at `height` under `hash` (walking parents), or undefined. */
export function ancestorAt(
  hash: string,
  height: number,
  blocks: Map<string, BlockSeen>,
): string | undefined {
  let b = blocks.get(hash);
  while (b && b.height > height) b = blocks.get(b.parent);
  return b && b.height === height ? b.hash : undefined;
}

/**
 * How long after `healTime` every node's head stayed on the canonical chain at the height the
 * best side had reached by then: per node, the time of its first head from which on every head
 * descends from the canonical block at that height.
 */
export function convergence(
  heads: readonly HeadRecord[],
  blocks: Map<string, BlockSeen>,
  canonical: Map<number, string>,
  healTime: number,
  nodes: readonly number[],
): { height: number; perNode: Map<number, number>; lastMs: number; medianMs: number } {
  const before = heads.filter((h) => h[1] <= healTime);
  const height = before.reduce((m, h) => Math.max(m, h[3]), 0);
  const target = canonical.get(height);
  const perNode = new Map<number, number>();
  const byNode = new Map<number, HeadRecord[]>();
  for (const h of heads) {
    const list = byNode.get(h[0]) ?? [];
    list.push(h);
    byNode.set(h[0], list);
  }
  for (const node of nodes) {
    const list = (byNode.get(node) ?? []).sort((a, b) => a[1] - b[1]);
    let convergedAt: number | undefined;
    for (const [, time, hash, h] of list) {
      const ok = h >= height && target !== undefined && ancestorAt(hash, height, blocks) === target;
      if (ok) convergedAt ??= Math.max(time, healTime);
      else if (time >= healTime || convergedAt !== undefined) convergedAt = undefined;
    }
    perNode.set(
      node,
      convergedAt === undefined ? Number.POSITIVE_INFINITY : convergedAt - healTime,
    );
  }
  const values = [...perNode.values()];
  return {
    height,
    perNode,
    lastMs: values.reduce((m, v) => Math.max(m, v), 0),
    medianMs: percentile(values, 50),
  };
}

/**
 * When each restarted node was back in step: its first head on the canonical chain no more than
 * one block below the canonical head of that moment.
 */
export function recovery(
  heads: readonly HeadRecord[],
  blocks: Map<string, BlockSeen>,
  canonical: Map<number, string>,
  restartTime: number,
  nodes: readonly number[],
): { perNode: Map<number, number>; lastMs: number; medianMs: number } {
  const canonicalBlocks = [...canonical.values()]
    .map((h) => blocks.get(h)!)
    .filter(Boolean)
    .sort((a, b) => a.firstSeen - b.firstSeen);
  const heightAt = (t: number): number => {
    let h = 0;
    for (const b of canonicalBlocks) if (b.firstSeen <= t) h = Math.max(h, b.height);
    return h;
  };
  const onChain = new Set(canonical.values());
  const perNode = new Map<number, number>();
  for (const node of nodes) {
    const after = heads
      .filter((h) => h[0] === node && h[1] >= restartTime)
      .sort((a, b) => a[1] - b[1]);
    const back = after.find(([, t, hash, h]) => onChain.has(hash) && h >= heightAt(t) - 1);
    perNode.set(node, back ? back[1] - restartTime : Number.POSITIVE_INFINITY);
  }
  const values = [...perNode.values()];
  return {
    perNode,
    lastMs: values.reduce((m, v) => Math.max(m, v), 0),
    medianMs: percentile(values, 50),
  };
}

export interface Amplification {
  /** copies of a block message a node received, per message (first copy included), all nodes */
  copiesPerMessage: number;
  /** the same, node by node: median and largest */
  perNodeMedian: number;
  perNodeMax: number;
  duplicatesPerMessagePerNode: number;
}

/** Sums each node's counters over its incarnations (a killed process starts again from 0). */
export function sumCounters(counters: Iterable<NodeCounters>): Map<number, NodeCounters> {
  const out = new Map<number, NodeCounters>();
  for (const c of counters) {
    const s = out.get(c.node) ?? {
      ...c,
      bytesIn: 0,
      bytesOut: 0,
      blockValid: 0,
      blockDuplicate: 0,
    };
    s.bytesIn += c.bytesIn;
    s.bytesOut += c.bytesOut;
    s.blockValid += c.blockValid;
    s.blockDuplicate += c.blockDuplicate;
    s.peers = c.peers;
    s.blockMesh = c.blockMesh;
    s.blockTopicPeers = c.blockTopicPeers;
    out.set(c.node, s);
  }
  return out;
}

export function amplification(perNode: Iterable<NodeCounters>): Amplification {
  let valid = 0;
  let dup = 0;
  const ratios: number[] = [];
  for (const c of perNode) {
    valid += c.blockValid;
    dup += c.blockDuplicate;
    if (c.blockValid > 0) ratios.push((c.blockValid + c.blockDuplicate) / c.blockValid);
  }
  return {
    copiesPerMessage: valid > 0 ? (valid + dup) / valid : Number.NaN,
    perNodeMedian: percentile(ratios, 50),
    perNodeMax: ratios.reduce((m, v) => Math.max(m, v), 0),
    duplicatesPerMessagePerNode: valid > 0 ? dup / valid : Number.NaN,
  };
}

export interface CpuSummary {
  /** process CPU over wall time, summed over the worker processes (1.0 = one core) */
  coresUsed: number;
  perNodeMs: number;
  eluMean: number;
  eluMax: number;
  lagP99Mean: number;
  lagP99Max: number;
  lagMax: number;
  rssMiBMax: number;
}

export function cpuSummary(
  samples: readonly ProcessSample[],
  from: number,
  to: number,
  nodes: number,
): CpuSummary {
  const inWindow = samples.filter((s) => s.time > from && s.time <= to);
  const cpu = inWindow.reduce((a, s) => a + s.cpuMs, 0);
  const wall = Math.max(1, to - from);
  const mean = (f: (s: ProcessSample) => number) =>
    inWindow.reduce((a, s) => a + f(s), 0) / Math.max(1, inWindow.length);
  const max = (f: (s: ProcessSample) => number) => inWindow.reduce((m, s) => Math.max(m, f(s)), 0);
  return {
    coresUsed: cpu / wall,
    perNodeMs: cpu / Math.max(1, nodes) / (wall / 1000),
    eluMean: mean((s) => s.elu),
    eluMax: max((s) => s.elu),
    lagP99Mean: mean((s) => s.lagP99),
    lagP99Max: max((s) => s.lagP99),
    lagMax: max((s) => s.lagMax),
    rssMiBMax: max((s) => s.rssMiB),
  };
}
