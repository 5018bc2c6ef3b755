import type { Logger } from "pino";

/** The parts of a libp2p Connection the duplicate rule looks at. */
export interface ConnectionLike {
  direction: "inbound" | "outbound";
  status: string;
  timeline: { open: number };
}

/**
 * Two nodes that dial each other at the same moment (every devnet node has the others as
 * bootstrap peers) end up with two connections. Both ends must close the same ones without
 * talking, so the rule only uses what both ends see alike:
 * - connections in both directions: keep those dialled by the peer with the smaller id;
 * - several left, all dialled by one side: only the dialer acts, closing all but its oldest.
 * Never closes the last open connection.
 */
export function duplicatesToClose<C extends ConnectionLike>(
  connections: readonly C[],
  localPeerId: string,
  remotePeerId: string,
): C[] {
  const open = connections.filter((c) => c.status === "open");
  if (open.length < 2) return [];
  const close: C[] = [];
  let kept = open;
  if (open.some((c) => c.direction === "inbound") && open.some((c) => c.direction === "outbound")) {
    const keptDirection = localPeerId < remotePeerId ? "outbound" : "inbound";
    kept = open.filter((c) => c.direction === keptDirection);
    close.push(...open.filter((c) => c.direction !== keptDirection));
  }
  if (kept.length > 1 && kept[0]!.direction === "outbound") {
    const [, ...newer] = [...kept].sort((a, b) => a.timeline.open - b.timeline.open);
    close.push(...newer);
  }
  return close;
}

export interface DuplicateGuardDeps<C extends ConnectionLike> {
  localPeerId: string;
  connections(peerId: string): C[];
  close(connection: C): void;
  /** re-runs identify on a connection, which makes gossipsub (re)open its streams on it */
  reidentify(connection: C): Promise<unknown>;
  logger: Logger;
}

const HEAL_DELAY_MS = 200;
const HEAL_ATTEMPTS = 3;

/**
 * Closes duplicate connections as they open, and heals gossipsub after any connection of a
 * still-connected peer closes. @libp2p/gossipsub 17 keeps one stream each way per peer, on
 * whichever connection came first; when that connection closes while another stays open, the
 * peer is neither disconnected nor re-announced, and gossip to and from it silently stops.
 * Identify on a surviving connection re-announces the peer, and gossipsub reopens its streams.
 */
export class DuplicateConnectionGuard<C extends ConnectionLike> {
  readonly #healTimers = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  constructor(private readonly deps: DuplicateGuardDeps<C>) {}

  onOpen(peerId: string): void {
    if (this.#stopped) return;
    for (const connection of duplicatesToClose(
      this.deps.connections(peerId),
      this.deps.localPeerId,
      peerId,
    )) {
      this.deps.logger.debug(
        { peerId, direction: connection.direction },
        "closing duplicate connection",
      );
      this.deps.close(connection);
    }
  }

  onClose(peerId: string): void {
    if (this.#stopped || this.#healTimers.has(peerId)) return;
    this.#scheduleHeal(peerId, 1);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#healTimers.values()) clearTimeout(timer);
    this.#healTimers.clear();
  }

  // Delayed so the closed connection's streams are gone from gossipsub's maps first.
  #scheduleHeal(peerId: string, attempt: number): void {
    const timer = setTimeout(() => {
      this.#healTimers.delete(peerId);
      if (this.#stopped) return;
      const survivor = this.deps.connections(peerId).find((c) => c.status === "open");
      if (survivor === undefined) return;
      this.deps.reidentify(survivor).catch((err: unknown) => {
        this.deps.logger.debug(
          { peerId, attempt, err: (err as Error).message },
          "re-identify failed",
        );
        if (attempt < HEAL_ATTEMPTS && !this.#stopped) this.#scheduleHeal(peerId, attempt + 1);
      });
    }, HEAL_DELAY_MS * attempt);
    timer.unref();
    this.#healTimers.set(peerId, timer);
  }
}
