import { BoundedMap } from "./bounded-map.js";

/**
 * Application-level peer scores: penalties subtract points and the score decays exponentially
 * back toward 0, so a peer that misbehaves once recovers while a peer that keeps misbehaving
 * sinks below the ban threshold. Scores are kept only for peers that were penalised.
 */
export class PeerScores {
  readonly #entries: Map<string, { value: number; at: number }>;

  /** At most `maxEntries` scores are held; past that the least recently changed is dropped. */
  constructor(
    private readonly halfLifeMs: number,
    private readonly now: () => number = Date.now,
    maxEntries = 4_096,
  ) {
    this.#entries = new BoundedMap(maxEntries);
  }

  get(peerId: string): number {
    const entry = this.#entries.get(peerId);
    if (entry === undefined) return 0;
    return this.#decayed(entry, this.now());
  }

  /** Adds `delta` (negative for a penalty) to the decayed score and returns the new score. */
  add(peerId: string, delta: number): number {
    const now = this.now();
    const entry = this.#entries.get(peerId);
    const value = (entry === undefined ? 0 : this.#decayed(entry, now)) + delta;
    this.#entries.set(peerId, { value, at: now });
    return value;
  }

  reset(peerId: string): void {
    this.#entries.delete(peerId);
  }

  /** Forgets scores that have decayed to nothing, so the map stays small. */
  sweep(): void {
    const now = this.now();
    for (const [peerId, entry] of this.#entries) {
      if (Math.abs(this.#decayed(entry, now)) < 0.01) this.#entries.delete(peerId);
    }
  }

  #decayed(entry: { value: number; at: number }, now: number): number {
    return entry.value * 0.5 ** (Math.max(0, now - entry.at) / this.halfLifeMs);
  }
}
