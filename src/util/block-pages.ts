import type { Block } from "../core/block.js";

/** Blocks read at once: a few, so an oversized range never decodes many more than it returns. */
const PAGE_BLOCKS = 8;

/**
 * Main-chain blocks from height `from`, at most `limit`, read a page at a time and no more once
 * `maxBytes` of encoded blocks are taken (the first block always is). A range of the largest
 * blocks (1.5 MiB each) then costs the budget, not `limit` times that, in memory: a blocks-by-range
 * request of a peer, or GET /v1/blocks?limit=1000 on a chain of full blocks.
 */
export async function readBlocksWithin(
  getBlocks: (from: number, limit: number) => Promise<Block[]>,
  from: number,
  limit: number,
  maxBytes: number,
): Promise<Block[]> {
  const taken: Block[] = [];
  let bytes = 0;
  while (taken.length < limit) {
    const page = await getBlocks(from + taken.length, Math.min(PAGE_BLOCKS, limit - taken.length));
    for (const block of page) {
      bytes += block.encoded.length;
      if (bytes > maxBytes && taken.length > 0) return taken;
      taken.push(block);
    }
    if (page.length === 0) break;
  }
  return taken;
}
