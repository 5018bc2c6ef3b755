/**
 * What gossip brings a node, per topic: every copy of every message (gossipsub computes an id
 * for each copy it receives, before it drops the ones it has seen) against the first copies
 * (those it validates), in messages, items and bytes. The difference is what redundant copies
 * cost: each one is received, decrypted and hashed before it is dropped. Items: transactions in
 * a transaction batch (read from the batch's CBOR array head), else one a message.
 */
export interface TopicCopies {
  /** messages received, every copy */
  messages: number;
  /** first copies: validated */
  firstCopies: number;
  /** items in every copy received */
  items: number;
  /** items in first copies */
  firstItems: number;
  /** bytes of every copy received */
  bytes: number;
}

export class GossipStats {
  readonly #topics = new Map<string, TopicCopies & { published: number }>();
  readonly #itemsOf: (topic: string, data: Uint8Array) => number;

  constructor(itemsOf: (topic: string, data: Uint8Array) => number = () => 1) {
    this.#itemsOf = itemsOf;
  }

  #of(topic: string): TopicCopies & { published: number } {
    let counts = this.#topics.get(topic);
    if (!counts) {
      counts = { messages: 0, firstCopies: 0, items: 0, firstItems: 0, bytes: 0, published: 0 };
      this.#topics.set(topic, counts);
    }
    return counts;
  }

  /** gossipsub computed a message id: a copy received, or one of our own being published */
  onMessageId(topic: string, data: Uint8Array): void {
    const c = this.#of(topic);
    c.messages++;
    c.items += this.#itemsOf(topic, data);
    c.bytes += data.length;
  }

  /** we publish a message (gossipsub computes its id too: not a copy received) */
  onPublish(topic: string, data: Uint8Array): void {
    const c = this.#of(topic);
    c.published++;
    c.messages--;
    c.items -= this.#itemsOf(topic, data);
    c.bytes -= data.length;
  }

  /** a first copy reached its validator */
  onFirstCopy(topic: string, data: Uint8Array): void {
    const c = this.#of(topic);
    c.firstCopies++;
    c.firstItems += this.#itemsOf(topic, data);
  }

  snapshot(): Map<string, TopicCopies> {
    const out = new Map<string, TopicCopies>();
    for (const [topic, { published: _, ...counts }] of this.#topics) out.set(topic, counts);
    return out;
  }
}

/** The item count a CBOR array head announces (a transaction batch); 1 for anything else. */
export function cborArrayLength(data: Uint8Array): number {
  const head = data[0];
  if (head === undefined || head >> 5 !== 4) return 1;
  const info = head & 0x1f;
  if (info < 24) return info;
  if (info === 24) return data[1] ?? 1;
  if (info === 25) return ((data[1] ?? 0) << 8) | (data[2] ?? 0);
  return 1;
}
