import { encodeCanonical } from "../../core/encoding.js";
import { taggedHash } from "../../core/hash.js";
import {
  VRF_PROOF_BYTES,
  type VrfSecretKey,
  vrfProofToHash,
  vrfProve,
  vrfVerify,
} from "../../core/vrf.js";

/**
 * The lottery's randomness. Each PoS block carries `seal.randomness`: its forger's VRF proof
 * (ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381; 80 bytes) over (chain id, slot, epoch nonce), made
 * with the forger's Ed25519 key. The proof's 64-byte output is unique for a key and an input:
 * choosing the block's transactions, timestamp or anything else cannot change it, and unlike an
 * Ed25519 signature (whose nonce a signer may pick freely, every choice verifying) no other
 * valid proof yields another output. All a forger can do is withhold its block.
 *
 * The outputs do not seed the next slot directly: they accumulate over an epoch and make the
 * nonce of a later epoch (epochs.ts), whose validators were fixed before any of them existed.
 */
export const RANDOMNESS_BYTES = VRF_PROOF_BYTES;

const VRF_DOMAIN = "lotchain/pos-vrf/v1";

/** alpha: the exact bytes a forger's VRF proof is over. */
export function vrfInput(chainId: string, slot: number, epochNonce: Uint8Array): Uint8Array {
  return encodeCanonical([VRF_DOMAIN, chainId, slot, epochNonce]);
}

/** A block's randomness: the forger's VRF proof for its slot and its epoch's nonce. */
export function proveRandomness(
  chainId: string,
  slot: number,
  epochNonce: Uint8Array,
  key: VrfSecretKey,
): Uint8Array {
  return vrfProve(key, vrfInput(chainId, slot, epochNonce));
}

/** The 64-byte VRF output of a block's randomness when it is the forger's proof, else undefined. */
export function verifyRandomness(
  chainId: string,
  slot: number,
  epochNonce: Uint8Array,
  randomness: Uint8Array,
  forgerPublicKey: Uint8Array,
): Uint8Array | undefined {
  return vrfVerify(forgerPublicKey, vrfInput(chainId, slot, epochNonce), randomness);
}

/** The output a proof claims, unverified (for tools and tests; the chain verifies). */
export function randomnessOutput(randomness: Uint8Array): Uint8Array | undefined {
  return vrfProofToHash(randomness);
}

/**
 * The seed of a slot's lottery: the epoch nonce and the slot number. Every slot of an epoch has
 * its own draw from the same nonce, so an offline winner only empties its slot.
 */
export function slotSeed(epochNonce: Uint8Array, slot: number): Uint8Array {
  const slotBytes = new Uint8Array(8);
  new DataView(slotBytes.buffer).setBigUint64(0, BigInt(slot));
  return taggedHash("lotchain/slot-seed/v1", epochNonce, slotBytes);
}
