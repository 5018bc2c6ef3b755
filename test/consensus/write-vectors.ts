/**
 * Writes test/vectors/lottery.json and test/vectors/pow.json from the current code. Run it only
 * when a consensus rule changes on purpose (every node must change with it):
 *   npx tsc -p tsconfig.json && node dist/test/consensus/write-vectors.js
 * vectors.test.ts checks the files, so any unintended change to the rules fails the tests; and
 * test/vectors/check_vectors.py recomputes them independently (change it with the rule):
 *   python3 test/vectors/check_vectors.py
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { EpochLink } from "../../src/consensus/engine.js";
import { PosEngine } from "../../src/consensus/pos/engine.js";
import { accumulate, nextEpochNonce } from "../../src/consensus/pos/epochs.js";
import { drawLot, selectForger, slotWinner } from "../../src/consensus/pos/lottery.js";
import {
  proveRandomness,
  randomnessOutput,
  slotSeed,
  vrfInput,
} from "../../src/consensus/pos/randomness.js";
import { NonceSearch, powHashInput } from "../../src/consensus/pow/nonce-search.js";
import { nextTarget } from "../../src/consensus/pow/retarget.js";
import { MAX_TARGET, workOfTarget } from "../../src/consensus/pow/target.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { type BlockHeader, hashHeader } from "../../src/core/block.js";
import { bigIntToBytes, toHex, utf8 } from "../../src/core/bytes.js";
import { genesisBlock } from "../../src/core/genesis.js";
import { taggedHash } from "../../src/core/hash.js";
import { keyPairFromSeed } from "../../src/core/keys.js";
import { vrfSecretKey } from "../../src/core/vrf.js";
import { forgePosBlock, posGenesis } from "./helpers.js";

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
  const nonce = seedOf("epoch nonce");
  const slotSeeds = [0, 1, 2, 1_000_000, 2 ** 40].map((slot) => ({
    epochNonce: toHex(nonce),
    slot,
    seed: toHex(slotSeed(nonce, slot)),
  }));
  const randomness = [
    { chainId: "lotchain-devnet", slot: 1, nonce, forger: 1 },
    { chainId: "lotchain-devnet", slot: 7, nonce: new Uint8Array(32).fill(9), forger: 2 },
    { chainId: "lotchain-test", slot: 123_456, nonce: new Uint8Array(32).fill(3), forger: 3 },
  ].map(({ chainId, slot, nonce: n, forger }) => {
    const proof = proveRandomness(chainId, slot, n, vrfSecretKey(keySeed(forger)));
    return {
      chainId,
      slot,
      epochNonce: toHex(n),
      forgerKeySeed: toHex(keySeed(forger)),
      forgerPublicKey: toHex(key(forger).publicKey),
      vrfInput: toHex(vrfInput(chainId, slot, n)),
      randomness: toHex(proof),
      output: toHex(randomnessOutput(proof)!),
    };
  });
  const accumulator = seedOf("accumulator");
  const output = new Uint8Array(64).fill(7);
  const epochs = {
    accumulate: [
      { accumulator: toHex(new Uint8Array(32)), output: toHex(output) },
      { accumulator: toHex(accumulator), output: toHex(output) },
    ].map((v) => ({ ...v, result: toHex(accumulate(parseHexStrict(v.accumulator), output)) })),
    nextNonce: [1, 2, 1_000_000].map((epoch) => ({
      nonce: toHex(nonce),
      accumulator: toHex(accumulator),
      epoch,
      result: toHex(nextEpochNonce(nonce, accumulator, epoch)),
    })),
    chain: epochChain(),
  };
  return {
    description:
      "lot lottery: slot seed = taggedHash('lotchain/slot-seed/v1', epochNonce, u64be(slot)); " +
      "draw n = taggedHash('lotchain/lottery-draw/v1', seed, u32be(n)) read big-endian; lot = first " +
      "draw below 2^256 - (2^256 mod total), mod total; winner = first validator (sorted by address) " +
      "whose cumulative stake exceeds lot. randomness = the forger's ECVRF-EDWARDS25519-SHA512-TAI " +
      "proof (RFC 9381; 80 bytes) over vrfInput = canonical CBOR ['lotchain/pos-vrf/v1', chainId, " +
      "slot, epochNonce]; output = its 64-byte proof-to-hash. accumulate(acc, output) = " +
      "taggedHash('lotchain/vrf-accumulator/v1', acc, output), the empty accumulator 32 zero bytes; " +
      "nextNonce = taggedHash('lotchain/epoch-nonce/v1', nonce, acc, u64be(epoch)); epochs of 8 " +
      "slots. chain: blocks forged by each slot's winner on the previous one, with the epoch link " +
      "each block carries (nonce and snapshot of its epoch, accumulator, last block before it).",
    slotSeeds,
    randomness,
    epochs,
    lotteries,
  };
}

function parseHexStrict(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/**
 * A short PoS chain across epochs (with empty ones): the block at each listed slot is forged by
 * that slot's winner on the previous block, and its epoch link recorded.
 */
function epochChain() {
  const seeds: [number, bigint][] = [
    [1, 3n],
    [2, 5n],
  ];
  const stakes = seeds.map(([n, stake]) => [key(n), stake] as [ReturnType<typeof key>, bigint]);
  const genesis = posGenesis(stakes, { chainId: "lotchain-vectors", slotMs: 1000 });
  const engine = new PosEngine(genesis);
  const validators = buildValidatorSet(genesis.validators);
  const keys = new Map(stakes.map(([k]) => [k.address, k]));
  let parent = genesisBlock(genesis);
  let link: EpochLink = engine.genesisLink(parent);
  const blocks = [];
  for (const slot of [1, 2, 7, 8, 12, 31, 33, 34, 70]) {
    const epoch = engine.epochContext({ header: parent.header, hash: parent.hash, link }, slot);
    const forger = keys.get(slotWinner(validators, epoch.nonce, slot))!;
    const block = forgePosBlock(parent, link, forger, slot, 1000);
    link = engine.verifyHeader(block.header, parent.header, {
      headers: { getHeader: () => undefined },
      now: Number.MAX_SAFE_INTEGER,
      lottery: { epoch, validators },
    });
    blocks.push({
      slot,
      forgerPublicKey: toHex(forger.publicKey),
      hash: block.hashHex,
      vrfProof: toHex((block.header.seal as { vrfProof: Uint8Array }).vrfProof),
      nonce: toHex(link.nonce),
      accumulator: toHex(link.accumulator),
      snapshot: toHex(link.snapshot),
      lastBeforeEpoch: toHex(link.lastBeforeEpoch),
    });
    parent = block;
  }
  return {
    chainId: genesis.chainId,
    genesisTimestamp: genesis.timestamp,
    slotMs: 1000,
    validators: seeds.map(([n, stake]) => ({
      keySeed: toHex(keySeed(n)),
      stake: stake.toString(),
    })),
    genesisHash: genesisBlock(genesis).hashHex,
    blocks,
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
    evidenceRoot: new Uint8Array(32).fill(8),
    stateRoot: new Uint8Array(32).fill(9),
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
        evidenceRoot: toHex(h.evidenceRoot),
        stateRoot: toHex(h.stateRoot),
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
