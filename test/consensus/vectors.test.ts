import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { drawLot, selectForger } from "../../src/consensus/pos/lottery.js";
import {
  randomnessMessage,
  signRandomness,
  slotSeed,
  verifyRandomness,
} from "../../src/consensus/pos/randomness.js";
import { NonceSearch, powHashInput } from "../../src/consensus/pow/nonce-search.js";
import { nextTarget } from "../../src/consensus/pow/retarget.js";
import { workOfTarget } from "../../src/consensus/pow/target.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { type BlockHeader, hashHeader } from "../../src/core/block.js";
import { bytesToBigInt, parseHex, toHex } from "../../src/core/bytes.js";
import { keyPairFromSeed } from "../../src/core/keys.js";

// Written by write-vectors.ts and cross-checked once by an independent Python implementation;
// any change to a consensus rule changes these outputs and fails here.
const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8"));
const lottery = read("lottery.json");
const pow = read("pow.json");
const bytes = (hex: string) => parseHex(hex)!;
const big = (hex: string) => bytesToBigInt(bytes(hex));

describe("lottery vectors (test/vectors/lottery.json)", () => {
  it("derives the same slot seeds", () => {
    for (const v of lottery.slotSeeds)
      expect(toHex(slotSeed(bytes(v.parentRandomness), v.slot))).toBe(v.seed);
  });

  it("signs the same randomness, which verifies under the forger's key only", () => {
    for (const v of lottery.randomness) {
      const key = keyPairFromSeed(bytes(v.forgerKeySeed));
      const parent = bytes(v.parentRandomness);
      expect(toHex(key.publicKey)).toBe(v.forgerPublicKey);
      expect(toHex(randomnessMessage(v.chainId, v.slot, parent))).toBe(v.message);
      expect(toHex(signRandomness(v.chainId, v.slot, parent, key.privateKey))).toBe(v.randomness);
      expect(verifyRandomness(v.chainId, v.slot, parent, bytes(v.randomness), key.publicKey)).toBe(
        true,
      );
      expect(
        verifyRandomness(v.chainId, v.slot + 1, parent, bytes(v.randomness), key.publicKey),
      ).toBe(false);
    }
  });

  it("draws the same lots and winners", () => {
    for (const set of lottery.lotteries) {
      const validators = buildValidatorSet(
        set.validators.map((v: { address: string; stake: string }) => [v.address, BigInt(v.stake)]),
      );
      for (const d of set.draws) {
        expect(drawLot(bytes(d.seed), validators.total).toString(), set.name).toBe(d.lot);
        expect(selectForger(validators, bytes(d.seed)), set.name).toBe(d.winner);
      }
    }
  });
});

describe("PoW vectors (test/vectors/pow.json)", () => {
  it("computes the same work", () => {
    for (const v of pow.works) expect(workOfTarget(big(v.target)).toString()).toBe(v.work);
  });

  it("retargets to the same targets", () => {
    for (const v of pow.retarget) {
      const header = (height: number, timestamp: number): BlockHeader => ({
        chainId: "lotchain-test",
        height,
        previousHash: new Uint8Array(32),
        timestamp,
        forger: new Uint8Array(32),
        txRoot: new Uint8Array(32),
        seal: { type: "pow", target: big(v.parentTarget), nonce: 0n },
      });
      const config = {
        type: "pow" as const,
        targetBlockMs: v.targetBlockMs,
        initialTarget: big(v.initialTarget),
      };
      const parent = header(v.parentHeight, 2_000_000 + v.solveTimeMs);
      const next = nextTarget(parent, header(v.parentHeight - 1, 2_000_000), config);
      expect(next).toBe(big(v.nextTarget));
    }
  });

  it("finds the same first nonce and hash", () => {
    for (const v of pow.mined) {
      const h = v.header;
      const header: BlockHeader = {
        chainId: h.chainId,
        height: h.height,
        previousHash: bytes(h.previousHash),
        timestamp: h.timestamp,
        forger: bytes(h.forger),
        txRoot: bytes(h.txRoot),
        seal: { type: "pow", target: big(h.target), nonce: 0n },
      };
      const search = new NonceSearch(powHashInput(header), bytes(h.target));
      expect(search.next(1 << 20)?.toString()).toBe(v.firstNonce);
      const sealed: BlockHeader = {
        ...header,
        seal: { type: "pow", target: big(h.target), nonce: BigInt(v.firstNonce) },
      };
      expect(toHex(powHashInput(sealed))).toBe(v.hashInput);
      expect(toHex(hashHeader(sealed))).toBe(v.hash);
    }
  });
});
