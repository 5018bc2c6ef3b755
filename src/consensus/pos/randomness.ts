import type { KeyObject } from "node:crypto";
import { encodeCanonical } from "../../core/encoding.js";
import { taggedHash } from "../../core/hash.js";
import { sign, verify } from "../../core/keys.js";

/**
 * The lottery's randomness. Each PoS block carries `seal.randomness`: its forger's Ed25519
 * signature over (chain id, slot, parent randomness). Ed25519 signatures are deterministic, so a
 * forger has exactly one value to offer for a slot and a parent — choosing the block's
 * transactions, timestamp or anything else cannot change it — and the next slots' seeds follow
 * from it alone. (The Python seed drew from the last block hash, which the forger could grind by
 * reordering transactions.) All a forger can do is withhold its block, which forfeits the slot.
 */
const RANDOMNESS_DOMAIN = "lotchain/pos-randomness/v1";

/** The exact bytes a forger signs to produce a block's randomness. */
export function randomnessMessage(
  chainId: string,
  slot: number,
  parentRandomness: Uint8Array,
): Uint8Array {
  return encodeCanonical([RANDOMNESS_DOMAIN, chainId, slot, parentRandomness]);
}

export function signRandomness(
  chainId: string,
  slot: number,
  parentRandomness: Uint8Array,
  privateKey: KeyObject,
): Uint8Array {
  return sign(randomnessMessage(chainId, slot, parentRandomness), privateKey);
}

export function verifyRandomness(
  chainId: string,
  slot: number,
  parentRandomness: Uint8Array,
  randomness: Uint8Array,
  forgerPublicKey: Uint8Array,
): boolean {
  return verify(randomnessMessage(chainId, slot, parentRandomness), randomness, forgerPublicKey);
}

/**
 * The seed of a slot's lottery: the parent's randomness and the slot number. A missed slot gives
 * the next slot a fresh draw on the same parent, so an offline winner only empties its slot.
 */
export function slotSeed(parentRandomness: Uint8Array, slot: number): Uint8Array {
  const slotBytes = new Uint8Array(8);
  new DataView(slotBytes.buffer).setBigUint64(0, BigInt(slot));
  return taggedHash("lotchain/slot-seed/v1", parentRandomness, slotBytes);
}
