import { describe, expect, it } from "vitest";
import { signTransaction } from "../../src/core/transaction.js";
import { BLOCK_WINDOW } from "../../src/core/tx-time.js";
import { KEYS, rejectionCode, testGenesis } from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

const { alice, bob } = KEYS;
const chains = chainsPerTest();

describe("transaction timestamps in blocks", () => {
  it("a block carrying a transaction signed outside the window around its own time is refused before storage", async () => {
    const genesis = testGenesis("pos");
    const { model, chain } = await chains.open(genesis);
    const first = model.child(model.genesisBlock, [], { minSlot: 1 });
    await chain.importBlock(first);
    const signedAt = (timestamp: number) =>
      signTransaction(
        {
          chainId: genesis.chainId,
          type: "TRANSFER",
          senderPublicKey: alice.publicKey,
          receiver: bob.address,
          amount: 1n,
          fee: 1n,
          nonce: 0,
          timestamp,
        },
        alice.privateKey,
      );
    const slotTime = (slot: number) => genesis.timestamp + slot * 1000;
    const slot = (first.header.seal as { slot: number }).slot + 1;
    const cases = [
      [0, "TimestampTooOld"],
      [slotTime(slot) - BLOCK_WINDOW.pastMs - 5_000, "TimestampTooOld"],
      [slotTime(slot) + BLOCK_WINDOW.futureMs + 5_000, "TimestampTooNew"],
      [2 ** 53 - 1, "TimestampTooNew"],
    ] as const;
    for (const [timestamp, code] of cases) {
      const bad = model.child(first, [signedAt(timestamp)], { minSlot: slot, invalid: true });
      expect(await rejectionCode(chain.importBlock(bad)), String(timestamp)).toBe(code);
      expect(chain.hasBlock(bad.hashHex)).toBe(false);
    }
    // Just inside the window on both sides: taken.
    const edge = model.child(first, [signedAt(slotTime(slot) - BLOCK_WINDOW.pastMs + 5_000)], {
      minSlot: slot,
    });
    expect((await chain.importBlock(edge)).status).toBe("head");
  });
});
