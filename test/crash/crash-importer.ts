/**
 * The crash test's child process (run compiled: node dist/test/crash/crash-importer.js DATA_DIR
 * GENESIS_FILE PLAN_FILE). Opens the chain, prints "ready <height>", then imports the plan's
 * blocks in order — skipping those the store already holds — printing "+" after each, until it
 * is killed. Rejections are
 * part of the plan (invalid branches); any other error ends the process with status 1.
 */
import { Chain } from "../../src/chain/chain.js";
import { createEngine } from "../../src/consensus/index.js";
import { decodeBlock } from "../../src/core/block.js";
import { isValidationError } from "../../src/core/errors.js";
import { readGenesis, readPlan } from "./crash-plan.js";

async function main(): Promise<void> {
  const [dataDir, genesisFile, planFile] = process.argv.slice(2);
  if (!dataDir || !genesisFile || !planFile)
    throw new Error("usage: crash-importer DATA_DIR GENESIS PLAN");
  const genesis = await readGenesis(genesisFile);
  const plan = await readPlan(planFile);
  const chain = await Chain.open({ dataDir, genesis, engine: createEngine(genesis) });
  process.stdout.write(`ready ${chain.head.height}\n`);
  let imported = 0;
  for (const { hash, bytes } of plan) {
    if (chain.hasBlock(hash)) continue;
    try {
      await chain.importBlock(decodeBlock(bytes));
      imported++;
    } catch (e) {
      if (!isValidationError(e)) throw e;
    }
    // One mark per block, so that the test can kill after a random number of blocks.
    process.stdout.write("+\n");
  }
  process.stdout.write(`done ${chain.head.height} ${imported}\n`);
  await chain.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`crash-importer: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
