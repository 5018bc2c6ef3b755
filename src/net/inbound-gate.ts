/**
 * Handshakes in progress, per remote host. libp2p lets 10 inbound connections (64 here) be in
 * their upgrade (noise, then muxer negotiation) at once across all hosts, each for up to 10 s:
 * a host that opens sockets and says nothing used to hold every one of those slots, and no
 * other peer could connect at all (no peer id is known before the handshake, so a ban cannot
 * help). Here one host may have only `maxPerHost` handshakes going; past that its new sockets
 * are closed at once, and other hosts' handshakes still find free slots.
 *
 * A handshake counts from admit() until done() (the connection opened or closed); one that
 * neither opened nor closed within `staleMs` (libp2p aborts upgrades after its timeout) is
 * forgotten, so a lost event cannot shrink a host's share for good.
 */
export class InboundGate {
  /** host → (connection key → admitted at) */
  readonly #pending = new Map<string, Map<string, number>>();
  /** connection key → host */
  readonly #hostOf = new Map<string, string>();

  constructor(
    readonly maxPerHost: number,
    private readonly staleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `host` may start another handshake now; then `key` is held until done(key). */
  admit(host: string, key: string): boolean {
    const held = this.#pending.get(host) ?? new Map<string, number>();
    const now = this.now();
    for (const [k, since] of held) if (now - since > this.staleMs) this.#forget(k);
    if (held.size >= this.maxPerHost) return false;
    held.set(key, now);
    this.#pending.set(host, held);
    this.#hostOf.set(key, host);
    return true;
  }

  /** The handshake of `key` ended (upgraded or closed); unknown keys are ignored. */
  done(key: string): void {
    this.#forget(key);
  }

  /** Handshakes `host` has going. */
  pendingOf(host: string): number {
    return this.#pending.get(host)?.size ?? 0;
  }

  #forget(key: string): void {
    const host = this.#hostOf.get(key);
    if (host === undefined) return;
    this.#hostOf.delete(key);
    const held = this.#pending.get(host);
    held?.delete(key);
    if (held?.size === 0) this.#pending.delete(host);
  }
}
