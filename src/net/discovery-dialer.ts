import type { Logger } from "pino";
import { type Backoff, backoffDelay } from "./backoff.js";
import { BoundedMap } from "./bounded-map.js";

export interface DiscoveryDialerDeps {
  connectionCount(): number;
  isConnected(peerId: string): boolean;
  isBanned(peerId: string): boolean;
  /** dials a peer by id, with the addresses the peer store knows */
  dial(peerId: string, signal: AbortSignal): Promise<void>;
  /** peers with known addresses (from the DHT, identify, mDNS) */
  knownPeers(): Promise<string[]>;
  logger: Logger;
}

const MAX_PARALLEL_DIALS = 4;
/** Failed peers remembered for backoff (the DHT can name any number of them). */
const MAX_REMEMBERED_FAILURES = 1_024;

/**
 * libp2p 3 does not dial the peers that discovery finds (there is no auto-dialer any more), so
 * this does: each discovered or known peer is dialled while the node has fewer than
 * `targetPeers` connections, with per-peer backoff after failures. This is what makes a node
 * bootstrapped to A alone also connect to B and C once the DHT tells it about them.
 */
export class DiscoveryDialer {
  readonly #failures = new BoundedMap<string, { count: number; retryAt: number }>(
    MAX_REMEMBERED_FAILURES,
  );
  readonly #dialing = new Set<string>();
  readonly #abort = new AbortController();

  constructor(
    private readonly deps: DiscoveryDialerDeps,
    private readonly targetPeers: number,
    private readonly backoff: Backoff,
  ) {}

  stop(): void {
    this.#abort.abort();
  }

  onDiscovered(peerId: string): void {
    if (this.#wants(peerId)) void this.#dial(peerId);
  }

  /** Called periodically: dials known peers until the target is met. */
  async topUp(): Promise<void> {
    if (!this.#hasRoom()) return;
    const candidates = (await this.deps.knownPeers()).filter((peerId) => this.#wants(peerId));
    for (const peerId of candidates) {
      if (!this.#hasRoom()) break;
      void this.#dial(peerId);
    }
  }

  #hasRoom(): boolean {
    return (
      !this.#abort.signal.aborted &&
      this.#dialing.size < MAX_PARALLEL_DIALS &&
      this.deps.connectionCount() + this.#dialing.size < this.targetPeers
    );
  }

  #wants(peerId: string): boolean {
    if (!this.#hasRoom() || this.#dialing.has(peerId)) return false;
    if (this.deps.isConnected(peerId) || this.deps.isBanned(peerId)) return false;
    const failure = this.#failures.get(peerId);
    return failure === undefined || failure.retryAt <= Date.now();
  }

  async #dial(peerId: string): Promise<void> {
    this.#dialing.add(peerId);
    try {
      await this.deps.dial(peerId, this.#abort.signal);
      this.#failures.delete(peerId);
      this.deps.logger.debug({ peerId }, "connected to discovered peer");
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      const count = (this.#failures.get(peerId)?.count ?? 0) + 1;
      this.#failures.set(peerId, {
        count,
        retryAt: Date.now() + backoffDelay(count, this.backoff),
      });
      this.deps.logger.debug(
        { peerId, failures: count, err: (err as Error).message },
        "dial to discovered peer failed",
      );
    } finally {
      this.#dialing.delete(peerId);
    }
  }
}
