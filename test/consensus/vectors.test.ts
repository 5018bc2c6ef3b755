import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { EpochLink } from "../../src/consensus/engine.js";
import { PosEngine } from "../../src/consensus/pos/engine.js";
import { accumulate, nextEpochNonce } from "../../src/consensus/pos/epochs.js";
import { drawLot, selectForger } from "../../src/consensus/pos/lottery.js";
import {
  proveRandomness,
  randomnessOutput,
  slotSeed,
  verifyRandomness,
  vrfInput,
} from "../../src/consensus/pos/randomness.js";
import { NonceSearch, powHashInput } from "../../src/consensus/pow/nonce-search.js";
import { nextTarget } from "../../src/consensus/pow/retarget.js";
import { workOfTarget } from "../../src/consensus/pow/target.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { type BlockHeader, hashHeader } from "../../src/core/block.js";
import { bytesToBigInt, parseHex, toHex } from "../../src/core/bytes.js";
import { genesisBlock } from "../../src/core/genesis.js";
import { keyPairFromSeed } from "../../src/core/keys.js";
import { vrfSecretKey } from "../../src/core/vrf.js";
import { forgePosBlock, posGenesis } from "./helpers.js";

// Written by write-vectors.ts from this code, and recomputed by an independent implementation,
// test/vectors/check_vectors.py (run by npm test and .ci/run; see test/vectors/README.md). Any
// change to a consensus rule changes these outputs and fails here; regenerating the files from a
// changed rule fails the Python check unless it changes too.
const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8"));
const lottery = read("lottery.json");
const pow = read("pow.json");
const bytes = (hex: string) => parseHex(hex)!;
const big = (hex: string) => bytesToBigInt(bytes(hex));

describe("lottery vectors (test/vectors/lottery.json)", () => {
  it("derives the same slot seeds", () => {
    for (const v of lottery.slotSeeds)
      expect(toHex(slotSeed(bytes(v.epochNonce), v.slot))).toBe(v.seed);
  });

  it("proves the same randomness (VRF), which verifies under the forger's key only", () => {
    for (const v of lottery.randomness) {
      const key = keyPairFromSeed(bytes(v.forgerKeySeed));
      const nonce = bytes(v.epochNonce);
      const proof = bytes(v.randomness);
      expect(toHex(key.publicKey)).toBe(v.forgerPublicKey);
      expect(toHex(vrfInput(v.chainId, v.slot, nonce))).toBe(v.vrfInput);
      expect(
        toHex(proveRandomness(v.chainId, v.slot, nonce, vrfSecretKey(bytes(v.forgerKeySeed)))),
      ).toBe(v.randomness);
      expect(toHex(randomnessOutput(proof)!)).toBe(v.output);
      expect(toHex(verifyRandomness(v.chainId, v.slot, nonce, proof, key.publicKey)!)).toBe(
        v.output,
      );
      expect(verifyRandomness(v.chainId, v.slot + 1, nonce, proof, key.publicKey)).toBeUndefined();
    }
  });

  it("accumulates outputs and derives epoch nonces the same way", () => {
    for (const v of lottery.epochs.accumulate)
      expect(toHex(accumulate(bytes(v.accumulator), bytes(v.output)))).toBe(v.result);
    for (const v of lottery.epochs.nextNonce)
      expect(toHex(nextEpochNonce(bytes(v.nonce), bytes(v.accumulator), v.epoch))).toBe(v.result);
  });

  it("builds the same chain across epochs, with the same epoch links", () => {
    const c = lottery.epochs.chain;
    const stakes = c.validators.map((v: { keySeed: string; stake: string }) => [
      keyPairFromSeed(bytes(v.keySeed)),
      BigInt(v.stake),
    ]);
    const genesis = posGenesis(stakes, { chainId: c.chainId, slotMs: c.slotMs });
    const engine = new PosEngine(genesis);
    const validators = buildValidatorSet(genesis.validators);
    let parent = genesisBlock(genesis);
    expect(parent.hashHex).toBe(c.genesisHash);
    let link: EpochLink = engine.genesisLink(parent);
    for (const v of c.blocks) {
      const forger = stakes.find(
        ([k]: [{ publicKey: Uint8Array }]) => toHex(k.publicKey) === v.forgerPublicKey,
      )![0];
      const block = forgePosBlock(parent, link, forger, v.slot, c.slotMs);
      expect(block.hashHex, `slot ${v.slot}`).toBe(v.hash);
      link = engine.verifyHeader(block.header, parent.header, {
        headers: { getHeader: () => undefined },
        now: Number.MAX_SAFE_INTEGER,
        lottery: {
          epoch: engine.epochContext({ header: parent.header, hash: parent.hash, link }, v.slot),
          validators,
        },
      });
      expect(
        [link.nonce, link.accumulator, link.snapshot, link.lastBeforeEpoch].map(toHex),
        `slot ${v.slot}`,
      ).toEqual([v.nonce, v.accumulator, v.snapshot, v.lastBeforeEpoch]);
      parent = block;
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
        evidenceRoot: new Uint8Array(32),
        stateRoot: new Uint8Array(32),
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
        evidenceRoot: bytes(h.evidenceRoot),
        stateRoot: bytes(h.stateRoot),
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
