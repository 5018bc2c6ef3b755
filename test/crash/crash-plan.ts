import { readFile, writeFile } from "node:fs/promises";
import type { Block } from "../../src/core/block.js";
import { toHex } from "../../src/core/bytes.js";
import { type Genesis, genesisToJson, parseGenesis } from "../../src/core/genesis.js";
import { type KeyPair, keyPairFromSeed } from "../../src/core/keys.js";
import type { Transaction } from "../../src/core/transaction.js";
import { BlockTreeModel, CHAIN_ID, GENESIS_TIME, KEYS, tx } from "../chain/chain-fixtures.js";

/**
 * The crash test's workload: a deterministic sequence of blocks to import, built once by the
 * test with the reference model and replayed by every child process from the start (blocks the
 * store already holds are skipped by hash). It grows a main chain of full blocks and, now and
 * then, a competing branch that wins (a reorganisation), an invalid branch (marked invalid),
 * or a pair of blocks in the wrong order (an orphan), so that kills land in every kind of batch.
 */

export const CRASH_FINALITY_DEPTH = 16;
const SENDERS = Array.from({ length: 20 }, (_, i) =>
  keyPairFromSeed(new Uint8Array(32).fill(100 + i)),
);

export function crashGenesis(): Genesis {
  const alloc: Record<string, string> = { [KEYS.exchange.address]: "1000000" };
  for (const s of SENDERS) alloc[s.address] = "1000000";
  return parseGenesis({
    chainId: CHAIN_ID,
    timestamp: GENESIS_TIME,
    consensus: { type: "pos", slotMs: 1000, finalityDepth: CRASH_FINALITY_DEPTH },
    alloc,
    validators: { [KEYS.forger.address]: "100" },
    exchange: [KEYS.exchange.address],
    blockReward: "3",
    minFee: "1",
  });
}

/** A small deterministic PRNG (mulberry32), so that the plan is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class PlanBuilder {
  readonly model: BlockTreeModel;
  readonly blocks: Block[] = [];
  private slot = 0;

  constructor(
    genesis: Genesis,
    private readonly random: () => number,
    private readonly txsPerBlock: number,
  ) {
    this.model = new BlockTreeModel(genesis, [...Object.values(KEYS), ...SENDERS]);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** Valid transactions on the state after `parent`: transfers, and now and then a mint or stake. */
  private transactions(parent: Block): Transaction[] {
    const state = this.model.stateAfter(parent);
    const nonces = new Map<string, number>();
    const next = (k: KeyPair) => {
      const n = nonces.get(k.address) ?? state.get(k.address)?.nonce ?? 0;
      nonces.set(k.address, n + 1);
      return n;
    };
    const txs: Transaction[] = [];
    for (let i = 0; i < this.txsPerBlock; i++) {
      const from = this.pick(SENDERS);
      const roll = this.random();
      if (roll < 0.02)
        txs.push(
          tx(KEYS.exchange, next(KEYS.exchange), { type: "EXCHANGE", to: from, amount: 500n }),
        );
      else if (roll < 0.03) txs.push(tx(from, next(from), { type: "STAKE", amount: 10n }));
      else
        txs.push(
          tx(from, next(from), {
            to: this.pick(SENDERS),
            amount: BigInt(1 + Math.floor(this.random() * 50)),
          }),
        );
    }
    return txs;
  }

  /** A fresh child: every block takes new slots, so that branches never collide. */
  child(parent: Block, options: { invalid?: boolean; txs?: Transaction[] } = {}): Block {
    this.slot += 1 + Math.floor(this.random() * 3);
    const block = this.model.child(parent, options.txs ?? this.transactions(parent), {
      minSlot: this.slot,
      invalid: options.invalid,
    });
    if (block.header.seal.type === "pos") this.slot = Math.max(this.slot, block.header.seal.slot);
    return block;
  }

  build(count: number): Block[] {
    const main: Block[] = [this.model.genesisBlock];
    const tip = () => main[main.length - 1]!;
    while (this.blocks.length < count) {
      const roll = this.random();
      const height = main.length - 1;
      if (roll < 0.08 && height > 4) {
        // A branch from 1-3 blocks back that ends one block longer: a reorganisation.
        const depth = 1 + Math.floor(this.random() * 3);
        main.length -= depth;
        for (let i = 0; i <= depth; i++) {
          main.push(this.child(tip()));
          this.blocks.push(tip());
        }
      } else if (roll < 0.12 && height > 2) {
        // A branch whose first block overspends: connecting it marks it and its child invalid.
        const base = main[main.length - 2]!;
        const poor = SENDERS[0]!;
        const nonce = this.model.stateAfter(base).get(poor.address)?.nonce ?? 0;
        const overspend = [0, 1].map((i) =>
          tx(poor, nonce + i, { to: KEYS.bob, amount: 999_999n }),
        );
        const bad = this.child(base, { invalid: true, txs: overspend });
        const child = this.child(bad);
        this.blocks.push(bad, child, this.child(child));
      } else if (roll < 0.18) {
        // Two blocks in the wrong order: the first waits as an orphan.
        const a = this.child(tip());
        const b = this.child(a);
        main.push(a, b);
        this.blocks.push(b, a);
      } else {
        main.push(this.child(tip()));
        this.blocks.push(tip());
      }
    }
    return this.blocks;
  }
}

export function buildCrashPlan(
  genesis: Genesis,
  count: number,
  txsPerBlock: number,
  seed = 1,
): Block[] {
  return new PlanBuilder(genesis, prng(seed), txsPerBlock).build(count);
}

/** Plan file: for each block, its 32-byte hash, a 4-byte big-endian length and its encoding. */
export async function writePlan(path: string, blocks: Block[]): Promise<void> {
  const parts: Uint8Array[] = [];
  for (const b of blocks) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.encoded.length);
    parts.push(b.hash, len, b.encoded);
  }
  await writeFile(path, Buffer.concat(parts));
}

export async function readPlan(path: string): Promise<{ hash: string; bytes: Uint8Array }[]> {
  const data = await readFile(path);
  const out: { hash: string; bytes: Uint8Array }[] = [];
  for (let at = 0; at < data.length; ) {
    const hash = toHex(data.subarray(at, at + 32));
    const len = data.readUInt32BE(at + 32);
    out.push({ hash, bytes: data.subarray(at + 36, at + 36 + len) });
    at += 36 + len;
  }
  return out;
}

export async function writeGenesis(path: string, genesis: Genesis): Promise<void> {
  await writeFile(path, JSON.stringify(genesisToJson(genesis)));
}

export async function readGenesis(path: string): Promise<Genesis> {
  return parseGenesis(JSON.parse(await readFile(path, "utf8")));
}
