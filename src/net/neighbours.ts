import { HASH_BYTES } from "../core/block.js";
import { toHex } from "../core/bytes.js";
import { decodeCanonical, encodeCanonical } from "../core/encoding.js";
import { isValidationError, reject } from "../core/errors.js";
import { isPeerId } from "./addresses.js";
import { SYNC_PENALTY } from "./protocols.js";
import { ResponseError, RespStatus } from "./req-resp.js";

/**
 * The neighbours protocol (/lotchain/<chainId>/neighbours/1): a peer asked answers with the
 * peers it is connected to and the head each last announced. It is what lets one node draw the
 * whole network (the explorer's network view): who is linked to whom, and where every head is.
 * Asked on demand only (a node whose explorer nobody looks at never asks), at most every
 * REFRESH_MS; peer ids are public in the DHT already.
 *
 * Wire form, canonical CBOR: request [] ; response [[peerId, height, headHash(32)], …], at most
 * MAX_NEIGHBOURS entries. A response that does not decode costs the peer badResponse points; a
 * request that is not [] is answered INVALID_REQUEST.
 */
export const MAX_NEIGHBOURS = 64;
export const NEIGHBOURS_LIMITS = {
  requestBytes: 16,
  /** 64 entries of a peer id (≤ 64 characters), a height and a hash, with CBOR heads */
  responseBytes: 64 * 120,
  timeoutMs: 3_000,
} as const;
const MAX_PEER_ID_LENGTH = 64;

export interface Neighbour {
  peerId: string;
  height: number;
  headHash: string;
}

export const encodeNeighboursRequest = (): Uint8Array => encodeCanonical([]);

export function encodeNeighbours(neighbours: readonly Neighbour[]): Uint8Array {
  return encodeCanonical(
    neighbours
      .slice(0, MAX_NEIGHBOURS)
      .map((n) => [n.peerId, n.height, Buffer.from(n.headHash, "hex")]),
  );
}

export function decodeNeighbours(bytes: Uint8Array): Neighbour[] {
  const items = decodeCanonical(bytes, "neighbours");
  if (!Array.isArray(items) || items.length > MAX_NEIGHBOURS)
    return reject("Malformed", `neighbours: expected at most ${MAX_NEIGHBOURS} entries`);
  return items.map((item) => {
    if (!Array.isArray(item) || item.length !== 3)
      return reject("Malformed", "neighbours: an entry is [peerId, height, headHash]");
    const [peerId, height, hash] = item as unknown[];
    if (typeof peerId !== "string" || peerId.length > MAX_PEER_ID_LENGTH || !isPeerId(peerId))
      return reject("Malformed", "neighbours: not a peer id");
    if (typeof height !== "number" || !Number.isSafeInteger(height) || height < 0)
      return reject("Malformed", "neighbours: height must be an unsigned integer");
    if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES)
      return reject("Malformed", "neighbours: head hash must be 32 bytes");
    return { peerId, height, headHash: toHex(hash) };
  });
}

/** Answers a neighbours request with what `connected()` says. */
export function onNeighbours(request: Uint8Array, connected: () => Neighbour[]): Uint8Array {
  const r = (() => {
    try {
      return decodeCanonical(request, "neighbours request");
    } catch (e) {
      if (isValidationError(e)) return undefined;
      throw e;
    }
  })();
  if (!Array.isArray(r) || r.length !== 0)
    throw new ResponseError(RespStatus.INVALID_REQUEST, "a neighbours request is []");
  return encodeNeighbours(connected());
}

/** How often the reports are asked again at most. */
export const REFRESH_MS = 3_000;

export interface NeighbourDeps {
  peers(): string[];
  request(peerId: string): Promise<Uint8Array>;
  penalize(peerId: string, points: number, reason: string): void;
  now?: () => number;
}

/** The last report of each connected peer, refreshed on demand (see the protocol above). */
export class NeighbourBook {
  readonly #reports = new Map<string, Neighbour[]>();
  #refreshedAt = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | undefined;

  constructor(private readonly deps: NeighbourDeps) {}

  /** The reports of connected peers; asks them again first when the last round is old. */
  async reports(waitMs = 1_000): Promise<{ peerId: string; neighbours: Neighbour[] }[]> {
    const now = (this.deps.now ?? Date.now)();
    if (!this.#refreshing && now - this.#refreshedAt >= REFRESH_MS) {
      this.#refreshedAt = now;
      this.#refreshing = this.#refresh().finally(() => {
        this.#refreshing = undefined;
      });
    }
    if (this.#refreshing) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#refreshing,
        new Promise((resolve) => {
          timer = setTimeout(resolve, waitMs);
        }),
      ]);
      clearTimeout(timer);
    }
    const connected = new Set(this.deps.peers());
    return [...this.#reports]
      .filter(([peerId]) => connected.has(peerId))
      .map(([peerId, neighbours]) => ({ peerId, neighbours }));
  }

  forget(peerId: string): void {
    this.#reports.delete(peerId);
  }

  async #refresh(): Promise<void> {
    await Promise.allSettled(
      this.deps.peers().map(async (peerId) => {
        let bytes: Uint8Array;
        try {
          bytes = await this.deps.request(peerId);
        } catch {
          return; // an old node without the protocol, a timeout: no report, no penalty
        }
        try {
          this.#reports.set(peerId, decodeNeighbours(bytes));
        } catch (e) {
          if (!isValidationError(e)) throw e;
          this.deps.penalize(peerId, SYNC_PENALTY.badResponse, `bad neighbours: ${e.message}`);
        }
      }),
    );
  }
}
