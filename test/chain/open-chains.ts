import { afterEach } from "vitest";
import type { ChainOptions } from "../../src/chain/chain.js";
import type { Genesis } from "../../src/core/genesis.js";
import type { KeyPair } from "../../src/core/keys.js";
import { BlockTreeModel, openChain, tempDir } from "./chain-fixtures.js";

/**
 * Chains on LevelDB in temporary directories for the tests of one file. Call it once at the top
 * of the file: `open` gives a chain with the block-tree model of its genesis, and after each test
 * every chain opened is closed and its directory removed (what `defer` adds runs before them).
 */
export function chainsPerTest() {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async open(genesis: Genesis, options: Partial<ChainOptions> = {}, modelKeys?: KeyPair[]) {
      const model = new BlockTreeModel(genesis, modelKeys);
      const { dir, remove } = await tempDir();
      const chain = await openChain(dir, genesis, options);
      cleanups.push(remove, () => chain.close());
      return { genesis, model, dir, chain };
    },
    /** Runs `cleanup` after this test, before what was deferred or opened earlier. */
    defer(cleanup: () => Promise<unknown>) {
      cleanups.push(cleanup);
    },
  };
}
