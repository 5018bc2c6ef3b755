/**
 * POST limits count transactions, not requests: a batch of N transactions takes N from its
 * client's budget of `perSecond` a second (the --rate-limit value), so the batch route carries
 * no more than single POSTs would. The window is the current second; the map holds the clients
 * of that second only, so it cannot grow beyond one second's clients.
 */
export class TxBudget {
  readonly #perSecond: number;
  readonly #now: () => number;
  #second = -1;
  readonly #used = new Map<string, number>();

  /** `perSecond` 0: no limit. */
  constructor(perSecond: number, now: () => number = Date.now) {
    this.#perSecond = perSecond;
    this.#now = now;
  }

  /** Takes up to `wanted` from the client's budget; returns how many it got. */
  take(client: string, wanted: number): number {
    if (this.#perSecond <= 0) return wanted;
    const second = Math.floor(this.#now() / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#used.clear();
    }
    const used = this.#used.get(client) ?? 0;
    const granted = Math.max(0, Math.min(wanted, this.#perSecond - used));
    this.#used.set(client, used + granted);
    return granted;
  }
}
