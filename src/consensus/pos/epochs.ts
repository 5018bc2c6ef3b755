import type { Block } from "../../core/block.js";
import { equalBytes } from "../../core/bytes.js";
import { reject } from "../../core/errors.js";
import { taggedHash } from "../../core/hash.js";
import type { EpochContext, EpochLink, LinkedHeader } from "../engine.js";

/**
 * Epochs: why neither stakes nor randomness can be steered.
 *
 * Slots are grouped in epochs of `epochSlots` (a genesis parameter). On a branch, let P be the last block before epoch
 * e. Every slot s of epoch e draws its winner with
 *   - the validators of the snapshot of e: the state after the last block before P's epoch
 *     (the genesis state while there is none), and
 *   - the seed H(nonce_e, s), nonce_e = H(nonce of P's epoch, the VRF outputs of the blocks of
 *     P's epoch accumulated through P, e); nonce_0 is the genesis randomness.
 * On a chain with blocks in every epoch, P's epoch is e - 1 and the snapshot is the end of
 * epoch e - 2. Either way the snapshot is fixed before any block of P's epoch exists, and every
 * one of those blocks feeds nonce_e: whoever chooses stakes does not know the seeds they will be
 * drawn with unless it forged every block of a whole epoch after, and a block's contents change
 * nothing in its own epoch or the next. A VRF output is unique per key and input, so a forger's
 * only choice is to publish its block or not: the last forgers of an epoch can withhold, one bit
 * each, the standard bound of such beacons.
 *
 * (Taking P itself as the snapshot when epoch e - 1 is empty would let P's forger, who knows
 * every output that nonce_e takes, pick the stakes in P for seeds it can compute: on a chain
 * whose validators forge only when they have transactions, empty epochs are common.)
 *
 * Everything derives from a block's parent (EpochLink), so a side branch needs no replay:
 *   - same epoch as the parent: nonce, snapshot and lastBeforeEpoch carry over, and the block's
 *     VRF output folds into the parent's accumulator;
 *   - a later epoch e: the parent is P; nonce_e as above; the snapshot is P's lastBeforeEpoch;
 *     lastBeforeEpoch is P; the accumulator starts empty. Empty epochs in between cost nothing:
 *     the nonce names e itself.
 *
 * A consequence: a STAKE or UNSTAKE in epoch x counts from the epoch after the next epoch with a
 * block, x + 2 on a chain with blocks in every epoch.
 */

/** The accumulator of an epoch without blocks yet. */
export const EMPTY_ACCUMULATOR = new Uint8Array(32);

/** The epoch of a slot, with epochs of `epochSlots` slots (genesis `consensus.epochSlots`). */
export function epochOf(slot: number, epochSlots: number): number {
  return Math.floor(slot / epochSlots);
}

export function epochStartSlot(epoch: number, epochSlots: number): number {
  return epoch * epochSlots;
}

/** The accumulator after one more block's VRF output. */
export function accumulate(accumulator: Uint8Array, output: Uint8Array): Uint8Array {
  return taggedHash("lotchain/vrf-accumulator/v1", accumulator, output);
}

/**
 * The nonce of epoch `epoch` on a branch whose last block before it closed its own epoch with
 * `nonce` and `accumulator`.
 */
export function nextEpochNonce(
  nonce: Uint8Array,
  accumulator: Uint8Array,
  epoch: number,
): Uint8Array {
  const epochBytes = new Uint8Array(8);
  new DataView(epochBytes.buffer).setBigUint64(0, BigInt(epoch));
  return taggedHash("lotchain/epoch-nonce/v1", nonce, accumulator, epochBytes);
}

/** The genesis block's link: its randomness is the nonce of epoch 0; it is its own snapshot. */
export function genesisEpochLink(genesis: Block): EpochLink {
  if (genesis.header.seal.type !== "pos") throw new Error("not a PoS genesis block");
  return {
    nonce: genesis.header.seal.vrfProof,
    accumulator: EMPTY_ACCUMULATOR,
    snapshot: genesis.hash,
    lastBeforeEpoch: genesis.hash,
  };
}

/** The epoch of a child of `parent` in `slot`; SlotNotAfterParent unless the slot is later. */
export function epochContextOf(
  parent: LinkedHeader,
  slot: number,
  epochSlots: number,
): EpochContext {
  const link = parent.link;
  if (!link || parent.header.seal.type !== "pos")
    throw new Error("a PoS parent needs its epoch link");
  const epoch = epochOf(slot, epochSlots);
  const parentEpoch = epochOf(parent.header.seal.slot, epochSlots);
  if (slot <= parent.header.seal.slot)
    reject(
      "SlotNotAfterParent",
      `slot ${slot} is not after the parent's ${parent.header.seal.slot}`,
    );
  if (epoch === parentEpoch)
    return {
      epoch,
      nonce: link.nonce,
      snapshot: link.snapshot,
      lastBeforeEpoch: link.lastBeforeEpoch,
      accumulator: link.accumulator,
      startsEpoch: false,
    };
  return {
    epoch,
    nonce: nextEpochNonce(link.nonce, link.accumulator, epoch),
    snapshot: link.lastBeforeEpoch,
    lastBeforeEpoch: parent.hash,
    accumulator: EMPTY_ACCUMULATOR,
    startsEpoch: true,
  };
}

/** A verified block's link: its epoch's, with its VRF output folded in. */
export function childEpochLink(context: EpochContext, output: Uint8Array): EpochLink {
  return {
    nonce: context.nonce,
    accumulator: accumulate(context.accumulator, output),
    snapshot: context.snapshot,
    lastBeforeEpoch: context.lastBeforeEpoch,
  };
}

export function sameEpochLink(a: EpochLink, b: EpochLink): boolean {
  return (
    equalBytes(a.nonce, b.nonce) &&
    equalBytes(a.accumulator, b.accumulator) &&
    equalBytes(a.snapshot, b.snapshot) &&
    equalBytes(a.lastBeforeEpoch, b.lastBeforeEpoch)
  );
}
