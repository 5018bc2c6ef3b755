import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Mempool } from "../../src/chain/mempool.js";
import { isValidationError } from "../../src/core/errors.js";
import type { Address, KeyPair } from "../../src/core/keys.js";
import {
  type Account,
  type AccountReader,
  applyBlockTransactions,
  totalStake,
  totalSupply,
} from "../../src/core/state.js";
import type { Transaction, TxType } from "../../src/core/transaction.js";
import { makeTx, testKey, testParams } from "../helpers/ledger.js";

const actors = [21, 22, 23, 24, 25].map(testKey) as KeyPair[];
const exchange = actors[4]!;
const forger = testKey(26);
const params = testParams({
  exchange: new Set([exchange.address]),
  keepPositiveStake: true,
  minFee: 1n,
});
// Small limits, drawn per run, so that eviction by count and by bytes both happen.
const limitsArb = fc.record({
  maxCount: fc.integer({ min: 3, max: 14 }),
  maxPerSender: fc.integer({ min: 2, max: 6 }),
  maxNonceGap: fc.integer({ min: 1, max: 4 }),
  maxBytes: fc.integer({ min: 3, max: 16 }).map((n) => n * 165),
  maxAgeMs: fc.constant(5_000),
});
type Limits = typeof limitsArb extends fc.Arbitrary<infer L> ? L : never;

class Head implements AccountReader {
  accounts = new Map<Address, Account>();
  getAccount(address: Address): Account | undefined {
    return this.accounts.get(address);
  }
  get totalStake(): bigint {
    return totalStake(this.accounts.values());
  }
  get supply(): bigint {
    return totalSupply(this.accounts.values());
  }
  /** The chain's import: the core state transition of the whole block, then commit. */
  apply(txs: readonly Transaction[]): bigint {
    const effects = applyBlockTransactions(
      this,
      { transactions: txs },
      {
        forger: forger.publicKey,
        slot: undefined,
        totals: { totalStake: this.totalStake, supply: this.supply },
      },
      params,
    );
    for (const [address, account] of effects.changes) this.accounts.set(address, account);
    return effects.minted;
  }
}

type Op =
  | {
      kind: "add";
      from: number;
      to: number;
      type: TxType;
      amount: bigint;
      fee: bigint;
      nonceSkew: number;
      badSignature: boolean;
    }
  | { kind: "block"; max: number }
  | { kind: "foreign"; from: number; amount: bigint }
  | { kind: "reorg"; depth: number; foreign: number }
  | { kind: "tick"; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      from: fc.integer({ min: 0, max: 4 }),
      to: fc.integer({ min: 0, max: 4 }),
      type: fc.constantFrom<TxType>(
        "TRANSFER",
        "TRANSFER",
        "TRANSFER",
        "STAKE",
        "UNSTAKE",
        "EXCHANGE",
      ),
      amount: fc.oneof(
        { weight: 9, arbitrary: fc.bigInt({ min: 1n, max: 40n }) },
        { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 150n }) },
      ),
      fee: fc.oneof(
        { weight: 9, arbitrary: fc.bigInt({ min: 1n, max: 6n }) },
        { weight: 1, arbitrary: fc.constant(0n) },
      ),
      nonceSkew: fc.constantFrom(-2, -1, 0, 0, 0, 0, 1, 2, 4),
      badSignature: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("block" as const),
      max: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("foreign" as const),
      from: fc.integer({ min: 0, max: 4 }),
      amount: fc.bigInt({ min: 1n, max: 150n }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reorg" as const),
      depth: fc.integer({ min: 1, max: 3 }),
      foreign: fc.integer({ min: -1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      ms: fc.integer({ min: 0, max: 4_000 }),
    }),
  },
);

describe("mempool: property", () => {
  it("never offers a block that fails, breaks a balance, or changes supply but by EXCHANGE", () => {
    fc.assert(
      fc.property(
        limitsArb,
        fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }),
        (limits, ops) => {
          const head = new Head();
          const balances = [400n, 250n, 120n, 0n, 50n];
          for (const [i, a] of actors.entries())
            head.accounts.set(a.address, {
              balance: balances[i]!,
              stake: i === 1 ? 10n : 0n,
              nonce: 0,
            });
          let clock = 0;
          const pool = new Mempool({
            params,
            state: () => ({
              reader: head,
              totalStake: head.totalStake,
              supply: head.supply,
              slot: undefined,
            }),
            limits,
            now: () => clock,
          });
          const history: { before: Map<Address, Account>; txs: Transaction[] }[] = [];

          /** Imports a block on the head and tells the pool, as the chain will. */
          const importBlock = (txs: Transaction[]): void => {
            const before = new Map(head.accounts);
            const supply = head.supply;
            const minted = head.apply(txs);
            const exchanged = txs.reduce((s, t) => s + (t.type === "EXCHANGE" ? t.amount : 0n), 0n);
            expect(minted).toBe(exchanged);
            expect(head.supply).toBe(supply + exchanged);
            history.push({ before, txs });
            pool.removeIncluded(txs);
          };

          const foreignTx = (from: number, amount: bigint): Transaction | undefined => {
            const sender = actors[from]!;
            const nonce = head.getAccount(sender.address)?.nonce ?? 0;
            const t = makeTx(sender, {
              to: actors[(from + 1) % actors.length]!.address,
              amount,
              fee: 2n,
              nonce,
              timestamp: 7,
            });
            try {
              applyBlockTransactions(
                head,
                { transactions: [t] },
                {
                  forger: forger.publicKey,
                  slot: undefined,
                  totals: { totalStake: head.totalStake, supply: head.supply },
                },
                params,
              );
              return t;
            } catch {
              return undefined;
            }
          };

          for (const op of ops) {
            switch (op.kind) {
              case "add": {
                // Most EXCHANGEs come from the authority, a few from anyone.
                const sender = op.type === "EXCHANGE" && op.from > 0 ? exchange : actors[op.from]!;
                const nonce = Math.max(0, pool.pendingNonce(sender.address) + op.nonceSkew);
                const selfish = op.type === "STAKE" || op.type === "UNSTAKE";
                let t = makeTx(sender, {
                  type: op.type,
                  to: selfish ? sender.address : actors[op.to]!.address,
                  amount: op.amount,
                  fee: op.fee,
                  nonce,
                  timestamp: clock,
                });
                if (op.badSignature) {
                  const signature = new Uint8Array(t.signature);
                  signature[0]! ^= 1;
                  t = { ...t, signature };
                }
                const sizeBefore = pool.size;
                try {
                  const r = pool.add(t);
                  expect(op.badSignature).toBe(false);
                  expect(pool.has(t.id)).toBe(true);
                  expect(pool.size).toBe(
                    sizeBefore + (r.status === "added" ? 1 : 0) - r.evicted.length,
                  );
                } catch (e) {
                  expect(isValidationError(e)).toBe(true);
                  if (!isValidationError(e) || e.code !== "Duplicate")
                    expect(pool.has(t.id)).toBe(false);
                  expect(pool.size).toBeLessThanOrEqual(sizeBefore);
                }
                break;
              }
              case "block":
                importBlock(pool.selectForBlock(op.max));
                break;
              case "foreign": {
                const t = foreignTx(op.from, op.amount);
                if (t) importBlock([t]);
                break;
              }
              case "reorg": {
                const reverted: Transaction[] = [];
                let base: Map<Address, Account> | undefined;
                for (let i = 0; i < op.depth && history.length > 0; i++) {
                  const undone = history.pop()!;
                  reverted.unshift(...undone.txs);
                  base = undone.before;
                }
                if (!base) break;
                head.accounts = new Map(base);
                // The winning branch may hold one transaction of its own.
                const t = op.foreign >= 0 ? foreignTx(op.foreign, 5n) : undefined;
                if (t) {
                  history.push({ before: new Map(head.accounts), txs: [t] });
                  head.apply([t]);
                }
                const r = pool.reinject(reverted);
                for (const id of r.added) expect(pool.has(id)).toBe(true);
                break;
              }
              case "tick":
                clock += op.ms;
                pool.prune();
                break;
            }
            checkInvariants(head, pool, limits);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

function checkInvariants(head: Head, pool: Mempool, limits: Limits): void {
  const all = pool.all();
  expect(all.length).toBe(pool.size);
  expect(new Set(all.map((t) => t.id)).size).toBe(all.length);
  expect(all.reduce((s, t) => s + t.encoded.length, 0)).toBe(pool.bytes);
  expect(pool.size).toBeLessThanOrEqual(limits.maxCount);
  expect(pool.bytes).toBeLessThanOrEqual(limits.maxBytes);
  for (const a of actors) {
    const account = head.getAccount(a.address)!;
    const mine = pool.bySender(a.address);
    expect(mine.length).toBeLessThanOrEqual(limits.maxPerSender);
    // The pool was told about every head change: no used nonce stays.
    for (const t of mine) expect(t.nonce).toBeGreaterThanOrEqual(account.nonce);
    const pending = pool.pendingNonce(a.address);
    expect(pending).toBeGreaterThanOrEqual(account.nonce);
    expect(pending).toBeLessThanOrEqual(account.nonce + mine.length);
  }
  // The whole pool as one block: applies to the head, each sender's nonces consecutive from
  // its account nonce, balances never negative, supply changed by EXCHANGE only.
  const block = pool.selectForBlock(Number.MAX_SAFE_INTEGER);
  const supply = head.supply;
  const effects = applyBlockTransactions(
    head,
    { transactions: block },
    {
      forger: forger.publicKey,
      slot: undefined,
      totals: { totalStake: head.totalStake, supply: head.supply },
    },
    params,
  );
  const next = new Map(head.accounts);
  for (const [address, account] of effects.changes) next.set(address, account);
  for (const account of next.values()) {
    expect(account.balance >= 0n && account.stake >= 0n).toBe(true);
  }
  const exchanged = block.reduce((s, t) => s + (t.type === "EXCHANGE" ? t.amount : 0n), 0n);
  expect(totalSupply(next.values())).toBe(supply + exchanged);
  // A block takes a prefix of each sender's run, in nonce order. (Not always all of it: two
  // senders' UNSTAKEs may each be fine alone and remove the last stake together.)
  for (const a of actors) {
    const nonces = block.filter((t) => t.sender === a.address).map((t) => t.nonce);
    const from = head.getAccount(a.address)!.nonce;
    expect(nonces).toEqual(nonces.map((_, i) => from + i));
    expect(nonces.length).toBeLessThanOrEqual(pool.pendingNonce(a.address) - from);
  }
}
