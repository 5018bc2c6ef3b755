import { parentPort } from "node:worker_threads";
import { verify } from "../core/keys.js";
import {
  ITEM_HEADER_BYTES,
  PUBLIC_KEY_OFFSET,
  SIGNATURE_OFFSET,
  type VerifyReply,
  type VerifyRequest,
} from "./verify-protocol.js";

/**
 * A verification worker: verifies each packed item of a batch with core `verify` (so a worker
 * answers exactly what the main thread would, small-order keys included) and answers with one
 * byte per item. Its KeyObject cache is its own.
 */
const port = parentPort;
if (!port) throw new Error("verify-worker must run in a worker thread");

port.on("message", ({ count, buffer }: VerifyRequest) => {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const results = new Uint8Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(at);
    const publicKey = bytes.subarray(at + PUBLIC_KEY_OFFSET, at + SIGNATURE_OFFSET);
    const signature = bytes.subarray(at + SIGNATURE_OFFSET, at + ITEM_HEADER_BYTES);
    const message = bytes.subarray(at + ITEM_HEADER_BYTES, at + ITEM_HEADER_BYTES + length);
    results[i] = verify(message, signature, publicKey) ? 1 : 0;
    at += ITEM_HEADER_BYTES + length;
  }
  const reply: VerifyReply = { results };
  port.postMessage(reply, [results.buffer]);
});
