import type { Block } from "../core/block.js";
import { toHex } from "../core/bytes.js";

export interface OrphanPoolLimits {
  maxBlocks: number;
  maxBytes: number;
}

export const DEFAULT_ORPHAN_LIMITS: OrphanPoolLimits = {
  maxBlocks: 256,
  maxBytes: 64 * 1024 * 1024,
};

/**
 * Blocks whose parent is unknown, waiting for it (by parent hash). Bounded in count and bytes:
 * the oldest arrival is evicted first. Only blocks that passed the stateless checks get here.
 */
export class OrphanPool {
  /** By block hash, in arrival order (Map order) for eviction. */
  private readonly blocks = new Map<string, Block>();
  private readonly byParent = new Map<string, Set<string>>();
  private bytes = 0;

  constructor(private readonly limits: OrphanPoolLimits = DEFAULT_ORPHAN_LIMITS) {}

  get size(): number {
    return this.blocks.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  has(hash: string): boolean {
    return this.blocks.has(hash);
  }

  add(block: Block): void {
    if (this.blocks.has(block.hashHex)) return;
    this.blocks.set(block.hashHex, block);
    this.bytes += block.encoded.length;
    const parent = toHex(block.header.previousHash);
    let siblings = this.byParent.get(parent);
    if (!siblings) {
      siblings = new Set();
      this.byParent.set(parent, siblings);
    }
    siblings.add(block.hashHex);
    while (this.blocks.size > this.limits.maxBlocks || this.bytes > this.limits.maxBytes) {
      const oldest = this.blocks.keys().next().value as string;
      this.remove(oldest);
    }
  }

  remove(hash: string): Block | undefined {
    const block = this.blocks.get(hash);
    if (!block) return undefined;
    this.blocks.delete(hash);
    this.bytes -= block.encoded.length;
    const parent = toHex(block.header.previousHash);
    const siblings = this.byParent.get(parent);
    siblings?.delete(hash);
    if (siblings?.size === 0) this.byParent.delete(parent);
    return block;
  }

  /** Whether any pooled block waits for this one. */
  hasChildren(parentHash: string): boolean {
    return this.byParent.has(parentHash);
  }

  /** Removes and returns the waiting children of a block. */
  takeChildren(parentHash: string): Block[] {
    const hashes = this.byParent.get(parentHash);
    if (!hashes) return [];
    return [...hashes].map((hash) => this.remove(hash)!);
  }

  /** Drops every waiting descendant of a block (it turned out invalid). */
  dropDescendants(hash: string): number {
    let dropped = 0;
    const pending = [hash];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      for (const child of this.takeChildren(next)) {
        dropped++;
        pending.push(child.hashHex);
      }
    }
    return dropped;
  }

  /**
   * The ancestor to fetch for a pooled block: walks up through pooled parents to the first
   * hash that is not in the pool.
   */
  missingAncestor(block: Block): string {
    let parent = toHex(block.header.previousHash);
    for (let pooled = this.blocks.get(parent); pooled; pooled = this.blocks.get(parent))
      parent = toHex(pooled.header.previousHash);
    return parent;
  }
}
