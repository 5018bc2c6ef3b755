import type { Block } from "../core/block.js";
import { isValidationError } from "../core/errors.js";
import { readBlocksWithin } from "../util/block-pages.js";
import { BoundedMap } from "./bounded-map.js";
import { WIRE_LIMITS } from "./protocols.js";
import { ResponseError, RespStatus } from "./req-resp.js";
import { decodeHashRequest, decodeRangeRequest, encodeBlockList } from "./wire.js";

/** What the sync server reads of the chain: stored blocks, by height and by hash. */
export interface BlockReader {
  /** Main-chain blocks from height `from`, at most `limit`. */
  getBlocks(from: number, limit: number): Promise<Block[]>;
  getBlockByHash(hash: string): Promise<Block | undefined>;
}

/** A request that does not decode: the sender's fault (INVALID_REQUEST on the wire). */
function invalidRequest(e: unknown): never {
  if (isValidationError(e)) throw new ResponseError(RespStatus.INVALID_REQUEST, e.message);
  throw e;
}

/**
 * blocks-by-range: the main chain from a height, as many whole blocks as fit in the response
 * limit. Free of the network: a request's bytes in, a response's bytes out.
 */
export async function onBlocksByRange(
  request: Uint8Array,
  chain: BlockReader,
): Promise<Uint8Array> {
  let range: { from: number; count: number };
  try {
    range = decodeRangeRequest(request, WIRE_LIMITS.maxRangeBlocks);
  } catch (e) {
    invalidRequest(e);
  }
  const blocks = await readBlocksWithin(
    (start, limit) => chain.getBlocks(start, limit),
    range.from,
    range.count,
    WIRE_LIMITS.syncResponseBytes,
  );
  return encodeBlockList(blocks, WIRE_LIMITS.syncResponseBytes);
}

/** blocks-by-hash: the stored blocks among the hashes asked for, in the order asked. */
export async function onBlocksByHash(request: Uint8Array, chain: BlockReader): Promise<Uint8Array> {
  let hashes: string[];
  try {
    hashes = decodeHashRequest(request, WIRE_LIMITS.maxHashes);
  } catch (e) {
    invalidRequest(e);
  }
  const found = await Promise.all(hashes.map((h) => chain.getBlockByHash(h)));
  return encodeBlockList(
    found.filter((b): b is Block => b !== undefined),
    WIRE_LIMITS.syncResponseBytes,
  );
}

/**
 * What serving sync may cost, per peer and in all. An honest syncing peer has at most two range
 * requests and two parent fetches in flight (see Syncer) and asks again only after an answer;
 * a peer over its concurrency or its request rate is flooding, is answered BUSY and pays. Bytes
 * are the memory a node holds for answers in flight: a peer that spent its byte budget, or a
 * node whose answers in flight are at the global cap, answers BUSY without blame (an honest
 * syncer backs off and comes back).
 */
export interface ServeLimits {
  /** requests of one peer served at once */
  perPeerConcurrent: number;
  /** requests of one peer: burst, and refill per second */
  perPeerRequestBurst: number;
  perPeerRequestsPerSecond: number;
  /** response bytes to one peer: burst, and refill per second */
  perPeerByteBurst: number;
  perPeerBytesPerSecond: number;
  /** requests served at once across all peers (each answer holds up to syncResponseBytes) */
  globalConcurrent: number;
  /** points a request past a peer's concurrency or request rate costs it */
  floodPenalty: number;
}

export const DEFAULT_SERVE_LIMITS: ServeLimits = {
  perPeerConcurrent: 4,
  perPeerRequestBurst: 64,
  perPeerRequestsPerSecond: 32,
  perPeerByteBurst: 64 * 1024 * 1024,
  perPeerBytesPerSecond: 16 * 1024 * 1024,
  // 16 answers of at most 8 MiB: 128 MiB held at worst, whatever the number of peers.
  globalConcurrent: 16,
  floodPenalty: 5,
};

/**
 * Peers whose budgets are remembered, also across reconnections (a flooder that reconnects does
 * not start from a fresh burst); the oldest are forgotten past this.
 */
const MAX_TRACKED_PEERS = 1_024;

interface PeerBudget {
  active: number;
  requests: number;
  bytes: number;
  at: number;
}

/** Per-peer and global budgets of the sync server, on an injected clock. */
export class ServeBudget {
  readonly #limits: ServeLimits;
  readonly #now: () => number;
  readonly #peers = new BoundedMap<string, PeerBudget>(MAX_TRACKED_PEERS);
  #active = 0;

  constructor(limits: Partial<ServeLimits> = {}, now: () => number = Date.now) {
    this.#limits = { ...DEFAULT_SERVE_LIMITS, ...limits };
    this.#now = now;
  }

  get active(): number {
    return this.#active;
  }

  #budget(peerId: string): PeerBudget {
    const now = this.#now();
    const l = this.#limits;
    let b = this.#peers.get(peerId);
    if (b === undefined) {
      b = { active: 0, requests: l.perPeerRequestBurst, bytes: l.perPeerByteBurst, at: now };
      this.#peers.set(peerId, b);
      return b;
    }
    const seconds = Math.max(0, now - b.at) / 1000;
    b.requests = Math.min(l.perPeerRequestBurst, b.requests + seconds * l.perPeerRequestsPerSecond);
    b.bytes = Math.min(l.perPeerByteBurst, b.bytes + seconds * l.perPeerBytesPerSecond);
    b.at = now;
    return b;
  }

  /**
   * Serves `serve` within the budgets, charging its response's bytes to the peer; throws
   * ResponseError(BUSY) otherwise, after `penalize` when the peer is flooding.
   */
  async run(
    peerId: string,
    serve: () => Promise<Uint8Array>,
    penalize: (points: number, reason: string) => void,
  ): Promise<Uint8Array> {
    const l = this.#limits;
    const b = this.#budget(peerId);
    if (b.active >= l.perPeerConcurrent || b.requests < 1) {
      penalize(l.floodPenalty, "sync requests past its budget");
      throw new ResponseError(RespStatus.BUSY, "busy: too many sync requests");
    }
    b.requests -= 1;
    if (b.bytes <= 0 || this.#active >= l.globalConcurrent)
      throw new ResponseError(RespStatus.BUSY, "busy: try again later");
    b.active++;
    this.#active++;
    try {
      const response = await serve();
      b.bytes -= response.length;
      return response;
    } finally {
      b.active--;
      this.#active--;
    }
  }
}
