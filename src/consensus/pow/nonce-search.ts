import { type BlockHeader, encodeHeader } from "../../core/block.js";
import { concatBytes } from "../../core/bytes.js";
import { taggedHashPrefix } from "../../core/hash.js";
import { NonceHasher, wordsAtMost } from "./sha256-midstate.js";

/**
 * The bytes whose plain SHA-256 is a PoW header's hash: the tagged-hash prefix of the block
 * domain and the header encoding, which ends with the 8-byte nonce. Everything before the nonce
 * is fixed for a template.
 */
const BLOCK_HASH_PREFIX = taggedHashPrefix("lotchain/block/v1");

export function powHashInput(header: BlockHeader): Uint8Array {
  if (header.seal.type !== "pow") throw new Error("not a PoW header");
  return concatBytes(BLOCK_HASH_PREFIX, encodeHeader(header));
}

const UINT32 = 2 ** 32;

/** A search over nonces for one template: resumable, so a worker can run it in slices. */
export class NonceSearch {
  private readonly hasher: NonceHasher;
  private readonly target = new Uint32Array(8);
  private nonceHigh: number;
  private nonceLow: number;
  /** Nonces tried so far. */
  hashes = 0;
  /** True once every nonce from the start to 2^64 - 1 was tried. */
  exhausted = false;

  /** `input`: powHashInput of the template; `target`: 32 bytes, big-endian. */
  constructor(input: Uint8Array, target: Uint8Array, startNonce = 0n) {
    if (target.length !== 32) throw new RangeError("a target is 32 bytes");
    this.hasher = new NonceHasher(input);
    const view = new DataView(target.buffer, target.byteOffset, 32);
    for (let i = 0; i < 8; i++) this.target[i] = view.getUint32(i * 4);
    this.nonceHigh = Number(startNonce >> 32n);
    this.nonceLow = Number(startNonce & 0xffffffffn);
  }

  /** Tries up to `count` nonces; returns the first whose hash meets the target, if any. */
  next(count: number): bigint | undefined {
    const hasher = this.hasher;
    const target = this.target;
    for (let i = 0; i < count && !this.exhausted; i++) {
      const high = this.nonceHigh;
      const low = this.nonceLow;
      this.hashes++;
      if (low === UINT32 - 1) {
        this.nonceLow = 0;
        this.nonceHigh = high + 1;
        if (this.nonceHigh === UINT32) this.exhausted = true;
      } else {
        this.nonceLow = low + 1;
      }
      if (wordsAtMost(hasher.hash(high, low), target)) return (BigInt(high) << 32n) | BigInt(low);
    }
    return undefined;
  }
}
