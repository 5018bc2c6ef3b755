import type { HeaderReader } from "../consensus/engine.js";
import type { Block, BlockHeader } from "../core/block.js";
import { StoreCorruptError } from "../store/codec.js";
import type { ChainStore } from "../store/store.js";
import { LruCache } from "./lru.js";

/**
 * Stored blocks and headers with small caches in front of the store. Headers are asked for
 * synchronously (the engine's HeaderReader) and often for the last few blocks, so every block
 * the chain stores or reads leaves its header here.
 */
export class BlockSource implements HeaderReader {
  private readonly blocks = new LruCache<string, Block>(128);
  private readonly headers = new LruCache<string, BlockHeader>(8192);

  constructor(private readonly store: ChainStore) {}

  /** Remembers a block the chain is storing now. */
  remember(block: Block): void {
    this.blocks.set(block.hashHex, block);
    this.headers.set(block.hashHex, block.header);
  }

  /** Forgets a block the chain deleted (a pruned side block). */
  forget(hash: string): void {
    this.blocks.delete(hash);
    this.headers.delete(hash);
  }

  /** A stored block, synchronously; undefined when it is not stored. */
  block(hash: string): Block | undefined {
    const cached = this.blocks.get(hash);
    if (cached) return cached;
    const block = this.store.block(hash);
    if (block) this.remember(block);
    return block;
  }

  /** A block the store must hold (an ancestor of something stored). */
  requireBlock(hash: string): Block {
    const block = this.block(hash);
    if (!block) throw new StoreCorruptError(`block ${hash} is missing from the store`);
    return block;
  }

  /** A stored block, read asynchronously (queries: no event-loop stall on a cold read). */
  async read(hash: string): Promise<Block | undefined> {
    const cached = this.blocks.get(hash);
    if (cached) return cached;
    const block = await this.store.readBlock(hash);
    if (block) this.remember(block);
    return block;
  }

  getHeader(hashHex: string): BlockHeader | undefined {
    return this.headers.get(hashHex) ?? this.block(hashHex)?.header;
  }
}
