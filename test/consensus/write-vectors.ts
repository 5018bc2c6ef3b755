/**
 * Writes test/vectors/lottery.json and test/vectors/pow.json from the current code. Run it only
 * when a consensus rule changes on purpose (every node must change with it):
 *   npx tsc -p tsconfig.json && node dist/test/consensus/write-vectors.js
 * vectors.test.ts checks the files, so any unintended change to the rules fails the tests.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { drawLot, selectForger } from "../../src/consensus/pos/lottery.js";
import { randomnessMessage, signRandomness, slotSeed } from "../../src/consensus/pos/randomness.js";
import { NonceSearch, powHashInput } from "../../src/consensus/pow/nonce-search.js";
import { nextTarget } from "../../src/consensus/pow/retarget.js";
import { MAX_TARGET, workOfTarget } from "../../src/consensus/pow/target.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { type BlockHeader, hashHeader } from "../../src/core/block.js";
import { bigIntToBytes, toHex, utf8 } from "../../src/core/bytes.js";
import { taggedHash } from "../../src/core/hash.js";
import { keyPairFromSeed } from "../../src/core/keys.js";

const hex = (n: bigint) => toHex(bigIntToBytes(n, 32));
const keySeed = (n: number) => new Uint8Array(32).fill(n);
const key = (n: number) => keyPairFromSeed(keySeed(n));
const seedOf = (label: string) => taggedHash("lotchain/slot-seed/v1", utf8.encode(label));

function lotteryVectors() {
  const sets: { name: string; stakes: [number, bigint][] }[] = [
    { name: "one validator", stakes: [[1, 5n]] },
    {
      name: "equal stakes 100/100 (the seed's Test.py)",
      stakes: [
        [1, 100n],
        [2, 100n],
      ],
    },
    {
      name: "stakes 1/25 (the seed's story)",
      stakes: [
        [1, 1n],
        [2, 25n],
      ],
    },
    {
      name: "ten assorted stakes",
      stakes: Array.from({ length: 10 }, (_, i) => [i + 1, BigInt(1 + ((i * 7919) % 97))]),
    },
    {
      name: "stakes near 2^64",
      stakes: [
        [1, (1n << 63n) - 1n],
        [2, (1n << 62n) + 12345n],
        [3, 1n],
      ],
    },
  ];
  const lotteries = sets.map(({ name, stakes }) => {
    const validators = buildValidatorSet(stakes.map(([n, stake]) => [key(n).address, stake]));
    const draws = Array.from({ length: 8 }, (_, i) => {
      const seed = seedOf(`${name}/${i}`);
      return {
        seed: toHex(seed),
        lot: drawLot(seed, validators.total).toString(),
        winner: selectForger(validators, seed),
      };
    });
    return {
      name,
      validators: stakes.map(([n, stake]) => ({
        address: key(n).address,
        stake: stake.toString(),
      })),
      draws,
    };
  });
  const parent = seedOf("parent randomness");
  const slotSeeds = [0, 1, 2, 1_000_000, 2 ** 40].map((slot) => ({
    parentRandomness: toHex(parent),
    slot,
    seed: toHex(slotSeed(parent, slot)),
  }));
  const randomness = [
    { chainId: "lotchain-devnet", slot: 1, parent: parent.subarray(0, 32), forger: 1 },
    { chainId: "lotchain-devnet", slot: 7, parent: new Uint8Array(64).fill(9), forger: 2 },
    { chainId: "lotchain-test", slot: 123_456, parent: new Uint8Array(64).fill(3), forger: 3 },
  ].map(({ chainId, slot, parent: p, forger }) => ({
    chainId,
    slot,
    parentRandomness: toHex(p),
    forgerKeySeed: toHex(keySeed(forger)),
    forgerPublicKey: toHex(key(forger).publicKey),
    message: toHex(randomnessMessage(chainId, slot, p)),
    randomness: toHex(signRandomness(chainId, slot, p, key(forger).privateKey)),
  }));
  return {
    description:
      "lot lottery: slot seed = taggedHash('lotchain/slot-seed/v1', parentRandomness, u64be(slot)); " +
      "draw n = taggedHash('lotchain/lottery-draw/v1', seed, u32be(n)) read big-endian; lot = first " +
      "draw below 2^256 - (2^256 mod total), mod total; winner = first validator (sorted by address) " +
      "whose cumulative stake exceeds lot. randomness = Ed25519 signature of canonical CBOR " +
      "['lotchain/pos-randomness/v1', chainId, slot, parentRandomness].",
    slotSeeds,
    randomness,
    lotteries,
  };
}

function powVectors() {
  const works = [MAX_TARGET, MAX_TARGET >> 1n, 1n << 240n, (1n << 200n) - 1n, 1n, 0n].map((t) => ({
    target: hex(t),
    work: workOfTarget(t).toString(),
  }));
  const initialTarget = (1n << 250n) - 1n;
  const config = { type: "pow" as const, targetBlockMs: 1000, initialTarget };
  const header = (height: number, timestamp: number, target: bigint): BlockHeader => ({
    chainId: "lotchain-test",
    height,
    previousHash: new Uint8Array(32).fill(height),
    timestamp,
    forger: key(1).publicKey,
    txRoot: new Uint8Array(32).fill(7),
    seal: { type: "pow", target, nonce: 0n },
  });
  const parentTarget = 1n << 230n;
  const retarget = [
    { parentHeight: 1, solveTimeMs: 10 },
    { parentHeight: 2, solveTimeMs: 1 },
    { parentHeight: 5, solveTimeMs: 1000 },
    { parentHeight: 5, solveTimeMs: 250 },
    { parentHeight: 5, solveTimeMs: 4000 },
    { parentHeight: 5, solveTimeMs: 9000 },
    { parentHeight: 5, solveTimeMs: 3_600_000 },
    { parentHeight: 9, solveTimeMs: 1500, parentTarget: initialTarget },
  ].map(({ parentHeight, solveTimeMs, parentTarget: pt }) => {
    const target = pt ?? parentTarget;
    const parent = header(parentHeight, GENESIS + 10_000 + solveTimeMs, target);
    const grandparent = header(parentHeight - 1, GENESIS + 10_000, target);
    return {
      targetBlockMs: config.targetBlockMs,
      initialTarget: hex(initialTarget),
      parentHeight,
      parentTarget: hex(target),
      solveTimeMs,
      nextTarget: hex(nextTarget(parent, grandparent, config)),
    };
  });
  const mined = [
    { chainIdLength: 13, target: 1n << 248n },
    { chainIdLength: 40, target: 1n << 246n },
    { chainIdLength: 64, target: (1n << 247n) + 99n },
  ].map(({ chainIdLength, target }) => {
    const h = { ...header(3, GENESIS + 5000, target), chainId: "c".repeat(chainIdLength) };
    const search = new NonceSearch(powHashInput(h), bigIntToBytes(target, 32));
    let nonce: bigint | undefined;
    while (nonce === undefined) nonce = search.next(1 << 16);
    const sealed: BlockHeader = { ...h, seal: { type: "pow", target, nonce } };
    return {
      header: {
        chainId: h.chainId,
        height: h.height,
        previousHash: toHex(h.previousHash),
        timestamp: h.timestamp,
        forger: toHex(h.forger),
        txRoot: toHex(h.txRoot),
        target: hex(target),
      },
      firstNonce: nonce.toString(),
      hashInput: toHex(powHashInput(sealed)),
      hash: toHex(hashHeader(sealed)),
    };
  });
  return {
    description:
      "PoW: work = 2^256 / (target + 1); retarget (WTEMA, N = 8): next = parentTarget * (N*T + " +
      "clamp(solveTime, 0, (N+1)*T) - T) / (N*T), within [1, initialTarget], initialTarget while " +
      "the parent's height is below 2; mined: the first nonce from 0 whose tagged header hash is " +
      "at most the target.",
    works,
    retarget,
    mined,
  };
}

const GENESIS = 1_764_000_000_000;
const dir = new URL("../vectors/", import.meta.url);
const root = fileURLToPath(dir).replace(/\/dist\/test\//, "/test/");
for (const [name, data] of [
  ["lottery.json", lotteryVectors()],
  ["pow.json", powVectors()],
] as const) {
  writeFileSync(`${root}${name}`, `${JSON.stringify(data, null, 2)}\n`);
  console.log(`wrote ${root}${name}`);
}
