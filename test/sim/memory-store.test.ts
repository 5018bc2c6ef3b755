import { MemoryLevel } from "memory-level";
import { describe, expect, it } from "vitest";
import { BlockTreeModel, openChain, testGenesis } from "../chain/chain-fixtures.js";

/**
 * The simulator keeps hundreds of chains in memory-level (abstract-level's in-memory sibling of
 * classic-level): the store's synchronous reads (getSync) must work on it, and a node that stops
 * and starts again on the same instance must find its chain.
 */
describe("a chain on memory-level", () => {
  it("imports, reads synchronously, and reopens with its blocks", async () => {
    const genesis = testGenesis("pos");
    const model = new BlockTreeModel(genesis);
    const database = new MemoryLevel<Uint8Array, Uint8Array>({
      keyEncoding: "view",
      valueEncoding: "view",
    });
    const chain = await openChain("memory:sim-node", genesis, { database });
    let parent = model.genesisBlock;
    for (let i = 0; i < 5; i++) {
      parent = model.child(parent, []);
      expect((await chain.importBlock(parent)).status).toBe("head");
    }
    expect(chain.head.height).toBe(5);
    await chain.close();

    const again = await openChain("memory:sim-node", genesis, { database });
    expect(again.head.hashHex).toBe(parent.hashHex);
    expect((await again.getBlock(3))?.header.height).toBe(3);
    await again.close();
  });
});
