import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { encodeCanonical } from "../../src/core/encoding.js";
import { ValidationError } from "../../src/core/errors.js";
import { makeTransaction, type Transaction, transactionIdOf } from "../../src/core/transaction.js";
import { type TxGossipDeps, validateTxBatch } from "../../src/net/gossip-validation.js";
import { encodeTxBatch } from "../../src/net/wire.js";
import { makeTx, testKey } from "../helpers/ledger.js";

const alice = testKey(31);
const bob = testKey(32);
const log = pino({ level: "silent" });

function txs(n: number): Transaction[] {
  return Array.from({ length: n }, (_, nonce) => makeTx(alice, { to: bob.address, nonce }));
}

/** Admission as the node does it, recording what it was handed (by call). */
function deps(
  judge: (tx: Transaction) => ValidationError | undefined,
  known: (id: string) => boolean = () => false,
): TxGossipDeps & { calls: Transaction[][] } {
  const calls: Transaction[][] = [];
  return {
    calls,
    admitAll: async (batch) => {
      calls.push([...batch]);
      return batch.map(judge);
    },
    known,
    onUndecodable: () => undefined,
    running: () => true,
    log,
  };
}

describe("transaction gossip", () => {
  it("hands a batch to admission a slice at a time, and accepts it when every item is admitted", async () => {
    const all = txs(150);
    const d = deps(() => undefined);
    const outcome = await validateTxBatch(encodeTxBatch(all), d);
    expect(outcome).toEqual({ verdict: "accept", repack: [], known: 0 });
    expect(d.calls.map((c) => c.length)).toEqual([64, 64, 22]);
    expect(d.calls.flat().map((t) => t.id)).toEqual(all.map((t) => t.id));
  });

  it("skips items pending here without decoding them, and relays a batch of new and pending ones as it came", async () => {
    const all = txs(10);
    const pending = new Set(all.slice(0, 4).map((t) => t.id));
    const d = deps(
      () => undefined,
      (id) => pending.has(id),
    );
    const outcome = await validateTxBatch(encodeTxBatch(all), d);
    expect(outcome).toEqual({ verdict: "accept", repack: [], known: 4 });
    expect(d.calls.flat().map((t) => t.id)).toEqual(all.slice(4).map((t) => t.id));
    // The id of the bytes is the id of the transaction they decode to.
    for (const t of all) expect(transactionIdOf(t.encoded)).toBe(t.id);
  });

  it("condemns the message at the first forged signature and looks at no later slice", async () => {
    const all = txs(200);
    const forged = makeTransaction(all[70]!, new Uint8Array(64).fill(9));
    all[70] = forged;
    const d = deps((tx) =>
      tx.id === forged.id ? new ValidationError("InvalidSignature", "forged") : undefined,
    );
    const outcome = await validateTxBatch(encodeTxBatch(all), d);
    expect(outcome.verdict).toBe("reject");
    expect(d.calls.length).toBe(2);
    // What was admitted (and so verified here) before and beside it is still announced.
    expect(outcome.repack.length).toBe(127);
  });

  it("relays a batch as it came when its other items were pending here already", async () => {
    const all = txs(5);
    const d = deps((tx) =>
      tx.nonce === 2 ? new ValidationError("Duplicate", "pending") : undefined,
    );
    expect(await validateTxBatch(encodeTxBatch(all), d)).toEqual({
      verdict: "accept",
      repack: [],
      known: 1,
    });
  });

  it("ignores, without blame, items refused for the state", async () => {
    const all = txs(5);
    const d = deps((tx) =>
      tx.nonce === 2 ? new ValidationError("NonceTooLow", "used") : undefined,
    );
    const outcome = await validateTxBatch(encodeTxBatch(all), d);
    expect(outcome.verdict).toBe("ignore");
    expect(outcome.repack.length).toBe(4);
  });

  it("rejects a message that does not decode, or holds an item that does not", async () => {
    const d = deps(() => undefined);
    expect((await validateTxBatch(new Uint8Array([1, 2, 3]), d)).verdict).toBe("reject");
    const [good] = txs(1);
    const withJunk = encodeCanonical([good!.encoded, new Uint8Array([0x82, 1, 2])]);
    expect((await validateTxBatch(withJunk, d)).verdict).toBe("reject");
    // The junk item stopped the slice before admission.
    expect(d.calls.length).toBe(1);
    expect(d.calls[0]!.length).toBe(1);
  });
});
