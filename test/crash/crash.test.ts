import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openChain, tempDir } from "../chain/chain-fixtures.js";
import { buildCrashPlan, crashGenesis, prng, writeGenesis, writePlan } from "./crash-plan.js";
import { checkStoreByReplay } from "./replay.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const IMPORTER = join(ROOT, "dist/test/crash/crash-importer.js");
const KILLS = 24;
const PLAN_BLOCKS = 400;
const TXS_PER_BLOCK = 50;

const children = new Set<ChildProcess>();
afterAll(() => {
  // Whatever happened, no child outlives the test (each is stopped by its own pid).
  for (const child of children)
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(child.pid, "SIGKILL");
});

interface Importer {
  child: ChildProcess;
  exited: Promise<void>;
  output(): string;
  /** Resolves once the child has printed `count` more block marks, or has exited. */
  blocks(count: number): Promise<void>;
}

/** Spawns the importer and resolves once it has opened the chain (its "ready" line). */
async function startImporter(args: string[]): Promise<Importer> {
  const child = spawn(process.execPath, [IMPORTER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  let marks = 0;
  let waiter: { target: number; resolve(): void } | undefined;
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const wake = () => {
    if (waiter && (marks >= waiter.target || child.exitCode !== null)) {
      waiter.resolve();
      waiter = undefined;
    }
  };
  child.stdout!.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    out += text;
    for (const c of text) if (c === "+") marks++;
    wake();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  void exited.then(wake);
  const importer: Importer = {
    child,
    exited,
    output: () => out,
    blocks: (count) =>
      new Promise<void>((resolve) => {
        waiter = { target: marks + count, resolve };
        wake();
      }),
  };
  const deadline = Date.now() + 30_000;
  while (!out.includes("ready")) {
    if (child.exitCode !== null) throw new Error(`importer exited before ready: ${out}`);
    if (Date.now() > deadline) throw new Error(`importer not ready: ${out}`);
    await sleep(5);
  }
  return importer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("crash safety", () => {
  it("after SIGKILL at random moments the store always equals a replay of its main chain", async () => {
    // The child runs compiled code: `npm test` builds first; build here when run on its own.
    if (!existsSync(IMPORTER))
      execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", ROOT]);
    const genesis = crashGenesis();
    const { dir, remove } = await tempDir("lotchain-crash-");
    try {
      const genesisFile = join(dir, "genesis.json");
      const planFile = join(dir, "plan.bin");
      const dataDir = join(dir, "data");
      await writeGenesis(genesisFile, genesis);
      await writePlan(planFile, buildCrashPlan(genesis, PLAN_BLOCKS, TXS_PER_BLOCK));

      const random = prng(7);
      const heights: number[] = [];
      let killedWhileImporting = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        const importer = await startImporter([dataDir, genesisFile, planFile]);
        // A random number of blocks, then a random fraction of the next one.
        await importer.blocks(1 + Math.floor(random() * 20));
        await sleep(Math.floor(random() * 15));
        if (importer.child.exitCode === null) {
          process.kill(importer.child.pid!, "SIGKILL");
          if (!importer.output().includes("done")) killedWhileImporting++;
        }
        await importer.exited;
        children.delete(importer.child);
        expect(importer.output()).not.toContain("crash-importer:");
        expect([null, 0]).toContain(importer.child.exitCode);

        const report = await checkStoreByReplay(dataDir, genesis);
        heights.push(report.height);
        // The chain's own open (integrity checks included) accepts the store every time.
        const chain = await openChain(dataDir, genesis);
        expect(chain.head.hashHex).toBe(report.headHash);
        expect(chain.totalSupply()).toBe(chain.expectedSupply());
        await chain.close();
      }
      // Work went on between the kills, and the kills hit a busy importer.
      expect(heights[heights.length - 1]!).toBeGreaterThan(heights[0]!);
      expect(killedWhileImporting).toBe(KILLS);
    } finally {
      await remove();
    }
  }, 240_000);
});
