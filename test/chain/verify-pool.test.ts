import { afterEach, describe, expect, it } from "vitest";
import { SignatureCache } from "../../src/chain/signatures.js";
import { type VerifyItem, VerifyPool } from "../../src/chain/verify-pool.js";
import { sign, verify } from "../../src/core/keys.js";
import { makeTransaction } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";

const pools: VerifyPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function pool(options: ConstructorParameters<typeof VerifyPool>[0] = {}): VerifyPool {
  const p = new VerifyPool(options);
  pools.push(p);
  return p;
}

const alice = testKey(21);
const bob = testKey(22);

/** Valid, forged, truncated and small-order cases, with what core `verify` answers for each. */
function cases(): { items: VerifyItem[]; expected: boolean[] } {
  const items: VerifyItem[] = [];
  for (let i = 0; i < 40; i++) {
    const key = i % 2 ? alice : bob;
    const message = new TextEncoder().encode(`message ${i}`.repeat(1 + (i % 5)));
    const signature = sign(message, key.privateKey);
    if (i % 7 === 3) signature[5]! ^= 0x40; // forged
    items.push({ message, signature, publicKey: key.publicKey });
  }
  const message = new Uint8Array([1, 2, 3]);
  const good = sign(message, alice.privateKey);
  items.push({ message, signature: good.subarray(0, 63), publicKey: alice.publicKey });
  items.push({ message, signature: good, publicKey: alice.publicKey.subarray(1) });
  // The identity point: a key of small order, whose "signatures" anyone can make.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  items.push({ message, signature: new Uint8Array(64), publicKey: identity });
  items.push({
    message: new Uint8Array(0),
    signature: sign(new Uint8Array(0), bob.privateKey),
    publicKey: bob.publicKey,
  });
  return { items, expected: items.map((x) => verify(x.message, x.signature, x.publicKey)) };
}

describe("verification pool", () => {
  it("answers exactly what core verify answers, in order", async () => {
    const { items, expected } = cases();
    expect(expected.filter((ok) => ok).length).toBeGreaterThan(20);
    expect(expected.filter((ok) => !ok).length).toBeGreaterThan(5);
    const p = pool({ threads: 2, maxBatch: 8 });
    expect(await p.verify(items)).toEqual(expected);
    expect(p.counts.worker).toBe(items.length);
    expect(p.counts.inline).toBe(0);
    // Batches of at most 8 over 2 workers.
    expect(p.counts.batches).toBeGreaterThanOrEqual(Math.ceil(items.length / 8));
  });

  it("batches the requests of one turn of the event loop together", async () => {
    const { items, expected } = cases();
    const p = pool({ threads: 1 });
    const answers = await Promise.all(items.map((item) => p.verify([item])));
    expect(answers.map(([ok]) => ok)).toEqual(expected);
    // One worker, everything queued in one turn: one batch (under the default 256).
    expect(p.counts.batches).toBe(1);
  });

  it("spreads a large request over every worker", async () => {
    const { items } = cases();
    const many = Array.from({ length: 10 }, () => items).flat();
    const p = pool({ threads: 2 });
    await p.verify(many);
    expect(p.counts.batches).toBe(2);
  });

  it("verifies on the calling thread with no threads, and after close", async () => {
    const { items, expected } = cases();
    const inline = pool({ threads: 0 });
    expect(await inline.verify(items)).toEqual(expected);
    expect(inline.counts.inline).toBe(items.length);
    const p = pool({ threads: 2 });
    const pending = p.verify(items);
    await p.close();
    expect(await pending).toEqual(expected);
    expect(await p.verify(items)).toEqual(expected);
    expect(await p.verify([])).toEqual([]);
  });
});

describe("signature cache", () => {
  it("verifies a transaction once, caches only valid ones, and shares work in flight", async () => {
    const p = pool({ threads: 2 });
    const cache = new SignatureCache({ pool: p });
    const txs = Array.from({ length: 6 }, (_, n) => makeTx(alice, { to: bob.address, nonce: n }));
    const forged = makeTransaction({ ...txs[0]!, nonce: 9 }, txs[0]!.signature);
    // The same transactions asked twice at once (API and gossip): one verification each.
    const [a, b] = await Promise.all([cache.verifyAll([...txs, forged]), cache.verifyAll(txs)]);
    expect(a).toEqual([true, true, true, true, true, true, false]);
    expect(b).toEqual([true, true, true, true, true, true]);
    expect(cache.counts.verified).toBe(7);
    expect(p.counts.worker).toBe(7);
    for (const t of txs) expect(cache.isVerified(t)).toBe(true);
    expect(cache.isVerified(forged)).toBe(false);
    expect(cache.prepare(txs)).toBeUndefined();
    // A forged one is checked again wherever it turns up.
    expect(await cache.verify(forged)).toBe(false);
    expect(cache.counts.verified).toBe(8);
  });

  it("forgets the least recently used beyond its capacity", () => {
    const cache = new SignatureCache({ capacity: 3 });
    const txs = Array.from({ length: 4 }, (_, n) => makeTx(alice, { to: bob.address, nonce: n }));
    for (const t of txs.slice(0, 3)) cache.markVerified(t);
    expect(cache.isVerified(txs[0]!)).toBe(true); // used: kept
    cache.markVerified(txs[3]!);
    expect(cache.size).toBe(3);
    expect(cache.isVerified(txs[1]!)).toBe(false);
    expect(cache.isVerified(txs[0]!)).toBe(true);
    expect(cache.isVerified(txs[3]!)).toBe(true);
  });
});
