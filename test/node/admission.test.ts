import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Mempool } from "../../src/chain/mempool.js";
import { SignatureCache } from "../../src/chain/signatures.js";
import { isValidationError, type RejectCode } from "../../src/core/errors.js";
import type { Address, KeyPair } from "../../src/core/keys.js";
import type { Account } from "../../src/core/state.js";
import { makeTransaction, type Transaction } from "../../src/core/transaction.js";
import { Admission } from "../../src/node/admission.js";
import { makeTx, testKey, testParams } from "../helpers/ledger.js";

const keys = [51, 52, 53].map(testKey) as [KeyPair, KeyPair, KeyPair];
const receiver = testKey(54);

function pool(): Mempool {
  const accounts = new Map<Address, Account>(
    keys.map((k) => [k.address, { balance: 1_000n, stake: 0n, nonce: 0 }]),
  );
  return new Mempool({
    params: testParams(),
    state: () => ({
      reader: { getAccount: (a) => accounts.get(a) },
      totalStake: 0n,
      supply: 0n,
      slot: undefined,
    }),
    signatures: new SignatureCache(),
  });
}

function codeOrNone(fn: () => unknown): RejectCode | "ok" {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (isValidationError(e)) return e.code;
    throw e;
  }
}

/** What one add after another (single POSTs in input order) answers for each transaction. */
function oneByOne(txs: readonly Transaction[]): (RejectCode | "ok")[] {
  const p = pool();
  return txs.map((tx) => codeOrNone(() => p.add(tx)));
}

/**
 * The same transactions through Admission, cut into calls at `cuts` (all started at once, as
 * concurrent requests or gossip messages are), each call's verification finishing after
 * `delays[k]` ms: later calls' signatures may be checked first.
 */
async function asBatch(
  txs: readonly Transaction[],
  cuts: number[] = [],
  delays: number[] = [],
): Promise<(RejectCode | "ok")[]> {
  const p = pool();
  const cache = new SignatureCache();
  const admission = new Admission();
  let verifications = 0;
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < txs.length).sort((a, b) => a - b)];
  const calls = bounds.map((from, k) => txs.slice(from, bounds[k + 1] ?? txs.length));
  const answers = await Promise.all(
    calls.map((call, k) =>
      admission.admit(call, {
        check: (tx) => void p.check(tx),
        verifyAll: async (batch) => {
          verifications += batch.length;
          await new Promise((r) => setTimeout(r, delays[k] ?? 0));
          return cache.verifyAll(batch);
        },
        add: (tx) => void p.add(tx),
      }),
    ),
  );
  // Nothing is verified twice, and nothing that failed its cheap checks for good is verified.
  expect(verifications).toBeLessThanOrEqual(txs.length);
  return answers.flat().map((e) => e?.code ?? "ok");
}

const forge = (tx: Transaction) => makeTransaction(tx, new Uint8Array(64).fill(7));

describe("admission of a batch", () => {
  it("takes a sender's nonces past the mempool's gap in one batch, as one POST after another would", async () => {
    const txs = Array.from({ length: 40 }, (_, n) =>
      makeTx(keys[0], { to: receiver.address, nonce: n }),
    );
    expect(await asBatch(txs)).toEqual(oneByOne(txs));
    expect((await asBatch(txs)).every((c) => c === "ok")).toBe(true);
    // A forged one in the middle: the ones after it are held behind the gap while it lasts.
    txs[10] = forge(txs[10]!);
    const expected = oneByOne(txs);
    expect(expected[10]).toBe("InvalidSignature");
    expect(expected.slice(27)).toEqual(new Array(13).fill("NonceGap"));
    expect(await asBatch(txs)).toEqual(expected);
  });

  it("judges a transaction after the one its sender sent before it, in an earlier call whose signatures are checked last", async () => {
    const staker = keys[1];
    const stake = makeTx(staker, { type: "STAKE", to: staker.address, amount: 100n, nonce: 0 });
    const unstake = makeTx(staker, { type: "UNSTAKE", to: staker.address, amount: 60n, nonce: 1 });
    // Two calls at once; the first one's verification takes longer.
    expect(await asBatch([stake, unstake], [1], [30, 0])).toEqual(["ok", "ok"]);
  });

  it("answers like one POST after another for any mix, in any cut into concurrent calls (property)", async () => {
    const item = fc.record({
      sender: fc.integer({ min: 0, max: 2 }),
      nonce: fc.integer({ min: 0, max: 30 }),
      amount: fc.integer({ min: 0, max: 400 }),
      fee: fc.integer({ min: 0, max: 3 }),
      forged: fc.boolean(),
      type: fc.constantFrom("TRANSFER", "TRANSFER", "STAKE", "UNSTAKE"),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 5 }),
        async (specs, cuts, delays) => {
          const txs = specs.map((s) => {
            const from = keys[s.sender]!;
            const tx = makeTx(from, {
              type: s.type as "TRANSFER" | "STAKE" | "UNSTAKE",
              to: s.type === "TRANSFER" ? receiver.address : from.address,
              nonce: s.nonce,
              amount: BigInt(s.amount),
              fee: BigInt(s.fee),
            });
            return s.forged ? forge(tx) : tx;
          });
          expect(await asBatch(txs, cuts, delays)).toEqual(oneByOne(txs));
        },
      ),
      { numRuns: 200 },
    );
  });
});
