import type { EpochLink, HeaderReader, ProducerDeps } from "../../src/consensus/engine.js";
import { epochContextOf } from "../../src/consensus/pos/epochs.js";
import { proveRandomness } from "../../src/consensus/pos/randomness.js";
import { NonceSearch, powHashInput } from "../../src/consensus/pow/nonce-search.js";
import { MAX_AMOUNT } from "../../src/core/amount.js";
import { type Block, type BlockHeader, sealBlock } from "../../src/core/block.js";
import { bigIntToBytes } from "../../src/core/bytes.js";
import { type Genesis, POS_DEFAULTS } from "../../src/core/genesis.js";
import { type KeyPair, privateKeySeed } from "../../src/core/keys.js";
import type { Transaction } from "../../src/core/transaction.js";
import { vrfSecretKey } from "../../src/core/vrf.js";
import { TEST_CHAIN } from "../helpers/ledger.js";

export const GENESIS_TIME = 1_764_000_000_000;

export function posGenesis(
  stakes: [KeyPair, bigint][],
  options: { timestamp?: number; slotMs?: number; chainId?: string } = {},
): Genesis {
  return {
    chainId: options.chainId ?? TEST_CHAIN,
    timestamp: options.timestamp ?? GENESIS_TIME,
    consensus: {
      type: "pos",
      slotMs: options.slotMs ?? 1000,
      finalityDepth: 10,
      epochSlots: POS_DEFAULTS.epochSlots,
      unbondingSlots: 16,
      slashMillionths: POS_DEFAULTS.slashMillionths,
      reporterMillionths: POS_DEFAULTS.reporterMillionths,
    },
    alloc: new Map(),
    validators: new Map(stakes.map(([key, stake]) => [key.address, stake])),
    exchange: [],
    blockReward: 0n,
    minFee: 1n,
    maxSupply: MAX_AMOUNT,
  };
}

export function powGenesis(
  initialTarget: bigint,
  options: { timestamp?: number; targetBlockMs?: number } = {},
): Genesis {
  return {
    chainId: TEST_CHAIN,
    timestamp: options.timestamp ?? GENESIS_TIME,
    consensus: { type: "pow", targetBlockMs: options.targetBlockMs ?? 1000, initialTarget },
    alloc: new Map(),
    validators: new Map(),
    exchange: [],
    blockReward: 0n,
    minFee: 1n,
    maxSupply: MAX_AMOUNT,
  };
}

/**
 * A PoS block on `parent` (whose epoch link is `parentLink`), valid when `key` won `slot`;
 * overrides break one rule at a time. Its randomness is the key's VRF proof for the slot and
 * the epoch nonce the parent's link gives.
 */
export function forgePosBlock(
  parent: Block,
  parentLink: EpochLink,
  key: KeyPair,
  slot: number,
  slotMs: number,
  options: {
    transactions?: Transaction[];
    timestamp?: number;
    randomness?: Uint8Array;
    genesisTime?: number;
  } = {},
): Block {
  if (parent.header.seal.type !== "pos") throw new Error("parent is not PoS");
  const epoch = epochContextOf(
    { header: parent.header, hash: parent.hash, link: parentLink },
    Math.max(slot, parent.header.seal.slot + 1),
    POS_DEFAULTS.epochSlots,
  );
  const randomness =
    options.randomness ??
    proveRandomness(
      parent.header.chainId,
      slot,
      epoch.nonce,
      vrfSecretKey(privateKeySeed(key.privateKey)),
    );
  return sealBlock(
    {
      chainId: parent.header.chainId,
      height: parent.header.height + 1,
      previousHash: parent.hash,
      timestamp: options.timestamp ?? (options.genesisTime ?? GENESIS_TIME) + slot * slotMs,
      forger: key.publicKey,
      // The engine checks headers, not states: any root will do here.
      stateRoot: new Uint8Array(32),
      seal: { type: "pos", slot, vrfProof: randomness },
    },
    options.transactions ?? [],
    key.privateKey,
  );
}

/** The first nonce from 0 whose header hash is at most the header's target. */
export function mineNonce(header: BlockHeader): bigint {
  if (header.seal.type !== "pow") throw new Error("not a PoW header");
  const search = new NonceSearch(powHashInput(header), bigIntToBytes(header.seal.target, 32));
  for (;;) {
    const nonce = search.next(1 << 16);
    if (nonce !== undefined) return nonce;
  }
}

/** A PoW block on `parent` with the given target and timestamp, mined unless `mine` is false. */
export function minePowBlock(
  parent: Block,
  key: KeyPair,
  target: bigint,
  timestamp: number,
  mine = true,
): Block {
  const header = {
    chainId: parent.header.chainId,
    height: parent.header.height + 1,
    previousHash: parent.hash,
    timestamp,
    forger: key.publicKey,
    stateRoot: new Uint8Array(32),
    seal: { type: "pow" as const, target, nonce: 0n },
  };
  const unsealed = sealBlock(header, [], key.privateKey);
  const nonce = mine ? mineNonce(unsealed.header) : 0n;
  return sealBlock({ ...header, seal: { ...header.seal, nonce } }, [], key.privateKey);
}

/** A HeaderReader over blocks. */
export function headerReader(blocks: Block[]): HeaderReader {
  const byHash = new Map(blocks.map((b) => [b.hashHex, b.header]));
  return { getHeader: (hash) => byHash.get(hash) };
}

export interface LogEntry {
  level: "info" | "warn" | "debug";
  obj: object;
  msg: string | undefined;
}

/** A logger that keeps what it is told. */
export function memoryLog(): ProducerDeps["log"] & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj, msg) => entries.push({ level: "info", obj, msg }),
    warn: (obj, msg) => entries.push({ level: "warn", obj, msg }),
    debug: (obj, msg) => entries.push({ level: "debug", obj, msg }),
  };
}

/** Resolves once `condition` holds, checking on every turn of the event loop (bounded). */
export async function until(condition: () => boolean, what: string, limitMs = 30_000) {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
