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
    // The generator plans each transaction against a running copy of the accounts, so almost
    // every one is valid; about one in twenty is broken on purpose (one of four ways, each with
    // the code its block must fail with), which sinks its block and must change nothing.
    const actors = [alice, bob, carol, exchange];
    const specArb = fc.record({
      from: fc.integer({ min: 0, max: 3 }),
      to: fc.integer({ min: 0, max: 3 }),
      type: fc.constantFrom("TRANSFER", "TRANSFER", "TRANSFER", "STAKE", "UNSTAKE", "EXCHANGE"),
      percent: fc.integer({ min: 1, max: 100 }),
      fee: fc.bigInt({ min: 1n, max: 5n }),
      broken: fc.integer({ min: 0, max: 79 }),
    });
    const BREAKS = ["NonceGap", "FeeTooLow", "InsufficientFunds", "NotExchangeAuthority"] as const;
    const totals = { blocks: 0, appliedBlocks: 0, brokenBlocks: 0, txs: 0, appliedTxs: 0 };

    fc.assert(
      fc.property(
        fc.array(fc.array(specArb, { maxLength: 8 }), { minLength: 1, maxLength: 10 }),
        (blocks) => {
          const s = fresh();
          let expected = totalSupply(s.accounts.values());
          for (const specs of blocks) {
            const planned = new Map([...s.accounts].map(([k, v]) => [k, { ...v }]));
            const get = (address: string) => {
              const account = planned.get(address) ?? { balance: 0n, stake: 0n, nonce: 0 };
              planned.set(address, account);
              return account;
            };
            let plannedStake = totalStake(s.accounts.values());
            const txs: Transaction[] = [];
            let breaks: (typeof BREAKS)[number] | undefined;
            for (const spec of specs) {
              const exchanging = spec.type === "EXCHANGE";
              const from = exchanging ? exchange : actors[spec.from]!;
              const sender = get(from.address);
              const to = spec.type === "STAKE" || spec.type === "UNSTAKE" ? from : actors[spec.to]!;
              if (sender.balance < spec.fee + 1n) continue; // cannot pay: not generated
              const spendable = sender.balance - spec.fee;
              let amount: bigint;
              if (exchanging) amount = BigInt(spec.percent) * 3n;
              else if (spec.type === "UNSTAKE") {
                // leave some stake in the system: the last stake may not leave (LastStake)
                const room = sender.stake < plannedStake ? sender.stake : sender.stake - 1n;
                amount = (room * BigInt(spec.percent)) / 100n;
                if (amount === 0n) continue;
              } else amount = (spendable * BigInt(spec.percent)) / 100n || 1n;
              const draft = {
                type: spec.type,
                to: to.address,
                amount,
                fee: spec.fee,
                nonce: sender.nonce,
              };
              const breakWith = spec.broken < BREAKS.length ? BREAKS[spec.broken] : undefined;
              if (breakWith === "NonceGap") draft.nonce += 1;
              else if (breakWith === "FeeTooLow") draft.fee = 0n;
              else if (breakWith === "InsufficientFunds") {
                draft.type = "TRANSFER";
                draft.amount = spendable + 1n;
              }
              let signer = from;
              if (breakWith === "NotExchangeAuthority") {
                draft.type = "EXCHANGE";
                signer = actors[spec.from === 3 ? 0 : spec.from]!;
              }
              txs.push(makeTx(signer, draft));
              breaks ??= breakWith;
              // the running copy follows the valid plan
              sender.nonce += 1;
              sender.balance -= spec.fee;
              if (spec.type === "TRANSFER") {
                sender.balance -= amount;
                get(to.address).balance += amount;
              } else if (spec.type === "STAKE") {
                sender.balance -= amount;
                sender.stake += amount;
                plannedStake += amount;
              } else if (spec.type === "UNSTAKE") {
                sender.stake -= amount;
                sender.balance += amount;
                plannedStake -= amount;
              } else get(to.address).balance += amount;
            }
            if (txs.length === 0) continue;
            totals.blocks++;
            totals.txs += txs.length;
            const before = new Map(s.accounts);
            try {
              const effects = apply(s, txs);
              expect(breaks).toBeUndefined();
              expected += effects.minted;
              totals.appliedBlocks++;
              totals.appliedTxs += txs.length;
            } catch (e) {
              expect(isValidationError(e) && e.code).toBe(breaks);
              expect(s.accounts).toEqual(before);
              totals.brokenBlocks++;
            }
            for (const a of s.accounts.values()) {
              expect(a.balance >= 0n && a.stake >= 0n).toBe(true);
            }
            expect(totalSupply(s.accounts.values())).toBe(expected);
            expect(totalStake(s.accounts.values()) > 0n).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
    const share = totals.appliedTxs / totals.txs;
    console.log(
      `supply property: ${totals.appliedBlocks} of ${totals.blocks} blocks applied, ` +
        `${totals.appliedTxs} of ${totals.txs} transactions (${(share * 100).toFixed(0)} %); ` +
        `${totals.brokenBlocks} broken blocks refused whole`,
    );
    expect(share, "share of generated transactions applied").toBeGreaterThanOrEqual(0.5);
    expect(totals.appliedBlocks / totals.blocks).toBeGreaterThanOrEqual(0.5);
    expect(totals.brokenBlocks, "the atomic refusal path ran").toBeGreaterThan(10);
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
