import { afterEach, describe, expect, it } from "vitest";
import type {
  BlockProducer,
  EpochLink,
  EpochLottery,
  HeadInfo,
  ProducerDeps,
} from "../../src/consensus/engine.js";
import { PosEngine, slotWinner } from "../../src/consensus/pos/engine.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { type Block, verifyBlockSignature } from "../../src/core/block.js";
import { genesisBlock } from "../../src/core/genesis.js";
import type { KeyPair } from "../../src/core/keys.js";
import type { Transaction } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { headerReader, memoryLog, posGenesis, until } from "./helpers.js";

/**
 * A forger against a small in-memory chain: submit verifies each block with the engine (header
 * rules and the block signature), makes it the head, drops its transactions from the pool and
 * tells the producer, as the node does.
 */
function harness(options: {
  key: KeyPair;
  stakes: [KeyPair, bigint][];
  slotMs: number;
  genesisTime: number;
  forgeEmptyBlocks: boolean;
  now?: () => number;
}) {
  const genesis = posGenesis(options.stakes, {
    timestamp: options.genesisTime,
    slotMs: options.slotMs,
  });
  const engine = new PosEngine(genesis);
  const validators = buildValidatorSet(genesis.validators);
  const blocks: Block[] = [genesisBlock(genesis)];
  // Epoch links by block hash; no stake changes here, so every snapshot holds the genesis stakes.
  const links = new Map<string, EpochLink>([[blocks[0]!.hashHex, engine.genesisLink(blocks[0]!)]]);
  const lotteryOn = (head: Block, slot: number): EpochLottery => ({
    epoch: engine.epochContext(
      { header: head.header, hash: head.hash, link: links.get(head.hashHex) },
      slot,
    ),
    validators,
  });
  const chain = {
    head: blocks[0]!,
    pool: [] as Transaction[],
    submitted: [] as Block[],
    errors: [] as unknown[],
    log: memoryLog(),
    now: options.now ?? (() => Date.now()),
    producer: undefined as unknown as BlockProducer,
    /** What deps.head() returns; a test may make it fail. */
    readHead: (): HeadInfo => {
      const head = chain.head;
      return {
        header: head.header,
        hash: head.hash,
        headers: headerReader(blocks),
        lottery: (slot) => lotteryOn(head, slot),
      };
    },
  };
  const deps: ProducerDeps = {
    privateKey: options.key.privateKey,
    publicKey: options.key.publicKey,
    head: () => chain.readHead(),
    selectBody: (max) => ({ transactions: chain.pool.slice(0, max), evidence: [] }),
    // The engine's tests hold no state: any root will do.
    stateRoot: () => new Uint8Array(32),
    submit: async (block) => {
      chain.submitted.push(block);
      try {
        engine.verifySealStateless(block);
        const link = engine.verifyHeader(block.header, chain.head.header, {
          lottery: lotteryOn(chain.head, engine.productionSlot(block.header)),
          headers: headerReader(blocks),
          now: chain.now(),
        });
        if (!verifyBlockSignature(block)) throw new Error("bad block signature");
        links.set(block.hashHex, link);
      } catch (e) {
        chain.errors.push(e);
        throw e;
      }
      blocks.push(block);
      chain.head = block;
      const included = new Set(block.transactions.map((tx) => tx.id));
      chain.pool = chain.pool.filter((tx) => !included.has(tx.id));
      chain.producer.onNewHead();
    },
    forgeEmptyBlocks: options.forgeEmptyBlocks,
    now: () => chain.now(),
    log: chain.log,
  };
  chain.producer = engine.createProducer(deps);
  return { chain, engine, validators, lotteryOn, genesis: blocks[0]! };
}

const forger = testKey(1);
const sender = testKey(7);
const transfer = (nonce: number) => makeTx(sender, { nonce, to: forger.address });
let running: BlockProducer[] = [];
afterEach(async () => {
  for (const producer of running) await producer.stop();
  running = [];
});

describe("PoS forger on slot timers (single validator, slotMs 50)", () => {
  it("forges when there are transactions, and not otherwise", async () => {
    const slotMs = 50;
    const { chain } = harness({
      key: forger,
      stakes: [[forger, 10n]],
      slotMs,
      genesisTime: Date.now() - 20 * slotMs,
      forgeEmptyBlocks: false,
    });
    chain.pool.push(transfer(0), transfer(1));
    running.push(chain.producer);
    chain.producer.start();
    await until(() => chain.submitted.length === 1, "the first block");
    expect(chain.submitted[0]!.transactions.map((tx) => tx.nonce)).toEqual([0, 1]);

    // Nothing pending: several slots are won and none is forged.
    const checked = chain.producer.stats().slotsChecked;
    await until(() => chain.producer.stats().slotsChecked >= checked + 3, "three more slots");
    expect(chain.submitted).toHaveLength(1);
    expect(chain.log.entries.some((e) => e.msg?.includes("no transactions"))).toBe(true);

    // A transaction arrives: the winner forges it (within its slot or the next).
    chain.pool.push(transfer(2));
    chain.producer.onTransactions();
    await until(() => chain.submitted.length === 2, "the second block");
    expect(chain.submitted[1]!.transactions.map((tx) => tx.nonce)).toEqual([2]);
    expect(chain.errors).toEqual([]);
    const slots = chain.submitted.map((b) =>
      b.header.seal.type === "pos" ? b.header.seal.slot : -1,
    );
    expect(slots[1]!).toBeGreaterThan(slots[0]!);
    expect(chain.producer.stats().produced).toBe(2);
  });

  it("forges empty blocks, one a slot, when forgeEmptyBlocks is set", async () => {
    const slotMs = 50;
    const { chain } = harness({
      key: forger,
      stakes: [[forger, 10n]],
      slotMs,
      genesisTime: Date.now() - 20 * slotMs,
      forgeEmptyBlocks: true,
    });
    running.push(chain.producer);
    chain.producer.start();
    await until(() => chain.submitted.length >= 3, "three blocks");
    await chain.producer.stop();
    expect(chain.errors).toEqual([]);
    expect(chain.submitted.every((b) => b.transactions.length === 0)).toBe(true);
    const heights = chain.submitted.map((b) => b.header.height);
    expect(heights.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it("logs a failure and keeps its timer running; it never throws out of it", async () => {
    const slotMs = 30;
    const { chain } = harness({
      key: forger,
      stakes: [[forger, 10n]],
      slotMs,
      genesisTime: Date.now() - 20 * slotMs,
      forgeEmptyBlocks: true,
    });
    chain.readHead = () => {
      throw new Error("store unavailable");
    };
    running.push(chain.producer);
    chain.producer.start();
    const failures = () => chain.log.entries.filter((e) => e.msg === "forging failed").length;
    await until(() => failures() >= 3, "three failed slots");
    expect(chain.producer.stats().running).toBe(true);
    expect(chain.submitted).toHaveLength(0);
  });
});

describe("PoS forger under a controlled clock", () => {
  const slotMs = 1000;
  const genesisTime = 1_764_000_000_000;

  it("never forges twice for one slot, whatever wakes it", () => {
    let now = genesisTime + 20 * slotMs + 10;
    const { chain, genesis } = harness({
      key: forger,
      stakes: [[forger, 10n]],
      slotMs,
      genesisTime,
      forgeEmptyBlocks: true,
      now: () => now,
    });
    running.push(chain.producer);
    chain.producer.start();
    for (let i = 0; i < 5; i++) {
      chain.producer.onTransactions();
      chain.producer.onNewHead();
    }
    expect(chain.submitted).toHaveLength(1);
    // Even on another head (a reorganisation back to genesis), slot 20 stays forged.
    chain.head = genesis;
    chain.producer.onNewHead();
    expect(chain.submitted).toHaveLength(1);
    now += slotMs;
    chain.producer.onTransactions();
    expect(chain.submitted).toHaveLength(2);
    expect(
      chain.submitted.map((b) => (b.header.seal.type === "pos" ? b.header.seal.slot : 0)),
    ).toEqual([20, 21]);
    expect(chain.errors).toEqual([]);
  });

  it("forges only the slots its key wins; the other validator is offline, so its slots stay empty", () => {
    const other = testKey(2);
    let now = genesisTime;
    const { chain, lotteryOn } = harness({
      key: forger,
      stakes: [
        [forger, 1n],
        [other, 1n],
      ],
      slotMs,
      genesisTime,
      forgeEmptyBlocks: true,
      now: () => now,
    });
    running.push(chain.producer);
    chain.producer.start();
    let empty = 0;
    for (let slot = 1; slot <= 40; slot++) {
      now = genesisTime + slot * slotMs;
      const head = chain.head;
      const { epoch, validators } = lotteryOn(head, slot);
      const won = slotWinner(validators, epoch.nonce, slot) === forger.address;
      chain.producer.onNewHead();
      expect(chain.head.header.height).toBe(head.header.height + (won ? 1 : 0));
      if (!won) empty++;
    }
    expect(empty).toBeGreaterThan(0);
    expect(chain.head.header.height).toBe(40 - empty);
    expect(chain.errors).toEqual([]);
  });
});
