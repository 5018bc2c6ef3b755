import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PowEngine } from "../../src/consensus/pow/engine.js";
import {
  MAX_RETARGET_EASING,
  nextTarget,
  RETARGET_SMOOTHING_BLOCKS,
} from "../../src/consensus/pow/retarget.js";
import { hashMeetsTarget, MAX_TARGET, workOfTarget } from "../../src/consensus/pow/target.js";
import type { BlockHeader } from "../../src/core/block.js";
import { bigIntToBytes } from "../../src/core/bytes.js";
import { powGenesis } from "./helpers.js";

const T = 1000;
const INITIAL = (1n << 250n) - 1n;
const config = { type: "pow" as const, targetBlockMs: T, initialTarget: INITIAL };

function header(height: number, timestamp: number, target: bigint): BlockHeader {
  return {
    chainId: "lotchain-test",
    height,
    previousHash: new Uint8Array(32),
    timestamp,
    forger: new Uint8Array(32),
    txRoot: new Uint8Array(32),
    evidenceRoot: new Uint8Array(32),
    stateRoot: new Uint8Array(32),
    seal: { type: "pow", target, nonce: 0n },
  };
}

/** The target after a parent at `height` solved in `solveTime` ms with `target`. */
function retarget(target: bigint, solveTime: number, height = 10): bigint {
  return nextTarget(
    header(height, 5_000_000 + solveTime, target),
    header(height - 1, 5_000_000, target),
    config,
  );
}

describe("target and work", () => {
  it("work = 2^256 / (target + 1): 1 for the easiest target, more for harder ones", () => {
    expect(workOfTarget(MAX_TARGET)).toBe(1n);
    expect(workOfTarget((1n << 255n) - 1n)).toBe(2n);
    expect(workOfTarget((1n << 240n) - 1n)).toBe(1n << 16n);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: MAX_TARGET }),
        fc.bigInt({ min: 0n, max: MAX_TARGET }),
        (a, b) => {
          if (a < b) expect(workOfTarget(a) >= workOfTarget(b)).toBe(true);
        },
      ),
    );
  });

  it("a hash meets the target when, read big-endian, it is at most the target", () => {
    const target = 0x00ff00n << 200n;
    expect(hashMeetsTarget(bigIntToBytes(target, 32), target)).toBe(true);
    expect(hashMeetsTarget(bigIntToBytes(target + 1n, 32), target)).toBe(false);
    expect(hashMeetsTarget(bigIntToBytes(target - 1n, 32), target)).toBe(true);
  });
});

describe("retarget toward targetBlockMs", () => {
  const parent = 1n << 230n;

  it("keeps the target when a block took targetBlockMs; tightens when faster, eases when slower", () => {
    expect(retarget(parent, T)).toBe(parent);
    expect(retarget(parent, T / 2)).toBeLessThan(parent);
    expect(retarget(parent, 3 * T)).toBeGreaterThan(parent);
  });

  it("bounds the step per block: at least (N-1)/N and at most 2 times the parent's target", () => {
    const N = RETARGET_SMOOTHING_BLOCKS;
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: INITIAL }),
        fc.integer({ min: 1, max: 100_000_000 }),
        (target, solveTime) => {
          const next = retarget(target, solveTime);
          expect(next).toBeGreaterThanOrEqual((target * (N - 1n)) / N);
          expect(next).toBeLessThanOrEqual(target * MAX_RETARGET_EASING);
          expect(next >= 1n && next <= INITIAL).toBe(true);
        },
      ),
    );
    expect(retarget(parent, 0)).toBe((parent * (N - 1n)) / N);
    expect(retarget(parent, 3_600_000)).toBe(parent * 2n);
  });

  it("never rises above the genesis initialTarget and never falls below 1", () => {
    expect(retarget(INITIAL, 3_600_000)).toBe(INITIAL);
    expect(retarget(1n, 1)).toBe(1n);
  });

  it("uses the initialTarget while no two mined blocks give a solve time", () => {
    expect(nextTarget(header(0, 0, INITIAL), undefined, config)).toBe(INITIAL);
    expect(retarget(1n << 200n, 5, 1)).toBe(INITIAL);
  });

  it("converges to targetBlockMs for a steady hash rate, from a too-easy and a too-hard start", () => {
    // Deterministic model: a block takes its expected time, work / hash rate. 50 hashes per ms.
    const rate = 50n;
    for (const start of [INITIAL, 1n << 200n]) {
      let target = start;
      let solveTime = 0;
      for (let height = 2; height < 400; height++) {
        solveTime = Number(workOfTarget(target) / rate);
        target = retarget(target, Math.max(solveTime, 1), height);
      }
      expect(Math.abs(solveTime - T)).toBeLessThan(T / 10);
    }
  });
});

describe("fork choice by cumulative work", () => {
  it("prefers two hard blocks to three easy ones, and sums work along a chain", () => {
    const engine = new PowEngine(powGenesis(MAX_TARGET));
    const easy = 1n << 250n;
    const hard = easy >> 2n; // four times the work per block
    const scoreOf = (targets: bigint[]) =>
      targets.reduce((score, t, i) => engine.score(header(i + 1, i + 1, t), score), 0n);
    const threeEasy = scoreOf([easy, easy, easy]);
    const twoHard = scoreOf([hard, hard]);
    expect(twoHard).toBeGreaterThan(threeEasy);
    expect(threeEasy).toBe(3n * workOfTarget(easy));
    expect(scoreOf([easy, hard])).toBe(workOfTarget(easy) + workOfTarget(hard));
  });
});
