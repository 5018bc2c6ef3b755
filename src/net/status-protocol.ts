import type { Logger } from "pino";
import { isValidationError } from "../core/errors.js";
import { NetError } from "./errors.js";
import { SYNC_PENALTY } from "./protocols.js";
import { ResponseError, RespStatus } from "./req-resp.js";
import { statusMismatch } from "./status.js";
import { type ChainStatus, decodeStatus, encodeStatus } from "./wire.js";

export interface StatusDeps {
  /** One status request to the peer (our status in, its answer's bytes out); throws NetError. */
  request(peerId: string, ours: Uint8Array): Promise<Uint8Array>;
  /** Our chain now. */
  ours(): ChainStatus;
  /** A peer of our network told its status. */
  onStatus(peerId: string, status: ChainStatus): void;
  penalize(peerId: string, points: number, reason: string): void;
  /** A peer turned out to be on another network (forget what it said). */
  onMismatch(peerId: string): void;
  /** Bans the peer (it is disconnected and not redialled). */
  ban(peerId: string, ms: number, reason: string): void;
  log: Logger;
  /** How long a peer on another network stays banned. */
  mismatchBanMs: number;
}

/** Lets the answer reach a mismatched peer before the ban closes the connection. */
const MISMATCH_BAN_DELAY_MS = 500;

/**
 * The status protocol (/lotchain/status/1): on every connection and then every few seconds,
 * each side sends its chain status (chain id, genesis hash, head, score) and gets the peer's
 * back. A peer of another network is answered GENESIS_MISMATCH, logged and banned (so it is
 * neither kept nor redialled), and its gossip is ignored until the ban takes it away; a status
 * that does not decode costs points. What a peer claims is only recorded here: sync decides what
 * to believe of it.
 */
export class StatusProtocol {
  readonly #deps: StatusDeps;
  /** peers found on another network (connected ones only: forgotten on disconnect) */
  readonly #mismatched = new Set<string>();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;

  constructor(deps: StatusDeps) {
    this.#deps = deps;
  }

  isMismatched(peerId: string): boolean {
    return this.#mismatched.has(peerId);
  }

  /** The peer disconnected or was unbanned: checked again should it come back. */
  forget(peerId: string): void {
    this.#mismatched.delete(peerId);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled(this.#inFlight.values());
  }

  /** Answers a peer's status with ours, or with GENESIS_MISMATCH / INVALID_REQUEST. */
  async serve(request: Uint8Array, from: string): Promise<Uint8Array> {
    let theirs: ChainStatus;
    try {
      theirs = decodeStatus(request);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      this.#deps.penalize(from, SYNC_PENALTY.badStatus, `bad status: ${e.message}`);
      throw new ResponseError(RespStatus.INVALID_REQUEST, e.message);
    }
    const ours = this.#deps.ours();
    const mismatch = statusMismatch(ours, theirs);
    if (mismatch !== undefined) {
      // Answer first, ban a moment later.
      this.#refuse(from, mismatch, MISMATCH_BAN_DELAY_MS);
      throw new ResponseError(RespStatus.GENESIS_MISMATCH, mismatch);
    }
    this.#deps.onStatus(from, theirs);
    return encodeStatus(ours);
  }

  /** Sends our status, records the peer's. One exchange per peer at a time. */
  exchange(peerId: string): Promise<void> {
    const running = this.#inFlight.get(peerId);
    if (running) return running;
    const exchange = this.#request(peerId).finally(() => this.#inFlight.delete(peerId));
    this.#inFlight.set(peerId, exchange);
    return exchange;
  }

  async #request(peerId: string): Promise<void> {
    if (this.#stopped || this.#mismatched.has(peerId)) return;
    const ours = this.#deps.ours();
    let response: Uint8Array;
    try {
      response = await this.#deps.request(peerId, encodeStatus(ours));
    } catch (err) {
      if (!(err instanceof NetError)) throw err;
      if (err.code === "RemoteError" && err.status === RespStatus.GENESIS_MISMATCH) {
        this.#refuse(peerId, `peer refused us: ${err.message}`, 0);
        return;
      }
      this.#deps.log.debug(
        { peerId, code: err.code, status: err.status, reason: err.message },
        "status request failed",
      );
      return;
    }
    let theirs: ChainStatus;
    try {
      theirs = decodeStatus(response);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      this.#deps.penalize(peerId, SYNC_PENALTY.badStatus, `bad status: ${e.message}`);
      return;
    }
    const mismatch = statusMismatch(ours, theirs);
    if (mismatch !== undefined) {
      this.#refuse(peerId, mismatch, 0);
      return;
    }
    if (!this.#stopped) this.#deps.onStatus(peerId, theirs);
  }

  /** A peer on another network: logged, its gossip ignored, and banned after `delayMs`. */
  #refuse(peerId: string, reason: string, delayMs: number): void {
    if (this.#mismatched.has(peerId)) return;
    this.#mismatched.add(peerId);
    this.#deps.onMismatch(peerId);
    this.#deps.log.warn(
      { peerId, reason },
      "peer is on another network; disconnecting and banning it",
    );
    const ban = () => {
      if (!this.#stopped) this.#deps.ban(peerId, this.#deps.mismatchBanMs, reason);
    };
    if (delayMs <= 0) {
      ban();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      ban();
    }, delayMs);
    timer.unref();
    this.#timers.add(timer);
  }
}
