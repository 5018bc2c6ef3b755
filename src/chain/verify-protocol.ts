/**
 * Messages between the verification pool (verify-pool.ts) and its workers (verify-worker.ts).
 * A batch travels as one transferred buffer, not as an array of objects: structured cloning
 * per item would cost the event loop a good part of what the worker saves it. Each item is
 * [message length: u32 big-endian][public key: 32 bytes][signature: 64 bytes][message].
 */
export const PUBLIC_KEY_OFFSET = 4;
export const SIGNATURE_OFFSET = PUBLIC_KEY_OFFSET + 32;
export const ITEM_HEADER_BYTES = SIGNATURE_OFFSET + 64;

/** Pool to worker: `count` packed items. */
export interface VerifyRequest {
  count: number;
  buffer: ArrayBuffer;
}

/** Worker to pool: one byte per item, 1 when its signature verifies, in the request's order. */
export interface VerifyReply {
  results: Uint8Array;
}
