/**
 * SHA-256 of one fixed message whose last 8 bytes are a nonce, for many nonces. The blocks before
 * the nonce are compressed once (the midstate); each nonce then costs one or two compressions of
 * the tail. Written out in JavaScript because node:crypto's per-call overhead (a native call and
 * a Buffer per digest) costs several times more than the compression itself at header sizes; the
 * result is checked against node:crypto in test/consensus/sha256-midstate.test.ts.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL_STATE = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const BLOCK_BYTES = 64;
export const NONCE_BYTES = 8;

/** The SHA-256 compression function: folds the 64-byte block at `offset` into `state`. */
function compress(state: Int32Array, block: DataView, offset: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++) w[i] = block.getInt32(offset + i * 4);
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15]!;
    const w2 = w[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choice = (e & f) ^ (~e & g);
    const t1 = (h + s1 + choice + K[i]! + w[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + s0 + majority) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

export class NonceHasher {
  /** State after the 64-byte blocks that come entirely before the nonce. */
  private readonly midstate = new Int32Array(INITIAL_STATE);
  /** The rest of the message with SHA-256 padding: one or two blocks, the nonce inside. */
  private readonly tail: Uint8Array;
  private readonly tailView: DataView;
  private readonly tailBlocks: number;
  private readonly nonceOffset: number;
  /** The digest of the last `hash` call, as 8 big-endian words (reused between calls). */
  readonly state = new Int32Array(8);
  private readonly schedule = new Int32Array(64);

  /** `message`: the whole input; its last 8 bytes are the nonce position (their value is ignored). */
  constructor(message: Uint8Array) {
    if (message.length < NONCE_BYTES) throw new RangeError("the message is shorter than a nonce");
    const nonceStart = message.length - NONCE_BYTES;
    const midLength = nonceStart - (nonceStart % BLOCK_BYTES);
    const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
    for (let offset = 0; offset < midLength; offset += BLOCK_BYTES)
      compress(this.midstate, view, offset, this.schedule);
    const rest = message.length - midLength;
    // Padding: a 0x80 byte, zeros, then the message length in bits as a 64-bit big-endian number.
    this.tailBlocks = Math.ceil((rest + 1 + 8) / BLOCK_BYTES);
    this.tail = new Uint8Array(this.tailBlocks * BLOCK_BYTES);
    this.tail.set(message.subarray(midLength));
    this.tail[rest] = 0x80;
    this.tailView = new DataView(this.tail.buffer);
    const bits = message.length * 8;
    this.tailView.setUint32(this.tail.length - 8, Math.floor(bits / 2 ** 32));
    this.tailView.setUint32(this.tail.length - 4, bits >>> 0);
    this.nonceOffset = nonceStart - midLength;
  }

  /** Hashes the message with the nonce high * 2^32 + low; the digest is left in `state`. */
  hash(nonceHigh: number, nonceLow: number): Int32Array {
    this.tailView.setUint32(this.nonceOffset, nonceHigh);
    this.tailView.setUint32(this.nonceOffset + 4, nonceLow);
    this.state.set(this.midstate);
    for (let i = 0; i < this.tailBlocks; i++)
      compress(this.state, this.tailView, i * BLOCK_BYTES, this.schedule);
    return this.state;
  }

  /** The digest bytes of one nonce (for tests and for checking a found nonce). */
  digest(nonce: bigint): Uint8Array {
    const state = this.hash(Number(nonce >> 32n), Number(nonce & 0xffffffffn));
    const out = new Uint8Array(32);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) view.setInt32(i * 4, state[i]!);
    return out;
  }
}

/** Whether digest words (big-endian, as signed int32) are at most the target words (unsigned). */
export function wordsAtMost(digest: Int32Array, target: Uint32Array): boolean {
  for (let i = 0; i < 8; i++) {
    const d = digest[i]! >>> 0;
    const t = target[i]!;
    if (d !== t) return d < t;
  }
  return true;
}
