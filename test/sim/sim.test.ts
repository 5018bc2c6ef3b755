import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSimulation } from "../../bench/sim/run.js";

/**
 * The scale simulator at 20 nodes (issue 12), with the disruptions of the big runs: 10 % of the
 * nodes killed (SIGKILL of their process) and restarted on their LevelDB, and the network cut in
 * two halves and healed. Real nodes, real libp2p over delayed loopback TCP. What is checked is
 * behaviour, not speed (the machine is shared): every node comes back, the halves converge, no
 * fork reaches the finality window, gossip copies stay bounded, and every process is gone after.
 */
const out = mkdtempSync(join(tmpdir(), "lotchain-sim-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("scale simulator, 20 nodes with churn and a partition", () => {
  it("recovers from churn, converges after the partition heals, and measures it", async () => {
    const { report, svg, workerPids } = await runSimulation(
      {
        nodes: 20,
        validators: 4,
        slots: 30,
        settleSlots: 3,
        churnPct: 10,
        downSlots: 3,
        partition: true,
        partitionSlots: 4,
        workers: 2,
        finalityDepth: 32,
        // Waits (a condition, bounded) for every node to agree before measuring convergence.
        drainMs: 90_000,
        outDir: out,
      },
      () => {},
    );
    const r = report as {
      network: { nodes: number };
      propagation: { blocks: number; fromSlotStart: Record<string, { p50: number | string }> };
      forks: { all: { longestLostBranch: number; deepestReorg: number; canonical: number } };
      amplification: { copiesPerMessage: number };
      bandwidth: { in: { perNodePerSlot: number }; out: { perNodePerSlot: number } };
      churn: { nodes: number; recoveryMs: { last: number | string } };
      partition: {
        convergenceMs: { last: number | string };
        blocksInsideTheCut: number;
        blocksThatCrossedIt: number;
      };
      targets: { target: string; met: boolean; binds?: string }[];
    };
    expect(r.network.nodes).toBe(20);
    expect(r.propagation.blocks).toBeGreaterThan(0);
    expect(typeof r.propagation.fromSlotStart["50%"]!.p50).toBe("number");
    expect(r.forks.all.canonical).toBeGreaterThan(5);
    expect(r.forks.all.longestLostBranch).toBeLessThan(32);
    expect(r.forks.all.deepestReorg).toBeLessThan(32);
    expect(r.amplification.copiesPerMessage).toBeGreaterThanOrEqual(1);
    expect(r.bandwidth.in.perNodePerSlot).toBeGreaterThan(0);
    expect(r.bandwidth.out.perNodePerSlot).toBeGreaterThan(0);
    // Every killed node came back in step, and every node ended on one chain after the cut.
    expect(r.churn.nodes).toBe(2);
    expect(typeof r.churn.recoveryMs.last).toBe("number");
    expect(typeof r.partition.convergenceMs.last).toBe("number");
    // The cut held: no block forged while it lasted reached both halves before the heal.
    expect(r.partition.blocksInsideTheCut).toBeGreaterThan(0);
    expect(r.partition.blocksThatCrossedIt).toBe(0);
    // A missed target names what binds.
    for (const t of r.targets) if (!t.met) expect(t.binds).toMatch(/CPU|protocol/);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(workerPids.length).toBe(4);
    expect(workerPids.filter(alive)).toEqual([]);
  }, 300_000);
});
