import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Chain } from "../../src/chain/chain.js";
import { Mempool } from "../../src/chain/mempool.js";
import { slotStart } from "../../src/consensus/index.js";
import { type Block, type BlockHeader, computeTxRoot, makeBlock } from "../../src/core/block.js";
import { toHex } from "../../src/core/bytes.js";
import { isValidationError } from "../../src/core/errors.js";
import { type Genesis, parseGenesis } from "../../src/core/genesis.js";
import type { KeyPair } from "../../src/core/keys.js";
import { type Transaction, verifyTransactionSignature } from "../../src/core/transaction.js";
import { ADMISSION_WINDOW, checkTimestamp } from "../../src/core/tx-time.js";
import { validateGossipBlock, validateTxBatch } from "../../src/net/gossip-validation.js";
import { encodeTxBatch } from "../../src/net/wire.js";
import {
  BlockTreeModel,
  CHAIN_ID,
  KEYS,
  openChain,
  signedBlock,
  tempDir,
} from "../chain/chain-fixtures.js";
import { checkStoreByReplay } from "../crash/replay.js";
import { buildTx, txSpecArb } from "./arbitraries.js";
import { fuzz } from "./fuzz.js";
import { buildSamples } from "./samples.js";

/**
 * The ledger under hostile gossip, on a real Chain over LevelDB with a real Mempool, through the
 * network's own validation functions. Each case: a gossiped transaction batch (structure-aware
 * transactions, mutated encodings, garbage), then a block built from what the mempool selects
 * (an independent model of the state transition must accept it: selection only packs what
 * import accepts), a mutation of that block gossiped first (header fields re-sealed or not, the
 * body changed, bytes flipped), then the genuine block. Properties: no error but a typed refusal,
 * a refused batch or block changes nothing, supply always equals what genesis, mints and rewards
 * explain, and at the end the store equals an independent replay of its main chain.
 */
const FILE = "test/fuzz/chain.test.ts";
const U64_MAX = (1n << 64n) - 1n;
const { forger, alice, bob, exchange, carol } = KEYS;
const keys: KeyPair[] = [alice, bob, carol, exchange, forger];
const SLOT_MS = 1000;
const GENESIS_TIME = 1_735_689_600_000;

const genesis: Genesis = parseGenesis({
  chainId: CHAIN_ID,
  timestamp: GENESIS_TIME,
  consensus: { type: "pos", slotMs: SLOT_MS, finalityDepth: 8 },
  alloc: {
    [alice.address]: "1000000",
    [bob.address]: String(1n << 62n),
    [exchange.address]: "1000000",
    // With bob, half the largest supply: fees and credits near 2^63 are within reach.
    [carol.address]: String(1n << 62n),
  },
  validators: { [forger.address]: "100" },
  exchange: [exchange.address],
  blockReward: "5",
  minFee: "1",
  maxSupply: String(U64_MAX),
});

const silent = pino({ level: "silent" });
let dir: Awaited<ReturnType<typeof tempDir>>;
let chain: Chain;
let mempool: Mempool;
let model: BlockTreeModel;
const known = new Map<string, Block>();
let tip: Block;
let tipSlot = 0;
// The chain's clock: the start of the slot after the tip's (a block there has just begun).
const now = () => slotStart({ genesisTimestamp: GENESIS_TIME, slotMs: SLOT_MS }, tipSlot + 1)!;

const figures = { blocks: 0, admitted: 0, mutantsStored: 0, mutantsRefused: 0 };

beforeAll(async () => {
  dir = await tempDir("lotchain-fuzz-chain-");
  chain = await openChain(dir.dir, genesis, { now, logger: silent });
  mempool = new Mempool({
    params: chain.params,
    state: () => chain.stateView(),
    now,
    isIncluded: (id) => chain.hasTransaction(id),
  });
  model = new BlockTreeModel(genesis, keys);
  tip = model.genesisBlock;
  known.set(tip.hashHex, tip);
});

afterAll(async () => {
  await chain?.close().catch(() => {});
  await dir?.remove();
});

/** Records in the model a block the chain took that the model did not build (its parent known). */
function adopt(block: Block): void {
  const m = model as unknown as {
    record(block: Block, parent: unknown, link: unknown): void;
    childLink(parent: Block, block: Block): unknown;
    entry(hash: string): unknown;
  };
  const parentHash = toHex(block.header.previousHash);
  // The model's state transition refuses what the chain should not have taken: a finding.
  m.record(block, m.entry(parentHash), m.childLink(known.get(parentHash)!, block));
  known.set(block.hashHex, block);
}

/** Follows the chain's head in the model (adopting blocks it did not build), and the mempool. */
async function followHead(previous: string): Promise<void> {
  if (chain.head.hashHex === previous) return;
  const missing: Block[] = [];
  for (let hash = chain.head.hashHex; !known.has(hash); ) {
    const block = (await chain.getBlockByHash(hash))!;
    missing.unshift(block);
    hash = toHex(block.header.previousHash);
  }
  for (const block of missing) adopt(block);
  const head = known.get(chain.head.hashHex)!;
  if (toHex(head.header.previousHash) === previous) mempool.removeIncluded(head.transactions);
  else mempool.revalidate();
  tip = head;
  tipSlot = head.header.seal.type === "pos" ? head.header.seal.slot : tipSlot;
}

function stateOf() {
  return {
    head: chain.head.hashHex,
    accounts: keys.map((k) => chain.getAccount(k.address) ?? null),
    supply: chain.totalSupply(),
  };
}

// A mutation of the block that is about to be gossiped.
const headerField = fc.constantFrom(
  "height",
  "previousHash",
  "timestamp",
  "forger",
  "slot",
  "vrfProof",
  "txRoot",
  "evidenceRoot",
  "chainId",
);
const blockMutation = fc.oneof(
  fc.record({ kind: fc.constant("none" as const) }),
  fc.record({
    kind: fc.constant("header" as const),
    field: headerField,
    n: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(2 ** 32, 2 ** 53 - 1)),
    bytes: fc.uint8Array({ minLength: 32, maxLength: 80 }),
    reseal: fc.constantFrom("forger" as const, "other" as const, "none" as const),
  }),
  fc.record({
    kind: fc.constant("body" as const),
    op: fc.constantFrom("drop", "duplicate", "swap", "append", "reverse", "clear"),
    at: fc.nat(),
    tx: txSpecArb,
    reseal: fc.constantFrom(
      "forger" as const,
      "forger" as const,
      "other" as const,
      "none" as const,
    ),
  }),
  fc.record({
    kind: fc.constant("bytes" as const),
    at: fc.nat(),
    byte: fc.nat(255),
    cut: fc.boolean(),
  }),
);
type BlockMutation = typeof blockMutation extends fc.Arbitrary<infer T> ? T : never;

// Transactions are signed and admitted on the chain's clock (the blocks' time, in 2025), so that
// the admission and block windows see the same time.
const txContext = () => ({
  chainId: CHAIN_ID,
  keys,
  nextNonce: (address: string) => mempool.pendingNonce(address),
  now: now(),
});

function mutate(block: Block, m: BlockMutation): Uint8Array {
  if (m.kind === "none") return block.encoded;
  if (m.kind === "bytes") {
    const out = Uint8Array.from(block.encoded);
    const at = m.at % out.length;
    if (m.cut) return out.slice(0, at);
    out[at] = m.byte;
    return out;
  }
  const signer = keys.find((k) => toHex(k.publicKey) === toHex(block.header.forger)) ?? forger;
  let header: BlockHeader = { ...block.header };
  let txs = [...block.transactions];
  if (m.kind === "header") {
    const seal = header.seal.type === "pos" ? { ...header.seal } : header.seal;
    switch (m.field) {
      case "height":
        header.height = Math.max(0, header.height + m.n);
        break;
      case "previousHash":
        header.previousHash = m.bytes.slice(0, 32);
        break;
      case "timestamp":
        header.timestamp = Math.max(0, header.timestamp + m.n * 500);
        break;
      case "forger":
        header.forger = keys[Math.abs(m.n) % keys.length]!.publicKey;
        break;
      case "slot":
        if (seal.type === "pos") seal.slot = Math.max(0, seal.slot + m.n);
        break;
      case "vrfProof":
        if (seal.type === "pos") seal.vrfProof = m.bytes;
        break;
      case "txRoot":
        header.txRoot = m.bytes.slice(0, 32);
        break;
      case "evidenceRoot":
        header.evidenceRoot = m.bytes.slice(0, 32);
        break;
      case "chainId":
        header.chainId = `${header.chainId}x`;
        break;
    }
    header = { ...header, seal };
  } else {
    const at = txs.length === 0 ? 0 : m.at % txs.length;
    switch (m.op) {
      case "drop":
        txs.splice(at, 1);
        break;
      case "duplicate":
        if (txs[at]) txs.push(txs[at]!);
        break;
      case "swap":
        if (txs.length > 1) [txs[0], txs[at]] = [txs[at]!, txs[0]!];
        break;
      case "append": {
        const extra = buildTx(m.tx, txContext());
        if (extra) txs.push(extra);
        break;
      }
      case "reverse":
        txs = txs.reverse();
        break;
      case "clear":
        txs = [];
        break;
    }
    header.txRoot = computeTxRoot(txs);
  }
  if (m.reseal === "none") return makeBlock(header, block.signature, txs, block.evidence).encoded;
  const key = m.reseal === "forger" ? signer : keys.find((k) => k !== signer)!;
  return signedBlock(header, txs, key).encoded;
}

const batchItem = fc.oneof(
  { weight: 5, arbitrary: txSpecArb.map((spec) => ({ spec })) },
  fc.record({ bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ flip: fc.nat(), bit: fc.nat(7) }),
);

describe("fuzz: the ledger under hostile gossip", () => {
  it("transaction batches and blocks, mutated and genuine", async () => {
    const samples = buildSamples();
    const blockDeps = {
      chain,
      onHead: () => {},
      onImported: () => {},
      onRejected: () => {},
      onOrphan: () => undefined,
      onFuture: () => {},
      log: silent,
    };
    await fuzz(
      "ledger under hostile gossip",
      FILE,
      fc.asyncProperty(
        fc.array(batchItem, { minLength: 1, maxLength: 8 }),
        blockMutation,
        async (items, mutation) => {
          // 1. A gossiped batch.
          const txs: (Transaction | Uint8Array)[] = [];
          for (const item of items) {
            if ("spec" in item) {
              const tx = buildTx(item.spec, txContext());
              if (tx) txs.push(tx);
            } else if ("bytes" in item) txs.push(item.bytes);
            else {
              const base = samples.transactions[item.flip % samples.transactions.length]!;
              const bytes = Uint8Array.from(base.encoded);
              bytes[item.flip % bytes.length]! ^= 1 << item.bit;
              txs.push(bytes);
            }
          }
          if (txs.length === 0) return true;
          const batch = encodeTxBatch(
            txs.map((t) => (t instanceof Uint8Array ? ({ encoded: t } as Transaction) : t)),
          );
          const before = new Set(mempool.all().map((t) => t.id));
          const stateBefore = stateOf();
          const outcome = await validateTxBatch(batch, {
            admitAll: async (batch) =>
              batch.map((tx) => {
                try {
                  checkTimestamp(tx.timestamp, now(), ADMISSION_WINDOW);
                  mempool.add(tx);
                  return undefined;
                } catch (e) {
                  if (isValidationError(e)) return e;
                  throw e;
                }
              }),
            known: (id) => mempool.has(id),
            onUndecodable: () => {},
            running: () => true,
            log: silent,
          });
          expect(["accept", "ignore", "reject"]).toContain(outcome.verdict);
          expect(stateOf()).toEqual(stateBefore);
          for (const tx of mempool.all()) {
            if (before.has(tx.id)) continue;
            // Only transactions of this batch with a valid signature entered the pool.
            expect(txs.some((t) => !(t instanceof Uint8Array) && t.id === tx.id)).toBe(true);
            expect(verifyTransactionSignature(tx)).toBe(true);
            figures.admitted++;
          }

          // 2. A block of what the mempool selects: the model must accept it.
          const slot = (tip.header.seal.type === "pos" ? tip.header.seal.slot : 0) + 1;
          const { transactions } = mempool.selectBody({
            maxCount: 40,
            slot,
            timestamp: slotStart({ genesisTimestamp: GENESIS_TIME, slotMs: SLOT_MS }, slot)!,
          });
          const block = model.child(tip, transactions);
          known.set(block.hashHex, block);

          // 3. A mutation of it, gossiped first.
          const head = chain.head.hashHex;
          const beforeMutant = stateOf();
          const verdict = await validateGossipBlock(mutate(block, mutation), "peer", blockDeps);
          if (verdict === "accept") figures.mutantsStored++;
          else {
            figures.mutantsRefused++;
            expect(stateOf()).toEqual(beforeMutant);
          }
          expect(chain.totalSupply()).toBe(chain.expectedSupply());

          // 4. The genuine block; the model and the mempool follow the head.
          try {
            await chain.importBlock(block);
          } catch (e) {
            // A valid mutant that took the head first may make the genuine block its rival.
            if (!isValidationError(e) || chain.head.hashHex === head) throw e;
          }
          await followHead(head);
          figures.blocks++;
          expect(chain.totalSupply()).toBe(chain.expectedSupply());
          return true;
        },
      ),
      { budgetMs: 12_000, shrink: false, counters: () => ({ ...figures }) },
    );
    expect(chain.head.height).toBeGreaterThan(0);
  });

  it("the store equals an independent replay of its main chain", async () => {
    await chain.close();
    const report = await checkStoreByReplay(dir.dir, genesis);
    expect(report.height).toBe(figures.blocks > 0 ? report.height : 0);
    console.log(
      `fuzz ledger: replayed ${report.height} blocks, ${report.mainTransactions} transactions, ${report.sideBlocks} side blocks`,
    );
  });
});
