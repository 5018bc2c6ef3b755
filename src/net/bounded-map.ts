/**
 * A Map that holds at most `maxEntries`: setting a key moves it to the newest place, and past
 * the bound the oldest entry is dropped. Every per-peer map of the network layer is one of these
 * (or is keyed by connected peers only), so that an attacker with many peer ids, each costing
 * nothing to make, cannot grow a node's memory without limit.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly maxEntries: number) {
    super();
    if (!(maxEntries >= 1)) throw new RangeError("a BoundedMap holds at least one entry");
  }

  override set(key: K, value: V): this {
    if (super.has(key)) super.delete(key);
    super.set(key, value);
    if (super.size > this.maxEntries) super.delete(super.keys().next().value as K);
    return this;
  }
}
