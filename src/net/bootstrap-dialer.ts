import type { Multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "pino";
import { peerIdOf } from "./addresses.js";
import { type Backoff, backoffDelay } from "./backoff.js";

export interface BootstrapDialerDeps {
  /** dials the address and resolves with the remote peer id */
  dial(address: Multiaddr, signal: AbortSignal): Promise<string>;
  isConnected(peerId: string): boolean;
  /** ms left of a ban, 0 when not banned */
  banRemainingMs(peerId: string): number;
  logger: Logger;
}

interface Target {
  readonly address: Multiaddr;
  /** learnt on the first successful dial when the entry was host:port */
  peerId: string | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
}

/**
 * Keeps the node connected to its bootstrap peers: dials each at start and again whenever it
 * drops, with exponential backoff capped at `backoff.maxMs`, for as long as the node runs (a
 * bootstrap peer that restarts an hour later is found again). Host:port entries are dialled by
 * address, so the peer behind them may change identity.
 */
export class BootstrapDialer {
  readonly #targets: Target[];
  readonly #abort = new AbortController();

  constructor(
    addresses: Multiaddr[],
    private readonly deps: BootstrapDialerDeps,
    private readonly backoff: Backoff,
  ) {
    this.#targets = addresses.map((address) => ({
      address,
      peerId: peerIdOf(address),
      failures: 0,
      timer: undefined,
      dialing: false,
    }));
  }

  start(): void {
    for (const target of this.#targets) this.#schedule(target, 0);
  }

  stop(): void {
    this.#abort.abort();
    for (const target of this.#targets) {
      clearTimeout(target.timer);
      target.timer = undefined;
    }
  }

  /** Peer ids of bootstrap peers known so far (to protect their connections from pruning). */
  peerIds(): string[] {
    return this.#targets.flatMap((t) => (t.peerId === undefined ? [] : [t.peerId]));
  }

  onPeerDisconnect(peerId: string): void {
    for (const target of this.#targets) {
      if (target.peerId === peerId)
        this.#schedule(target, backoffDelay(target.failures + 1, this.backoff));
    }
  }

  /** Safety net, called periodically: any target neither connected nor being dialled is retried. */
  check(): void {
    for (const target of this.#targets) {
      if (target.timer !== undefined || target.dialing) continue;
      if (target.peerId !== undefined && this.deps.isConnected(target.peerId)) continue;
      this.#schedule(target, 0);
    }
  }

  #schedule(target: Target, delayMs: number): void {
    if (this.#abort.signal.aborted) return;
    clearTimeout(target.timer);
    target.timer = setTimeout(() => {
      target.timer = undefined;
      void this.#attempt(target);
    }, delayMs);
    target.timer.unref();
  }

  async #attempt(target: Target): Promise<void> {
    if (this.#abort.signal.aborted || target.dialing) return;
    if (target.peerId !== undefined) {
      if (this.deps.isConnected(target.peerId)) {
        target.failures = 0;
        return;
      }
      const banned = this.deps.banRemainingMs(target.peerId);
      if (banned > 0) {
        const retryInMs = Math.min(banned, this.backoff.maxMs);
        this.deps.logger.debug(
          { address: target.address.toString(), retryInMs },
          "bootstrap peer banned; not dialled",
        );
        this.#schedule(target, retryInMs);
        return;
      }
    }
    target.dialing = true;
    try {
      const peerId = await this.deps.dial(target.address, this.#abort.signal);
      target.peerId = peerId;
      target.failures = 0;
      this.deps.logger.info(
        { address: target.address.toString(), peerId },
        "connected to bootstrap peer",
      );
      // The connection may already be gone again (the peer refused us after the handshake).
      if (!this.deps.isConnected(peerId)) this.#schedule(target, backoffDelay(1, this.backoff));
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      target.failures += 1;
      const delayMs = backoffDelay(target.failures, this.backoff);
      const log = {
        address: target.address.toString(),
        failures: target.failures,
        retryInMs: delayMs,
      };
      // Say it once loudly, then quietly: a bootstrap peer may be down for long.
      if (target.failures === 1)
        this.deps.logger.warn({ ...log, err: (err as Error).message }, "bootstrap dial failed");
      else this.deps.logger.debug(log, "bootstrap dial failed again");
      this.#schedule(target, delayMs);
    } finally {
      target.dialing = false;
    }
  }
}
