import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isValidationError } from "../../src/core/errors.js";
import type { Address } from "../../src/core/keys.js";
import {
  type Account,
  type AccountReader,
  applyBlockTransactions,
  totalStake,
  totalSupply,
} from "../../src/core/state.js";
import type { Transaction } from "../../src/core/transaction.js";
import { codeOf, makeTx, testKey, testParams } from "../helpers/ledger.js";

const [alice, bob, carol, exchange, forger] = [1, 2, 3, 4, 5].map(testKey) as [
  ReturnType<typeof testKey>,
  ReturnType<typeof testKey>,
  ReturnType<typeof testKey>,
  ReturnType<typeof testKey>,
  ReturnType<typeof testKey>,
];
const params = testParams({
  exchange: new Set([exchange.address]),
  blockReward: 3n,
  keepPositiveStake: true,
});

class MapState implements AccountReader {
  constructor(readonly accounts = new Map<Address, Account>()) {}
  getAccount(address: Address) {
    return this.accounts.get(address);
  }
}

function fresh(): MapState {
  return new MapState(
    new Map<Address, Account>([
      [alice.address, { balance: 100n, stake: 0n, nonce: 0 }],
      [bob.address, { balance: 50n, stake: 10n, nonce: 0 }],
      [exchange.address, { balance: 20n, stake: 0n, nonce: 0 }],
    ]),
  );
}

function apply(state: MapState, txs: Transaction[]) {
  const stake = totalStake(state.accounts.values());
  const effects = applyBlockTransactions(
    state,
    { transactions: txs },
    {
      forger: forger.publicKey,
      slot: undefined,
      totals: { totalStake: stake, supply: totalSupply(state.accounts.values()) },
    },
    params,
  );
  for (const [address, account] of effects.changes) state.accounts.set(address, account);
  return effects;
}

describe("state transition", () => {
  it("applies TRANSFER, STAKE, UNSTAKE and EXCHANGE, paying fees and reward to the forger", () => {
    const s = fresh();
    const effects = apply(s, [
      makeTx(exchange, { type: "EXCHANGE", to: alice.address, amount: 100n, nonce: 0 }),
      makeTx(alice, { to: bob.address, amount: 30n, fee: 2n, nonce: 0 }),
      makeTx(alice, { type: "STAKE", amount: 25n, nonce: 1 }),
      makeTx(bob, { type: "UNSTAKE", amount: 4n, nonce: 0 }),
    ]);
    expect(s.getAccount(alice.address)).toEqual({
      balance: 100n + 100n - 32n - 26n,
      stake: 25n,
      nonce: 2,
    });
    expect(s.getAccount(bob.address)).toEqual({
      balance: 50n + 30n + 4n - 1n,
      stake: 6n,
      nonce: 1,
    });
    expect(s.getAccount(exchange.address)).toEqual({ balance: 19n, stake: 0n, nonce: 1 });
    expect(s.getAccount(forger.address)).toEqual({ balance: 5n + 3n, stake: 0n, nonce: 0 });
    expect(effects.fees).toBe(5n);
    expect(effects.minted).toBe(103n);
    expect(effects.totalStake).toBe(31n);
  });

  it("counts funds after every earlier transaction of the same block (no double spend)", () => {
    const s = fresh();
    const spendAll = makeTx(alice, { to: bob.address, amount: 99n, fee: 1n, nonce: 0 });
    const again = makeTx(alice, { to: carol.address, amount: 1n, fee: 1n, nonce: 1 });
    expect(codeOf(() => apply(s, [spendAll, again]))).toBe("InsufficientFunds");
    expect(s.getAccount(alice.address)!.balance).toBe(100n);
  });

  it("rejects replays, gaps, duplicates, wrong chain and missing authority", () => {
    const s = fresh();
    const t0 = makeTx(alice, { to: bob.address, nonce: 0 });
    apply(s, [t0]);
    expect(codeOf(() => apply(s, [t0]))).toBe("NonceTooLow");
    expect(codeOf(() => apply(s, [makeTx(alice, { to: bob.address, nonce: 5 })]))).toBe("NonceGap");
    const t1 = makeTx(alice, { to: bob.address, nonce: 1 });
    expect(codeOf(() => apply(s, [t1, t1]))).toBe("DuplicateTransaction");
    expect(codeOf(() => apply(s, [makeTx(alice, { nonce: 1, chainId: "other" })]))).toBe(
      "WrongChain",
    );
    expect(
      codeOf(() => apply(s, [makeTx(alice, { type: "EXCHANGE", to: bob.address, nonce: 1 })])),
    ).toBe("NotExchangeAuthority");
    expect(codeOf(() => apply(s, [makeTx(alice, { to: bob.address, nonce: 1, fee: 0n })]))).toBe(
      "FeeTooLow",
    );
    expect(codeOf(() => apply(s, [makeTx(alice, { to: bob.address, nonce: 1, amount: 0n })]))).toBe(
      "BadAmount",
    );
    expect(
      codeOf(() => apply(s, [makeTx(alice, { type: "STAKE", to: bob.address, nonce: 1 })])),
    ).toBe("ReceiverMustBeSender");
    expect(codeOf(() => apply(s, [makeTx(alice, { type: "UNSTAKE", nonce: 1 })]))).toBe(
      "InsufficientStake",
    );
    expect(codeOf(() => apply(s, [makeTx(bob, { type: "UNSTAKE", amount: 10n, nonce: 0 })]))).toBe(
      "LastStake",
    );
    const forged = { ...makeTx(alice, { to: bob.address, nonce: 1 }) };
    forged.signature = new Uint8Array(64);
    expect(codeOf(() => apply(s, [forged]))).toBe("InvalidSignature");
  });

  it("never goes negative and conserves supply except for mints and rewards (property)", () => {
    const actors = [alice, bob, carol, exchange];
    const txArb = fc.record({
      from: fc.integer({ min: 0, max: 3 }),
      to: fc.integer({ min: 0, max: 3 }),
      type: fc.constantFrom("TRANSFER", "STAKE", "UNSTAKE", "EXCHANGE" as const),
      amount: fc.bigInt({ min: 0n, max: 150n }),
      fee: fc.bigInt({ min: 0n, max: 5n }),
      nonceSkew: fc.constantFrom(0, 0, 0, 0, -1, 1),
    });
    fc.assert(
      fc.property(fc.array(fc.array(txArb, { maxLength: 6 }), { maxLength: 8 }), (blocks) => {
        const s = fresh();
        let expected = totalSupply(s.accounts.values());
        const nextNonce = new Map<string, number>();
        for (const specs of blocks) {
          const planned = new Map(nextNonce);
          const txs = specs.map((spec) => {
            const from = actors[spec.from]!;
            const n = planned.get(from.address) ?? 0;
            planned.set(from.address, n + 1);
            return makeTx(from, {
              type: spec.type,
              to:
                spec.type === "STAKE" || spec.type === "UNSTAKE"
                  ? from.address
                  : actors[spec.to]!.address,
              amount: spec.amount,
              fee: spec.fee,
              nonce: Math.max(0, n + spec.nonceSkew),
            });
          });
          const before = new Map(s.accounts);
          try {
            const effects = apply(s, txs);
            expected += effects.minted;
            for (const tx of txs) nextNonce.set(tx.sender, tx.nonce + 1);
          } catch (e) {
            expect(isValidationError(e)).toBe(true);
            expect(s.accounts).toEqual(before);
          }
          for (const a of s.accounts.values()) {
            expect(a.balance >= 0n && a.stake >= 0n).toBe(true);
          }
          expect(totalSupply(s.accounts.values())).toBe(expected);
          expect(totalStake(s.accounts.values()) > 0n).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("undo data restores the state before the block", () => {
    const s = fresh();
    const before = new Map([...s.accounts].map(([k, v]) => [k, { ...v }]));
    const effects = apply(s, [
      makeTx(alice, { to: carol.address, amount: 5n, nonce: 0 }),
      makeTx(exchange, { type: "EXCHANGE", to: carol.address, amount: 7n, nonce: 0 }),
    ]);
    for (const [address, prior] of effects.undo) {
      if (prior) s.accounts.set(address, prior);
      else s.accounts.delete(address);
    }
    expect(s.accounts).toEqual(before);
  });
});
