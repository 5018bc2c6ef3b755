import { describe, expect, it } from "vitest";
import type { VerifyContext } from "../../src/consensus/engine.js";
import { createEngine } from "../../src/consensus/index.js";
import { POW_CLOCK_DRIFT_MS } from "../../src/consensus/pow/clock.js";
import { PowEngine } from "../../src/consensus/pow/engine.js";
import { nextTarget } from "../../src/consensus/pow/retarget.js";
import { hashMeetsTarget, workOfTarget } from "../../src/consensus/pow/target.js";
import { type Block, sealBlock } from "../../src/core/block.js";
import { isValidationError, type RejectCode } from "../../src/core/errors.js";
import { genesisBlock } from "../../src/core/genesis.js";
import { testKey } from "../helpers/ledger.js";
import { GENESIS_TIME, headerReader, minePowBlock, powGenesis } from "./helpers.js";

// About 64 hashes a block: fast to mine here, and hashes above it are easy to find.
const INITIAL = (1n << 250n) - 1n;
const genesis = powGenesis(INITIAL);
const engine = new PowEngine(genesis);
const miner = testKey(3);
const g = genesisBlock(genesis);

function rejection(f: () => void): RejectCode | undefined {
  try {
    f();
  } catch (e) {
    if (isValidationError(e)) return e.code;
    throw e;
  }
  return undefined;
}

function ctx(blocks: Block[], now: number): VerifyContext {
  return { headers: headerReader(blocks), now };
}

/** A valid chain g, b1, b2, b3 with blocks 700 ms apart. */
function validChain(): Block[] {
  const blocks = [g];
  for (let i = 1; i <= 3; i++) {
    const parent = blocks[i - 1]!;
    const grandparent = blocks[i - 2]?.header;
    const target = nextTarget(parent.header, grandparent, engine.config);
    blocks.push(minePowBlock(parent, miner, target, GENESIS_TIME + 10_000 + i * 700));
  }
  return blocks;
}

describe("PowEngine", () => {
  const blocks = validChain();
  const [, b1, b2, b3] = blocks as [Block, Block, Block, Block];
  const later = GENESIS_TIME + 60_000;

  it("accepts mined blocks whose target follows the retarget rule", () => {
    expect(createEngine(genesis).type).toBe("pow");
    for (let i = 1; i < blocks.length; i++) {
      expect(() => engine.verifySealStateless(blocks[i]!)).not.toThrow();
      expect(() =>
        engine.verifyHeader(blocks[i]!.header, blocks[i - 1]!.header, ctx(blocks, later)),
      ).not.toThrow();
    }
    // 700 ms against a 1000 ms target: block 3's target is tighter than block 2's.
    const t = (b: Block) => (b.header.seal.type === "pow" ? b.header.seal.target : 0n);
    expect(t(b3)).toBeLessThan(t(b2));
  });

  it("rejects a hash above the target (InsufficientWork)", () => {
    const target = b1.header.seal.type === "pow" ? b1.header.seal.target : 0n;
    let unmined = minePowBlock(g, miner, target, b1.header.timestamp, false);
    for (let t = b1.header.timestamp; hashMeetsTarget(unmined.hash, target); t++)
      unmined = minePowBlock(g, miner, target, t + 1, false);
    expect(rejection(() => engine.verifySealStateless(unmined))).toBe("InsufficientWork");
    expect(rejection(() => engine.verifyHeader(unmined.header, g.header, ctx(blocks, later)))).toBe(
      "InsufficientWork",
    );
  });

  it("rejects a target other than the retarget rule's (BadTarget)", () => {
    const expected = nextTarget(b2.header, b1.header, engine.config);
    for (const wrong of [expected / 2n, expected - 1n]) {
      const block = minePowBlock(b2, miner, wrong, b2.header.timestamp + 700);
      expect(() => engine.verifySealStateless(block)).not.toThrow();
      expect(
        rejection(() => engine.verifyHeader(block.header, b2.header, ctx(blocks, later))),
      ).toBe("BadTarget");
    }
    // Easier than the genesis allows is refused before anything else.
    const tooEasy = minePowBlock(g, miner, INITIAL * 2n, b1.header.timestamp);
    expect(rejection(() => engine.verifySealStateless(tooEasy))).toBe("BadTarget");
  });

  it("rejects a timestamp not after the parent's (BadTimestamp)", () => {
    const target = nextTarget(b2.header, b1.header, engine.config);
    for (const timestamp of [b2.header.timestamp, b2.header.timestamp - 1]) {
      const block = minePowBlock(b2, miner, target, timestamp);
      expect(
        rejection(() => engine.verifyHeader(block.header, b2.header, ctx(blocks, later))),
      ).toBe("BadTimestamp");
    }
  });

  it("rejects a timestamp beyond now plus the clock drift (FutureBlock)", () => {
    const target = nextTarget(b2.header, b1.header, engine.config);
    const timestamp = b2.header.timestamp + 700;
    const block = minePowBlock(b2, miner, target, timestamp);
    const atEdge = ctx(blocks, timestamp - POW_CLOCK_DRIFT_MS);
    expect(rejection(() => engine.verifyHeader(block.header, b2.header, atEdge))).toBeUndefined();
    const beyond = ctx(blocks, timestamp - POW_CLOCK_DRIFT_MS - 1);
    expect(rejection(() => engine.verifyHeader(block.header, b2.header, beyond))).toBe(
      "FutureBlock",
    );
  });

  it("rejects a PoS seal on a PoW chain (WrongConsensus)", () => {
    const pos = sealBlock(
      { ...b1.header, seal: { type: "pos", slot: 1, vrfProof: new Uint8Array(64) } },
      [],
      miner.privateKey,
    );
    expect(rejection(() => engine.verifySealStateless(pos))).toBe("WrongConsensus");
    expect(rejection(() => engine.verifyHeader(pos.header, g.header, ctx(blocks, later)))).toBe(
      "WrongConsensus",
    );
  });

  it("needs the grandparent header to check the target (UnknownParent without it)", () => {
    expect(rejection(() => engine.verifyHeader(b3.header, b2.header, ctx([g, b2], later)))).toBe(
      "UnknownParent",
    );
  });

  it("scores by cumulative work", () => {
    const target = b1.header.seal.type === "pow" ? b1.header.seal.target : 0n;
    expect(engine.score(b1.header, 10n)).toBe(10n + workOfTarget(target));
  });
});
