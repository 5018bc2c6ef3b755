import { expect, it } from "vitest";
import { epochOf, epochStartSlot } from "../../src/consensus/index.js";
import type { Block } from "../../src/core/block.js";
import { POS_DEFAULTS } from "../../src/core/genesis.js";
import { checkStoreByReplay } from "../crash/replay.js";
import { GENESIS_TIME, KEYS, testGenesis, tx } from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

/** The epoch length of the test genesis files (the default). */
const EPOCH_SLOTS = POS_DEFAULTS.epochSlots;

/**
 * The review's stake-grinding attack (/tmp/rev/stake-grinding.test.ts): a validator with under
 * 22% of the stake won 25 slots in a row by putting, in each block it forged, the STAKE or
 * UNSTAKE that made it win the next slot — the lottery of a child of block N used the stakes
 * after N and a seed N's forger knew before choosing N's transactions. Here the same attacker
 * tries it against epochs: in every block it forges it tries stakes from 1 to 40 (against 100)
 * and looks at who wins each later slot it can compute. None of its choices changes a single
 * winner, so it wins about its share of the slots. Its candidate blocks differ in nothing but
 * that STAKE or UNSTAKE: changing a block's transactions does not change who wins later slots.
 */
const { forger, alice } = KEYS;
const chains = chainsPerTest();

/** 28 of 128 lots: the review's attacker held 21.9% of the stake. */
const GENESIS_STAKE = 28n;
const STAKES = [1n, 5n, 10n, 20n, 28n, 40n];
const ROUNDS = 25;

it("stake grinding fails: the stake a forger puts in its block changes no later winner it can compute", async () => {
  const genesis = testGenesis("pos", {
    validators: { [alice.address]: GENESIS_STAKE.toString() },
    finalityDepth: 64,
  });
  const { model, dir, chain } = await chains.open(
    genesis,
    { now: () => GENESIS_TIME + 10_000_000 },
    [forger, alice],
  );

  let head: Block = model.genesisBlock;
  let stake = GENESIS_STAKE;
  let nonce = 0;
  let rounds = 0;
  let slots = 0;
  let streak = 0;
  let longestStreak = 0;
  for (let slot = 1; rounds < ROUNDS && slot < 5000; slot++) {
    slots++;
    if (model.winner(head, slot) !== alice.address) {
      streak = 0;
      head = model.child(head, [], { minSlot: slot });
      expect((await chain.importBlock(head)).status).toBe("head");
      continue;
    }
    rounds++;
    longestStreak = Math.max(longestStreak, ++streak);
    // The attacker's candidates: the same slot, its stake moved to each amount it could choose.
    const candidates = STAKES.map((y) => {
      const move =
        y === stake
          ? []
          : [
              tx(alice, nonce, {
                type: y > stake ? "STAKE" : "UNSTAKE",
                to: alice,
                amount: y > stake ? y - stake : stake - y,
              }),
            ];
      return { y, move, block: model.child(head, move, { minSlot: slot }) };
    });
    for (const c of candidates) expect(c.block.header.seal).toMatchObject({ slot });
    // Every slot whose winner the attacker can compute (its own epoch and the next: later ones
    // draw from VRF outputs of blocks not forged yet) has one winner whatever the stake.
    const horizon = epochStartSlot(epochOf(slot, EPOCH_SLOTS) + 2, EPOCH_SLOTS);
    for (let next = slot + 1; next < horizon; next++) {
      const winners = new Set(candidates.map((c) => model.winner(c.block, next)));
      expect(winners.size, `slot ${next} after round ${rounds}`).toBe(1);
    }
    // No choice helps: it moves its stake around anyway.
    const chosen = candidates[rounds % candidates.length]!;
    expect((await chain.importBlock(chosen.block)).status).toBe("head");
    head = chosen.block;
    if (chosen.move.length > 0) {
      nonce++;
      stake = chosen.y;
    }
  }
  expect(rounds).toBe(ROUNDS);
  // Before: 25 slots in a row. Now its wins are spread over the chain at about its stake share
  // (at most 40 of 140 lots, 29%).
  expect(longestStreak).toBeLessThan(10);
  expect(rounds / slots).toBeLessThan(0.4);
  await chain.close();
  expect(await checkStoreByReplay(dir, genesis)).toMatchObject({ headHash: head.hashHex });
});
