import { BoundedMap } from "./bounded-map.js";

/**
 * Peers refused for a while: the connection gater consults it on every dial and every inbound
 * handshake, so a banned peer can neither be dialled nor connect. Bans expire on their own.
 */
export class BanList {
  readonly #until: Map<string, number>;

  /**
   * At most `maxEntries` bans are held (peer ids cost nothing to make): past that, the oldest
   * ban is dropped; that peer, if it comes back, is judged afresh.
   */
  constructor(
    private readonly now: () => number = Date.now,
    maxEntries = 4_096,
  ) {
    this.#until = new BoundedMap(maxEntries);
  }

  /** Bans for exactly `ms` from now, replacing any earlier ban (so an admin can shorten one). */
  ban(peerId: string, ms: number): void {
    this.#until.set(peerId, this.now() + Math.max(0, ms));
  }

  /** True when the peer was banned. */
  unban(peerId: string): boolean {
    return this.#until.delete(peerId);
  }

  isBanned(peerId: string): boolean {
    return this.remainingMs(peerId) > 0;
  }

  /** Milliseconds left of the peer's ban; 0 when not banned. Expired bans are forgotten here. */
  remainingMs(peerId: string): number {
    const until = this.#until.get(peerId);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) this.#until.delete(peerId);
    return Math.max(0, left);
  }

  /** Entries held, expired ones not yet forgotten included. */
  get size(): number {
    return this.#until.size;
  }

  /** Forgets expired bans (run periodically: a banned peer may never be asked about again). */
  sweep(): void {
    const now = this.now();
    for (const [peerId, until] of this.#until) if (until <= now) this.#until.delete(peerId);
  }

  /** Current bans, for admin routes. */
  list(): { peerId: string; until: number }[] {
    this.sweep();
    return [...this.#until].map(([peerId, until]) => ({ peerId, until }));
  }
}
