import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import type { HeadInfo, ProducerDeps } from "../../src/consensus/engine.js";
import { PowEngine } from "../../src/consensus/pow/engine.js";
import { PowMiner, spawnMinerWorker } from "../../src/consensus/pow/miner.js";
import { type Block, makeBlock, verifyBlockSignature } from "../../src/core/block.js";
import { toHex } from "../../src/core/bytes.js";
import { genesisBlock } from "../../src/core/genesis.js";
import type { Transaction } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { headerReader, memoryLog, powGenesis, until } from "./helpers.js";

// The worker runs dist/src/consensus/pow/miner-worker.js: `npm test` builds it first.
const EASY = (1n << 248n) - 1n; // about 256 hashes a block
const miner = testKey(4);

/**
 * A miner against an in-memory chain: submit verifies the block with the engine and the block
 * signature and records it; the test decides when the head moves.
 */
function harness() {
  const now = Date.now();
  const genesis = powGenesis(EASY, { timestamp: now - 60_000, targetBlockMs: 1000 });
  const engine = new PowEngine(genesis);
  const g = genesisBlock(genesis);
  const blocks: Block[] = [g];
  const workers: Worker[] = [];
  const chain = {
    head: g,
    pool: [] as Transaction[],
    submitted: [] as Block[],
    errors: [] as unknown[],
    log: memoryLog(),
  };
  const headInfo = (): HeadInfo => ({
    header: chain.head.header,
    hash: chain.head.hash,
    headers: headerReader(blocks),
    lottery: () => undefined,
  });
  const deps: ProducerDeps = {
    privateKey: miner.privateKey,
    publicKey: miner.publicKey,
    head: headInfo,
    selectBody: (max) => ({ transactions: chain.pool.slice(0, max), evidence: [] }),
    stateRoot: () => new Uint8Array(32),
    submit: async (block) => {
      try {
        engine.verifySealStateless(block);
        const parent = blocks.find((b) => b.hashHex === toHex(block.header.previousHash));
        if (!parent) throw new Error("unknown parent");
        engine.verifyHeader(block.header, parent.header, {
          headers: headerReader(blocks),
          now: Date.now(),
        });
        if (!verifyBlockSignature(block)) throw new Error("bad block signature");
      } catch (e) {
        chain.errors.push(e);
        throw e;
      }
      chain.submitted.push(block);
    },
    forgeEmptyBlocks: false,
    now: () => Date.now(),
    log: chain.log,
  };
  const producer = new PowMiner(genesis.chainId, engine.config, deps, {
    spawn: () => {
      const worker = spawnMinerWorker();
      workers.push(worker);
      return worker;
    },
  });
  return { chain, producer, blocks, workers, genesisBlock: g };
}

/**
 * A head nobody can mine on in a test: its recorded target is 1 and it came exactly on time, so
 * the retarget rule asks the next block for a hash of at most 1. (Not a valid block: only the
 * miner reads it.)
 */
function hopelessHead(blocks: Block[], g: Block): Block {
  const h1 = makeBlock(
    { ...g.header, height: 1, previousHash: g.hash, timestamp: Date.now() - 2000 },
    new Uint8Array(64),
    [],
  );
  const h2 = makeBlock(
    {
      ...g.header,
      height: 2,
      previousHash: h1.hash,
      timestamp: Date.now() - 1000,
      seal: { type: "pow", target: 1n, nonce: 0n },
    },
    new Uint8Array(64),
    [],
  );
  blocks.push(h1, h2);
  return h2;
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe("PoW miner in a worker thread", () => {
  it("finds a valid block on an easy target, with the pending transactions", async () => {
    const { chain, producer, genesisBlock: g } = harness();
    stops.push(() => producer.stop());
    chain.pool.push(makeTx(testKey(8), { nonce: 0, to: miner.address }));
    producer.start();
    await until(() => chain.submitted.length >= 1, "a mined block");
    const block = chain.submitted[0]!;
    expect(block.header.height).toBe(1);
    expect(block.header.previousHash).toEqual(g.hash);
    expect(block.header.forger).toEqual(miner.publicKey);
    expect(block.transactions.map((tx) => tx.id)).toEqual([chain.pool[0]!.id]);
    expect(chain.errors).toEqual([]);
    expect(producer.stats().hashes).toBeGreaterThan(0);
    expect(producer.stats().produced).toBeGreaterThanOrEqual(1);
  });

  it("keeps the event loop turning while it mines, and restarts on a new head", async () => {
    const { chain, producer, blocks, genesisBlock: g } = harness();
    stops.push(() => producer.stop());
    chain.head = hopelessHead(blocks, g);
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    producer.start();
    // Three slices of nonces hashed by the worker, while this thread's loop kept turning.
    await until(() => producer.stats().hashes >= 3 * 16_384, "the worker hashing");
    spinning = false;
    expect(turns).toBeGreaterThan(100);
    expect(chain.submitted).toHaveLength(0);

    chain.head = g;
    producer.onNewHead();
    await until(() => chain.submitted.length >= 1, "a block on the new head");
    expect(chain.submitted[0]!.header.previousHash).toEqual(g.hash);
    expect(chain.errors).toEqual([]);
  });

  it("stop() ends the worker thread", async () => {
    const { chain, producer, workers, blocks, genesisBlock: g } = harness();
    chain.head = hopelessHead(blocks, g);
    producer.start();
    await until(() => producer.stats().hashes > 0, "the worker hashing");
    expect(workers).toHaveLength(1);
    expect(workers[0]!.threadId).toBeGreaterThan(0);
    await producer.stop();
    expect(workers[0]!.threadId).toBe(-1);
    expect(producer.stats().running).toBe(false);
    // A stopped miner ignores new heads: no worker is started again.
    producer.onNewHead();
    await new Promise((resolve) => setImmediate(resolve));
    expect(workers).toHaveLength(1);
  });
});
