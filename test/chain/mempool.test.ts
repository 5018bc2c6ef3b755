import { describe, expect, it } from "vitest";
import {
  DEFAULT_MEMPOOL_LIMITS,
  Mempool,
  type MempoolLimits,
  type MempoolOptions,
} from "../../src/chain/mempool.js";
import { SignatureCache } from "../../src/chain/signatures.js";
import { MAX_AMOUNT } from "../../src/core/amount.js";
import { isValidationError, type RejectCode } from "../../src/core/errors.js";
import type { Address, KeyPair } from "../../src/core/keys.js";
import {
  type Account,
  type AccountReader,
  applyBlockTransactions,
  type LedgerParams,
} from "../../src/core/state.js";
import { makeTransaction, type Transaction } from "../../src/core/transaction.js";
import { codeOf, makeTx, type TxSpec, testKey, testParams } from "../helpers/ledger.js";

const [alice, bob, carol, dave, exchange, forger] = [11, 12, 13, 14, 15, 16].map(testKey) as [
  KeyPair,
  KeyPair,
  KeyPair,
  KeyPair,
  KeyPair,
  KeyPair,
];

/** An in-memory head: what the chain hands the mempool through `state()`. */
class Head implements AccountReader {
  accounts = new Map<Address, Account>();
  totalStake = 0n;
  getAccount(address: Address): Account | undefined {
    return this.accounts.get(address);
  }
  set(key: KeyPair, balance: bigint, stake = 0n, nonce = 0): void {
    const before = this.accounts.get(key.address)?.stake ?? 0n;
    this.accounts.set(key.address, { balance, stake, nonce });
    this.totalStake += stake - before;
  }
  /** Imports a block the way the chain does: the core state transition, then commit. */
  apply(txs: readonly Transaction[], params: LedgerParams): void {
    const effects = applyBlockTransactions(
      this,
      { transactions: txs },
      {
        forger: forger.publicKey,
        slot: undefined,
        totals: { totalStake: this.totalStake, supply: 0n },
      },
      params,
    );
    for (const [address, account] of effects.changes) this.accounts.set(address, account);
    this.totalStake = effects.totalStake;
  }
  snapshot(): { accounts: Map<Address, Account>; totalStake: bigint } {
    return { accounts: new Map(this.accounts), totalStake: this.totalStake };
  }
  restore(s: { accounts: Map<Address, Account>; totalStake: bigint }): void {
    this.accounts = new Map(s.accounts);
    this.totalStake = s.totalStake;
  }
}

interface Setup {
  head: Head;
  pool: Mempool;
  params: LedgerParams;
  clock: { t: number };
}

function setup(
  opts: {
    limits?: Partial<MempoolLimits>;
    params?: Partial<LedgerParams>;
    isIncluded?: MempoolOptions["isIncluded"];
  } = {},
): Setup {
  const params = testParams({ exchange: new Set([exchange.address]), ...opts.params });
  const head = new Head();
  head.set(alice, 1_000n);
  head.set(bob, 1_000n);
  head.set(carol, 1_000n);
  head.set(dave, 1_000n);
  const clock = { t: 1_000_000 };
  const pool = new Mempool({
    params,
    state: () => ({ reader: head, totalStake: head.totalStake, supply: 0n, slot: undefined }),
    now: () => clock.t,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.isIncluded ? { isIncluded: opts.isIncluded } : {}),
  });
  return { head, pool, params, clock };
}

function tx(from: KeyPair, spec: Partial<TxSpec> & { nonce: number }): Transaction {
  return makeTx(from, { to: carol.address, ...spec });
}

function ids(txs: readonly Transaction[]): string[] {
  return txs.map((t) => t.id);
}

describe("mempool: admission", () => {
  it("uses the documented defaults", () => {
    expect(DEFAULT_MEMPOOL_LIMITS).toEqual({
      maxCount: 4096,
      maxPerSender: 64,
      maxBytes: 8 * 1024 * 1024,
      maxNonceGap: 16,
      maxAgeMs: 3_600_000,
    });
    const { pool } = setup();
    expect(pool.limits).toEqual(DEFAULT_MEMPOOL_LIMITS);
  });

  it("adds a valid transaction and answers the queries", () => {
    const { pool } = setup();
    const t = tx(alice, { nonce: 0, amount: 5n, fee: 2n });
    expect(pool.add(t)).toEqual({ id: t.id, status: "added", queued: false, evicted: [] });
    expect(pool.size).toBe(1);
    expect(pool.bytes).toBe(t.encoded.length);
    expect(pool.has(t.id)).toBe(true);
    expect(pool.get(t.id)).toBe(t);
    expect(pool.get("00")).toBeUndefined();
    expect(pool.bySender(alice.address)).toEqual([t]);
    expect(pool.bySender(bob.address)).toEqual([]);
    expect(pool.pendingNonce(alice.address)).toBe(1);
    expect(pool.pendingNonce(bob.address)).toBe(0);
    expect(pool.stats()).toEqual({ count: 1, bytes: t.encoded.length, senders: 1, queued: 0 });
  });

  it("rejects a duplicate id", () => {
    const { pool } = setup();
    const t = tx(alice, { nonce: 0 });
    pool.add(t);
    expect(codeOf(() => pool.add(t))).toBe("Duplicate");
    expect(pool.size).toBe(1);
  });

  it("rejects with every named code, and a rejection changes nothing", () => {
    const { pool, head, params } = setup({ params: { keepPositiveStake: true } });
    head.set(dave, 1_000n, 10n); // the only stake
    const richReceiver = testKey(40);
    head.accounts.set(richReceiver.address, { balance: MAX_AMOUNT, stake: 0n, nonce: 0 });
    head.set(bob, 1_000n, 0n, 3);
    pool.add(tx(alice, { nonce: 0, fee: 5n }));
    const before = { size: pool.size, bytes: pool.bytes, all: ids(pool.all()) };
    const forged = { ...tx(alice, { nonce: 1 }), signature: new Uint8Array(64) };
    const cases: [RejectCode, Transaction][] = [
      ["WrongChain", tx(alice, { nonce: 1, chainId: "other-chain" })],
      ["BadAmount", tx(alice, { nonce: 1, amount: 0n })],
      ["FeeTooLow", tx(alice, { nonce: 1, fee: 0n })],
      ["ReceiverMustBeSender", tx(alice, { nonce: 1, type: "STAKE", to: bob.address })],
      ["NotExchangeAuthority", tx(alice, { nonce: 1, type: "EXCHANGE" })],
      ["InvalidSignature", forged],
      ["NonceTooLow", tx(bob, { nonce: 2 })],
      ["NonceGap", tx(alice, { nonce: 1 + DEFAULT_MEMPOOL_LIMITS.maxNonceGap + 1 })],
      ["InsufficientFunds", tx(alice, { nonce: 1, amount: 1_000n })],
      ["InsufficientStake", tx(alice, { nonce: 1, type: "UNSTAKE", to: alice.address })],
      ["LastStake", tx(dave, { nonce: 0, type: "UNSTAKE", to: dave.address, amount: 10n })],
      ["BalanceOverflow", tx(alice, { nonce: 1, to: richReceiver.address })],
      ["Duplicate", tx(alice, { nonce: 0, fee: 5n })], // same nonce, fee not higher
    ];
    for (const [code, t] of cases) {
      expect([code, codeOf(() => pool.add(t))]).toEqual([code, code]);
    }
    expect({ size: pool.size, bytes: pool.bytes, all: ids(pool.all()) }).toEqual(before);
    expect(params.keepPositiveStake).toBe(true);
  });

  it("rejects an already included transaction as AlreadyIncluded when the chain knows it", () => {
    const included = new Set<string>();
    const { pool, head, params } = setup({ isIncluded: (id) => included.has(id) });
    const t = tx(alice, { nonce: 0 });
    head.apply([t], params);
    included.add(t.id);
    expect(codeOf(() => pool.add(t))).toBe("AlreadyIncluded");
    expect(codeOf(() => pool.add(tx(alice, { nonce: 0, fee: 3n })))).toBe("NonceTooLow");
  });

  it("skips the signature check only when the caller says it verified it", () => {
    const { pool } = setup();
    const forged = { ...tx(alice, { nonce: 0 }), signature: new Uint8Array(64) };
    expect(codeOf(() => pool.add(forged))).toBe("InvalidSignature");
    // The stateless rules still run for a "verified" transaction.
    expect(codeOf(() => pool.add(tx(alice, { nonce: 0, fee: 0n }), { verified: true }))).toBe(
      "FeeTooLow",
    );
    expect(pool.add(forged, { verified: true }).status).toBe("added");
  });

  it("check() runs every check of add but the signature, and adds nothing", () => {
    const { pool } = setup();
    const forged = makeTransaction({ ...tx(alice, { nonce: 0 }) }, new Uint8Array(64).fill(1));
    expect(pool.check(forged)).toEqual([]);
    expect(pool.size).toBe(0);
    expect(codeOf(() => pool.add(forged))).toBe("InvalidSignature");
    expect(codeOf(() => pool.check(tx(alice, { nonce: 0, fee: 0n })))).toBe("FeeTooLow");
    expect(codeOf(() => pool.check(tx(alice, { nonce: 0, amount: 5_000n })))).toBe(
      "InsufficientFunds",
    );
    const t = tx(alice, { nonce: 0 });
    pool.add(t);
    expect(codeOf(() => pool.check(t))).toBe("Duplicate");
    expect(codeOf(() => pool.check(tx(alice, { nonce: 40 })))).toBe("NonceGap");
    expect(pool.size).toBe(1);
  });

  it("consults the shared signature cache and records what it verified itself", () => {
    const signatures = new SignatureCache();
    const params = testParams();
    const head = new Head();
    head.set(alice, 1_000n);
    const pool = new Mempool({
      params,
      state: () => ({ reader: head, totalStake: 0n, supply: 0n, slot: undefined }),
      signatures,
    });
    const first = tx(alice, { nonce: 0 });
    pool.add(first);
    expect(signatures.isVerified(first)).toBe(true);
    expect(signatures.counts.verified).toBe(0);
    // Verified elsewhere (admission's worker pool): trusted, not verified again here. (A forged
    // signature shows it: only the cache could have let it in.)
    const forged = makeTransaction({ ...tx(alice, { nonce: 1 }) }, new Uint8Array(64).fill(2));
    signatures.markVerified(forged);
    expect(pool.add(forged).status).toBe("added");
    const other = makeTransaction({ ...tx(alice, { nonce: 2 }) }, new Uint8Array(64).fill(3));
    expect(codeOf(() => pool.add(other))).toBe("InvalidSignature");
  });

  it("counts funds over the sender's whole run, in nonce order", () => {
    const { pool } = setup();
    pool.add(tx(alice, { nonce: 0, amount: 600n, fee: 1n }));
    expect(codeOf(() => pool.add(tx(alice, { nonce: 1, amount: 399n, fee: 1n })))).toBe(
      "InsufficientFunds",
    );
    pool.add(tx(alice, { nonce: 1, amount: 398n, fee: 1n }));
    expect(codeOf(() => pool.add(tx(alice, { nonce: 2, amount: 1n, fee: 1n })))).toBe(
      "InsufficientFunds",
    );
    // Stake moved out of the balance counts too, and UNSTAKE needs the pending stake.
    const s = setup();
    s.pool.add(tx(alice, { nonce: 0, type: "STAKE", to: alice.address, amount: 500n }));
    expect(codeOf(() => s.pool.add(tx(alice, { nonce: 1, amount: 500n, fee: 1n })))).toBe(
      "InsufficientFunds",
    );
    s.pool.add(tx(alice, { nonce: 1, type: "UNSTAKE", to: alice.address, amount: 500n }));
    s.pool.add(tx(alice, { nonce: 2, amount: 997n, fee: 1n }));
    expect(s.pool.pendingNonce(alice.address)).toBe(3);
  });

  it("takes EXCHANGE only from an exchange authority, minting to the receiver", () => {
    const { pool, head, params } = setup();
    head.set(exchange, 10n);
    const mint = tx(exchange, { nonce: 0, type: "EXCHANGE", to: bob.address, amount: 1_000_000n });
    expect(pool.add(mint).status).toBe("added");
    const block = pool.selectForBlock(10);
    expect(block).toEqual([mint]);
    head.apply(block, params);
    expect(head.getAccount(bob.address)!.balance).toBe(1_001_000n);
  });
});

describe("mempool: nonces", () => {
  it("holds future nonces and promotes them when the gap fills", () => {
    const { pool } = setup();
    const t2 = tx(alice, { nonce: 2, fee: 9n });
    const t3 = tx(alice, { nonce: 3, fee: 9n });
    expect(pool.add(t2).queued).toBe(true);
    expect(pool.add(t3).queued).toBe(true);
    expect(pool.pendingNonce(alice.address)).toBe(0);
    expect(pool.selectForBlock(10)).toEqual([]);
    expect(pool.stats().queued).toBe(2);
    const t0 = tx(alice, { nonce: 0 });
    expect(pool.add(t0).queued).toBe(false);
    expect(pool.pendingNonce(alice.address)).toBe(1);
    expect(pool.selectForBlock(10)).toEqual([t0]);
    const t1 = tx(alice, { nonce: 1 });
    expect(pool.add(t1)).toMatchObject({ queued: false, evicted: [] });
    expect(pool.pendingNonce(alice.address)).toBe(4);
    expect(pool.stats().queued).toBe(0);
    expect(pool.selectForBlock(10)).toEqual([t0, t1, t2, t3]);
  });

  it("drops a held transaction that no longer applies when it is promoted", () => {
    const { pool } = setup();
    const t1 = tx(alice, { nonce: 1, amount: 900n });
    const t2 = tx(alice, { nonce: 2, amount: 10n });
    pool.add(t1);
    pool.add(t2);
    const t0 = tx(alice, { nonce: 0, amount: 500n });
    expect(pool.add(t0).evicted).toEqual([t1.id]);
    expect(pool.pendingNonce(alice.address)).toBe(1);
    expect(ids(pool.bySender(alice.address))).toEqual([t0.id, t2.id]);
    // Refilling nonce 1 promotes the held nonce 2 again.
    pool.add(tx(alice, { nonce: 1, amount: 10n }));
    expect(pool.pendingNonce(alice.address)).toBe(3);
  });

  it("limits how far ahead a nonce may be held", () => {
    const { pool } = setup({ limits: { maxNonceGap: 4 } });
    expect(codeOf(() => pool.add(tx(alice, { nonce: 5 })))).toBe("NonceGap");
    expect(pool.add(tx(alice, { nonce: 4 })).queued).toBe(true);
    pool.add(tx(alice, { nonce: 0 }));
    pool.add(tx(alice, { nonce: 1 }));
    // The window moves with the pending run: pending nonce 2, so up to 6.
    expect(pool.add(tx(alice, { nonce: 6 })).queued).toBe(true);
    expect(codeOf(() => pool.add(tx(alice, { nonce: 7 })))).toBe("NonceGap");
  });

  it("pendingNonce counts the run, not the held transactions, and follows the head", () => {
    const { pool, head, params } = setup();
    expect(pool.pendingNonce(testKey(99).address)).toBe(0);
    head.set(bob, 1_000n, 0n, 7);
    expect(pool.pendingNonce(bob.address)).toBe(7);
    const b7 = tx(bob, { nonce: 7 });
    pool.add(b7);
    pool.add(tx(bob, { nonce: 8 }));
    pool.add(tx(bob, { nonce: 10 }));
    expect(pool.pendingNonce(bob.address)).toBe(9);
    // The head moves without removeIncluded yet: the answer is still right.
    head.apply([b7], params);
    expect(pool.pendingNonce(bob.address)).toBe(9);
    pool.removeIncluded([b7]);
    expect(pool.pendingNonce(bob.address)).toBe(9);
  });
});

describe("mempool: selection", () => {
  it("orders by fee across senders and by nonce within a sender", () => {
    const { pool, head, params } = setup();
    const a0 = tx(alice, { nonce: 0, fee: 1n });
    const a1 = tx(alice, { nonce: 1, fee: 10n });
    const b0 = tx(bob, { nonce: 0, fee: 5n });
    const c0 = tx(carol, { nonce: 0, fee: 5n, to: dave.address });
    const d0 = tx(dave, { nonce: 0, fee: 7n });
    for (const t of [a1, a0, b0, c0, d0]) pool.add(t);
    // a1 pays most but must follow a0; b0 and c0 tie on fee: first come, first served.
    const block = pool.selectForBlock(10);
    expect(ids(block)).toEqual(ids([d0, b0, c0, a0, a1]));
    expect(ids(pool.selectForBlock(3))).toEqual(ids([d0, b0, c0]));
    head.apply(block, params); // applies cleanly
  });

  it("respects the byte budget without breaking a sender's nonce order", () => {
    const { pool } = setup();
    const a0 = tx(alice, { nonce: 0, fee: 9n });
    const a1 = tx(alice, { nonce: 1, fee: 9n });
    const b0 = tx(bob, { nonce: 0, fee: 1n });
    for (const t of [a0, a1, b0]) pool.add(t);
    const size = a0.encoded.length;
    expect(ids(pool.selectForBlock(10, size * 2))).toEqual(ids([a0, a1]));
    expect(ids(pool.selectForBlock(10, size))).toEqual(ids([a0]));
    expect(pool.selectForBlock(10, size - 1)).toEqual([]);
    expect(pool.selectForBlock(0)).toEqual([]);
  });

  it("a block from a stale pool still applies to the head", () => {
    const { pool, head, params } = setup({ params: { keepPositiveStake: true } });
    head.set(alice, 1_000n, 5n);
    head.set(bob, 1_000n, 5n);
    // Each UNSTAKE alone leaves stake behind; both together would remove the last stake.
    const ua = tx(alice, { nonce: 0, type: "UNSTAKE", to: alice.address, amount: 5n, fee: 3n });
    const ub = tx(bob, { nonce: 0, type: "UNSTAKE", to: bob.address, amount: 5n, fee: 2n });
    const b1 = tx(bob, { nonce: 1, fee: 2n });
    pool.add(ua);
    pool.add(ub);
    pool.add(b1);
    expect(ids(pool.selectForBlock(10))).toEqual(ids([ua]));
    // The head moves under the pool (a competing block spends alice's nonce 0).
    head.apply([tx(alice, { nonce: 0, amount: 990n, fee: 1n })], params);
    const block = pool.selectForBlock(10);
    expect(ids(block)).toEqual(ids([ub, b1]));
    head.apply(block, params);
  });
});

describe("mempool: limits and eviction", () => {
  it("limits transactions per sender; a replacement is still allowed", () => {
    const { pool } = setup({ limits: { maxPerSender: 3 } });
    for (let n = 0; n < 3; n++) pool.add(tx(alice, { nonce: n }));
    expect(codeOf(() => pool.add(tx(alice, { nonce: 3 })))).toBe("SenderLimit");
    expect(pool.add(tx(alice, { nonce: 2, fee: 2n })).status).toBe("replaced");
    expect(pool.add(tx(bob, { nonce: 0 })).status).toBe("added");
  });

  it("when full, evicts the lowest fee from a sender's tail, never leaving a gap", () => {
    const { pool } = setup({ limits: { maxCount: 3 } });
    const a0 = tx(alice, { nonce: 0, fee: 1n });
    const a1 = tx(alice, { nonce: 1, fee: 9n });
    const b0 = tx(bob, { nonce: 0, fee: 5n });
    for (const t of [a0, a1, b0]) pool.add(t);
    // a0 has the lowest fee but is not a tail: b0 goes.
    const c0 = tx(carol, { nonce: 0, fee: 6n, to: dave.address });
    expect(pool.add(c0)).toMatchObject({ status: "added", evicted: [b0.id] });
    // Not above the lowest evictable fee (6): rejected, nothing changes.
    expect(codeOf(() => pool.add(tx(dave, { nonce: 0, fee: 6n })))).toBe("MempoolFull");
    expect(codeOf(() => pool.add(tx(dave, { nonce: 0, fee: 2n })))).toBe("MempoolFull");
    expect(ids(pool.all()).sort()).toEqual(ids([a0, a1, c0]).sort());
    // Above it: c0 (6) goes before a1 (9).
    const d0 = tx(dave, { nonce: 0, fee: 7n });
    expect(pool.add(d0).evicted).toEqual([c0.id]);
    // Then d0 (7), then the tail a1 (9), and only then a0 (1).
    expect(pool.add(tx(bob, { nonce: 0, fee: 10n })).evicted).toEqual([d0.id]);
    expect(pool.add(tx(carol, { nonce: 0, fee: 10n, to: dave.address })).evicted).toEqual([a1.id]);
    expect(pool.add(tx(dave, { nonce: 0, fee: 10n })).evicted).toEqual([a0.id]);
    expect(pool.size).toBe(3);
    expect(pool.pendingNonce(alice.address)).toBe(0);
  });

  it("never evicts a sender's own earlier nonce to make room for its later one", () => {
    const { pool } = setup({ limits: { maxCount: 2 } });
    const a0 = tx(alice, { nonce: 0, fee: 1n });
    const b0 = tx(bob, { nonce: 0, fee: 5n });
    pool.add(a0);
    pool.add(b0);
    expect(pool.add(tx(alice, { nonce: 1, fee: 10n })).evicted).toEqual([b0.id]);
    expect(codeOf(() => pool.add(tx(alice, { nonce: 2, fee: 20n })))).toBe("MempoolFull");
    expect(pool.pendingNonce(alice.address)).toBe(2);
  });

  it("evicts held transactions before executable ones; a held one cannot evict an executable one", () => {
    const { pool } = setup({ limits: { maxCount: 2 } });
    const held = tx(alice, { nonce: 3, fee: 100n });
    const b0 = tx(bob, { nonce: 0, fee: 1n });
    pool.add(held);
    pool.add(b0);
    // A held transaction competes with held ones by fee only.
    expect(codeOf(() => pool.add(tx(carol, { nonce: 5, fee: 50n, to: dave.address })))).toBe(
      "MempoolFull",
    );
    // An executable one ranks above every held one.
    const c0 = tx(carol, { nonce: 0, fee: 2n, to: dave.address });
    expect(pool.add(c0).evicted).toEqual([held.id]);
    // With only executable transactions left, a held one cannot get in at any fee.
    expect(codeOf(() => pool.add(tx(dave, { nonce: 5, fee: 500n })))).toBe("MempoolFull");
    expect(ids(pool.all()).sort()).toEqual(ids([b0, c0]).sort());
  });

  it("a transaction that fills its own gap may evict its sender's held tail", () => {
    const { pool } = setup({ limits: { maxCount: 2 } });
    const a5 = tx(alice, { nonce: 5 });
    const a6 = tx(alice, { nonce: 6 });
    pool.add(a5);
    pool.add(a6);
    const a0 = tx(alice, { nonce: 0 });
    expect(pool.add(a0)).toMatchObject({ queued: false, evicted: [a6.id] });
    expect(pool.add(tx(alice, { nonce: 1 })).evicted).toEqual([a5.id]);
    expect(pool.pendingNonce(alice.address)).toBe(2);
    // Evicting a sender's whole queue for its own gap filler keeps the pool consistent.
    const s = setup({ limits: { maxCount: 1 } });
    const h = tx(alice, { nonce: 3 });
    s.pool.add(h);
    expect(s.pool.add(tx(alice, { nonce: 0 })).evicted).toEqual([h.id]);
    expect(s.pool.size).toBe(1);
    expect(s.pool.pendingNonce(alice.address)).toBe(1);
    expect(s.pool.stats()).toMatchObject({ senders: 1, queued: 0 });
  });

  it("caps the bytes of the pool", () => {
    const probe = tx(alice, { nonce: 0 });
    const size = probe.encoded.length;
    const { pool } = setup({ limits: { maxBytes: size * 2 + size / 2 } });
    const a0 = tx(alice, { nonce: 0, fee: 3n });
    const b0 = tx(bob, { nonce: 0, fee: 2n });
    pool.add(a0);
    pool.add(b0);
    expect(pool.bytes).toBe(a0.encoded.length + b0.encoded.length);
    const c0 = tx(carol, { nonce: 0, fee: 4n, to: dave.address });
    expect(pool.add(c0).evicted).toEqual([b0.id]);
    expect(pool.bytes).toBeLessThanOrEqual(pool.limits.maxBytes);
    expect(codeOf(() => pool.add(tx(dave, { nonce: 0, fee: 3n })))).toBe("MempoolFull");
    // A transaction larger than the whole cap never gets in.
    const tiny = setup({ limits: { maxBytes: size - 1 } });
    expect(codeOf(() => tiny.pool.add(tx(alice, { nonce: 0, fee: 100n })))).toBe("MempoolFull");
  });

  it("expires transactions by arrival time; later nonces wait behind the gap", () => {
    const { pool, clock } = setup({ limits: { maxAgeMs: 10_000 } });
    const a0 = tx(alice, { nonce: 0 });
    pool.add(a0);
    clock.t += 6_000;
    const a1 = tx(alice, { nonce: 1 });
    const b0 = tx(bob, { nonce: 0 });
    pool.add(a1);
    pool.add(b0);
    expect(pool.prune(clock.t + 4_000)).toEqual([]);
    expect(pool.prune(clock.t + 4_001)).toEqual([a0.id]);
    expect(pool.has(a1.id)).toBe(true);
    expect(pool.pendingNonce(alice.address)).toBe(0);
    expect(ids(pool.selectForBlock(10))).toEqual(ids([b0]));
    // Resending the expired nonce brings the later one back into the run.
    clock.t += 1_000;
    pool.add(a0);
    expect(pool.pendingNonce(alice.address)).toBe(2);
    clock.t += 9_001;
    expect(pool.prune().sort()).toEqual(ids([a1, b0]).sort());
    expect(pool.size).toBe(1);
    clock.t += 10_000;
    expect(pool.prune()).toEqual([a0.id]);
    expect(pool.size).toBe(0);
    expect(pool.bytes).toBe(0);
    expect(pool.stats().senders).toBe(0);
  });
});

describe("mempool: replace-by-fee", () => {
  it("replaces a pending transaction only with a strictly higher fee", () => {
    const { pool } = setup();
    const a0 = tx(alice, { nonce: 0, fee: 2n });
    const a1 = tx(alice, { nonce: 1, fee: 2n });
    pool.add(a0);
    pool.add(a1);
    expect(codeOf(() => pool.add(tx(alice, { nonce: 0, fee: 2n, amount: 7n })))).toBe(
      "ReplacementUnderpriced",
    );
    expect(codeOf(() => pool.add(tx(alice, { nonce: 0, fee: 1n, amount: 7n })))).toBe(
      "ReplacementUnderpriced",
    );
    const a0b = tx(alice, { nonce: 0, fee: 3n, amount: 7n });
    expect(pool.add(a0b)).toEqual({
      id: a0b.id,
      status: "replaced",
      queued: false,
      replaced: a0.id,
      evicted: [],
    });
    expect(pool.has(a0.id)).toBe(false);
    expect(pool.size).toBe(2);
    expect(pool.bytes).toBe(a0b.encoded.length + a1.encoded.length);
    expect(ids(pool.selectForBlock(10))).toEqual(ids([a0b, a1]));
    // A held transaction can be replaced too.
    const a5 = tx(alice, { nonce: 5, fee: 1n });
    pool.add(a5);
    expect(pool.add(tx(alice, { nonce: 5, fee: 2n }))).toMatchObject({
      status: "replaced",
      queued: true,
      replaced: a5.id,
    });
  });

  it("refuses a replacement that would leave a later pending transaction unfunded", () => {
    const { pool } = setup();
    const a0 = tx(alice, { nonce: 0, amount: 100n, fee: 1n });
    const a1 = tx(alice, { nonce: 1, amount: 898n, fee: 1n });
    pool.add(a0);
    pool.add(a1);
    expect(codeOf(() => pool.add(tx(alice, { nonce: 0, amount: 100n, fee: 2n })))).toBe(
      "InsufficientFunds",
    );
    expect(ids(pool.all())).toEqual(ids([a0, a1]));
    // A replacement that frees funds lets the run grow.
    pool.add(tx(alice, { nonce: 0, amount: 50n, fee: 2n }));
    pool.add(tx(alice, { nonce: 2, amount: 40n, fee: 1n }));
    expect(pool.pendingNonce(alice.address)).toBe(3);
  });
});

describe("mempool: blocks and reorgs", () => {
  it("removeIncluded drops the block's transactions and what they invalidated", () => {
    const { pool, head, params } = setup();
    const a0 = tx(alice, { nonce: 0, fee: 3n });
    const a1 = tx(alice, { nonce: 1, fee: 3n });
    const b0 = tx(bob, { nonce: 0, amount: 500n });
    const b1 = tx(bob, { nonce: 1, amount: 400n });
    const c0 = tx(carol, { nonce: 0, to: dave.address });
    for (const t of [a0, a1, b0, b1, c0]) pool.add(t);
    // The block includes a0, and a different transaction of bob's at nonce 0 that spends more.
    const b0other = tx(bob, { nonce: 0, amount: 800n, fee: 9n });
    head.apply([a0, b0other], params);
    const r = pool.removeIncluded([a0, b0other]);
    expect(r.included).toEqual([a0.id]);
    // b0 lost its nonce; b1 (400) no longer fits the 191 left.
    expect(r.dropped.sort()).toEqual(ids([b0, b1]).sort());
    expect(ids(pool.all()).sort()).toEqual(ids([a1, c0]).sort());
    expect(pool.pendingNonce(alice.address)).toBe(2);
    expect(pool.pendingNonce(bob.address)).toBe(1);
    head.apply(pool.selectForBlock(10), params);
  });

  it("removeIncluded promotes held transactions whose gap the block filled", () => {
    const { pool, head, params } = setup();
    const a1 = tx(alice, { nonce: 1 });
    pool.add(a1);
    const a0 = tx(alice, { nonce: 0 }); // never seen by this pool
    head.apply([a0], params);
    expect(pool.removeIncluded([a0])).toEqual({ included: [], dropped: [] });
    expect(pool.pendingNonce(alice.address)).toBe(2);
    expect(pool.selectForBlock(10)).toEqual([a1]);
  });

  it("checks a new UNSTAKE against the head's total stake, even on a queue built before it moved", () => {
    const { pool, head, params } = setup({ params: { keepPositiveStake: true } });
    head.set(carol, 1_000n, 10n);
    head.set(dave, 1_000n, 10n);
    // carol's queue is built while the total stake is 20 and depends on no stake.
    pool.add(tx(carol, { nonce: 0, to: dave.address }));
    // A block in which dave, not a sender of the pool, takes his stake out: 10 are left.
    const daveLeaves = tx(dave, { nonce: 0, type: "UNSTAKE", to: dave.address, amount: 10n });
    head.apply([daveLeaves], params);
    pool.removeIncluded([daveLeaves]);
    expect(head.totalStake).toBe(10n);
    // carol's UNSTAKE would take the last stake: no block could ever include it.
    const last = tx(carol, { nonce: 1, type: "UNSTAKE", to: carol.address, amount: 10n });
    expect(codeOf(() => pool.add(last))).toBe("LastStake");
    expect(pool.pendingNonce(carol.address)).toBe(1);
    expect(
      pool.add(tx(carol, { nonce: 1, type: "UNSTAKE", to: carol.address, amount: 9n })).queued,
    ).toBe(false);
  });

  it("credits from a block reach a sender's next add lazily", () => {
    const { pool, head, params } = setup();
    head.set(dave, 10n);
    const d0 = tx(dave, { nonce: 0, amount: 5n });
    pool.add(d0);
    expect(codeOf(() => pool.add(tx(dave, { nonce: 1, amount: 100n })))).toBe("InsufficientFunds");
    const gift = tx(alice, { nonce: 0, to: dave.address, amount: 500n });
    head.apply([gift], params);
    pool.removeIncluded([gift]); // dave is not a sender of the block
    expect(pool.add(tx(dave, { nonce: 1, amount: 100n })).status).toBe("added");
    expect(pool.pendingNonce(dave.address)).toBe(2);
  });

  it("reinject takes back reverted transactions after a reorg and re-validates the pool", () => {
    const { pool, head, params } = setup();
    const genesis = head.snapshot();
    const a0 = tx(alice, { nonce: 0, fee: 2n });
    const a1 = tx(alice, { nonce: 1, fee: 1n });
    const b0 = tx(bob, { nonce: 0, fee: 2n });
    const c0 = tx(carol, { nonce: 0, fee: 2n, to: dave.address });
    for (const t of [a0, a1, b0, c0]) pool.add(t);
    const block1 = pool.selectForBlock(3);
    expect(block1.length).toBe(3);
    head.apply(block1, params);
    pool.removeIncluded(block1);
    expect(ids(block1)).toEqual(ids([a0, b0, c0]));
    expect(pool.all()).toEqual([a1]);
    const a2 = tx(alice, { nonce: 2 });
    pool.add(a2);

    // Reorg: the other branch from genesis holds only bob's nonce 0 (another transaction)
    // and carol spends her funds.
    head.restore(genesis);
    const b0other = tx(bob, { nonce: 0, amount: 3n, fee: 5n });
    const c0other = tx(carol, { nonce: 0, amount: 999n, fee: 1n, to: dave.address });
    head.apply([b0other, c0other], params);
    const r = pool.reinject(block1);
    // The new branch used bob's and carol's nonce 0 for other transactions.
    expect(r.skipped.sort()).toEqual(ids(block1.filter((t) => t.sender !== alice.address)).sort());
    expect(r.added.sort()).toEqual(ids(block1.filter((t) => t.sender === alice.address)).sort());
    expect(pool.pendingNonce(alice.address)).toBe(3);
    expect(pool.pendingNonce(bob.address)).toBe(1);
    expect(pool.pendingNonce(carol.address)).toBe(1);
    // Duplicates are ignored.
    const again = pool.reinject(block1);
    expect(again.added).toEqual([]);
    const block2 = pool.selectForBlock(10);
    expect(ids(block2)).toEqual(ids([a0, a1, a2]));
    head.apply(block2, params);
    expect(pool.removeIncluded(block2).included.length).toBe(3);
    expect(pool.size).toBe(0);
  });

  it("reinject after a reorg that lowers a nonce re-opens the run", () => {
    const { pool, head, params } = setup();
    const genesis = head.snapshot();
    const a0 = tx(alice, { nonce: 0 });
    head.apply([a0], params);
    pool.removeIncluded([a0]);
    const a1 = tx(alice, { nonce: 1 });
    pool.add(a1);
    head.restore(genesis);
    // Before reinject, a stale pool still only offers what applies.
    expect(pool.selectForBlock(10)).toEqual([]);
    expect(pool.pendingNonce(alice.address)).toBe(0);
    const r = pool.reinject([a0]);
    expect(r).toEqual({ added: [a0.id], skipped: [], dropped: [] });
    expect(pool.selectForBlock(10)).toEqual([a0, a1]);
  });
});

describe("mempool: under load", () => {
  // The same scenario's cost against signature verification is a benchmark (bench/mempool.ts,
  // keys mempool.*): durations are not asserted in tests.
  it("bookkeeping under load: 4,096 adds into a pool of 2,048, evictions, one full block", () => {
    const senders = Array.from({ length: 128 }, (_, i) => testKey(100 + i));
    const { pool, head } = setup({ limits: { maxCount: 2048 } });
    for (const s of senders) head.set(s, 1_000_000n);
    const txs: Transaction[] = [];
    for (let n = 0; n < 32; n++)
      for (const [i, s] of senders.entries())
        txs.push(tx(s, { nonce: n, fee: BigInt(1 + ((i * 7 + n * 13) % 50)) }));
    let rejected = 0;
    for (const t of txs) {
      try {
        pool.add(t, { verified: true });
      } catch (e) {
        // Full, or a nonce past the gap left by an eviction of the sender's tail.
        if (!isValidationError(e) || (e.code !== "MempoolFull" && e.code !== "NonceGap")) throw e;
        rejected++;
      }
    }
    const block = pool.selectForBlock(5_000);
    expect(pool.size).toBe(2048);
    expect(block.length).toBe(2048);
    expect(rejected).toBeGreaterThan(0);
    // the block applies as a whole: nonce order kept per sender under fee priority
    expect(() =>
      head.apply(block, testParams({ exchange: new Set([exchange.address]) })),
    ).not.toThrow();
  });
});
