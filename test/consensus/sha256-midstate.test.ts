import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NonceSearch, powHashInput } from "../../src/consensus/pow/nonce-search.js";
import { NonceHasher } from "../../src/consensus/pow/sha256-midstate.js";
import { type BlockHeader, hashHeader } from "../../src/core/block.js";
import { bigIntToBytes, bytesToBigInt } from "../../src/core/bytes.js";

const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash("sha256").update(bytes).digest());

function withNonce(message: Uint8Array, nonce: bigint): Uint8Array {
  const copy = message.slice();
  copy.set(bigIntToBytes(nonce, 8), copy.length - 8);
  return copy;
}

describe("NonceHasher (the miner's SHA-256 with a midstate)", () => {
  it("equals node:crypto SHA-256 for every message length and nonce", () => {
    // Lengths 8..300 cover a nonce inside one tail block, straddling two, and a two-block tail.
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 300 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (message, nonce) => {
          const hasher = new NonceHasher(message);
          expect(hasher.digest(nonce)).toEqual(sha256(withNonce(message, nonce)));
        },
      ),
      { numRuns: 500 },
    );
    for (let length = 8; length <= 200; length++) {
      const message = new Uint8Array(length).fill(length);
      expect(new NonceHasher(message).digest(0x0102030405060708n)).toEqual(
        sha256(withNonce(message, 0x0102030405060708n)),
      );
    }
  });

  it("hashes a PoW header to its block hash (the tagged prefix and nonce layout match core)", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
        fc.nat(),
        fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (chainId, height, target, nonce) => {
          const header: BlockHeader = {
            chainId,
            height,
            previousHash: new Uint8Array(32).fill(1),
            timestamp: 1_764_000_000_000 + height,
            forger: new Uint8Array(32).fill(2),
            txRoot: new Uint8Array(32).fill(3),
            evidenceRoot: new Uint8Array(32).fill(4),
            stateRoot: new Uint8Array(32).fill(5),
            seal: { type: "pow", target, nonce },
          };
          const input = powHashInput(header);
          expect(sha256(input)).toEqual(hashHeader(header));
          expect(new NonceHasher(input).digest(nonce)).toEqual(hashHeader(header));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("NonceSearch", () => {
  it("returns the first nonce whose hash is at most the target, counting the nonces tried", () => {
    const message = new Uint8Array(150).fill(9);
    const target = (1n << 252n) - 1n;
    const search = new NonceSearch(message, bigIntToBytes(target, 32));
    let found: bigint | undefined;
    while (found === undefined) found = search.next(7);
    for (let n = 0n; n < found; n++)
      expect(bytesToBigInt(sha256(withNonce(message, n))) > target).toBe(true);
    expect(bytesToBigInt(sha256(withNonce(message, found))) <= target).toBe(true);
    expect(search.hashes).toBe(Number(found) + 1);
  });

  it("carries from the low to the high 32 bits of the nonce, and stops at 2^64 - 1", () => {
    const message = new Uint8Array(100).fill(4);
    const anything = bigIntToBytes((1n << 256n) - 1n, 32);
    const search = new NonceSearch(message, anything, 0xffffffffn);
    expect(search.next(1)).toBe(0xffffffffn);
    expect(search.next(1)).toBe(0x100000000n);
    const last = new NonceSearch(message, anything, (1n << 64n) - 1n);
    expect(last.next(1)).toBe((1n << 64n) - 1n);
    expect(last.exhausted).toBe(true);
    expect(last.next(1)).toBeUndefined();
  });
});
