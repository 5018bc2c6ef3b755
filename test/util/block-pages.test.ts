import { describe, expect, it } from "vitest";
import type { Block } from "../../src/core/block.js";
import { readBlocksWithin } from "../../src/util/block-pages.js";

/** A chain of `count` fake blocks of `size` encoded bytes each, counting what is read. */
function fakeChain(count: number, size: number) {
  const blocks = Array.from(
    { length: count },
    (_, height) => ({ header: { height }, encoded: new Uint8Array(size) }) as unknown as Block,
  );
  let read = 0;
  return {
    get read() {
      return read;
    },
    getBlocks: async (from: number, limit: number) => {
      const page = blocks.slice(from, from + limit);
      read += page.length;
      return page;
    },
  };
}

describe("reading main-chain blocks within a byte budget", () => {
  it("stops reading once the budget is spent, and takes at least one block", async () => {
    const chain = fakeChain(1_000, 1_000_000);
    const taken = await readBlocksWithin(chain.getBlocks, 0, 1_000, 4_500_000);
    expect(taken.map((b) => b.header.height)).toEqual([0, 1, 2, 3]);
    // Pages of a few blocks: far fewer than the 1,000 asked for are ever decoded.
    expect(chain.read).toBeLessThanOrEqual(16);
    const one = await readBlocksWithin(fakeChain(10, 9_000_000).getBlocks, 3, 5, 1_000);
    expect(one.map((b) => b.header.height)).toEqual([3]);
  });

  it("returns the whole range when it fits, and nothing past the head", async () => {
    const chain = fakeChain(50, 100);
    const all = await readBlocksWithin(chain.getBlocks, 10, 1_000, 1_000_000);
    expect(all.map((b) => b.header.height)).toEqual(Array.from({ length: 40 }, (_, i) => 10 + i));
    expect(await readBlocksWithin(chain.getBlocks, 50, 10, 1_000_000)).toEqual([]);
    const some = await readBlocksWithin(chain.getBlocks, 0, 20, 1_000_000);
    expect(some).toHaveLength(20);
  });
});
