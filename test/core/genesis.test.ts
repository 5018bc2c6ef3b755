import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isValidationError } from "../../src/core/errors.js";
import {
  genesisAccounts,
  genesisBlock,
  genesisSupply,
  genesisToJson,
  ledgerParams,
  parseGenesis,
} from "../../src/core/genesis.js";
import { parsePrivateKeyPem } from "../../src/core/keys.js";
import { totalSupply } from "../../src/core/state.js";

const devnetJson = JSON.parse(
  readFileSync(new URL("../../devnet/genesis.json", import.meta.url), "utf8"),
);
const key = (name: string) =>
  parsePrivateKeyPem(
    readFileSync(new URL(`../../devnet/keys/${name}PrivateKey.pem`, import.meta.url), "utf8"),
  );

describe("genesis", () => {
  it("parses the bundled devnet genesis, which mirrors the seed", () => {
    const g = parseGenesis(devnetJson);
    expect(g.consensus.type).toBe("pos");
    expect(g.validators.get(key("genesis").address)).toBe(1n);
    expect(g.validators.has(key("staker").address)).toBe(false);
    expect(g.alloc.has(key("staker").address)).toBe(false);
    expect(g.exchange).toEqual([key("exchange").address]);
    expect(genesisToJson(g)).toEqual(devnetJson);
    expect(ledgerParams(g).keepPositiveStake).toBe(true);
  });

  it("builds a deterministic genesis block committing to the whole file", () => {
    const g = parseGenesis(devnetJson);
    const a = genesisBlock(g);
    expect(genesisBlock(parseGenesis(devnetJson)).hashHex).toBe(a.hashHex);
    expect(a.header.height).toBe(0);
    const other = genesisBlock(parseGenesis({ ...devnetJson, minFee: "1" }));
    expect(other.hashHex).not.toBe(a.hashHex);
    expect(totalSupply(genesisAccounts(g).values())).toBe(genesisSupply(g));
  });

  it("accepts a PoW genesis", () => {
    const g = parseGenesis({
      chainId: "pow-net",
      timestamp: 0,
      consensus: { type: "pow", targetBlockMs: 1000, initialTarget: `00${"f".repeat(62)}` },
      alloc: {},
      validators: {},
      exchange: [],
      blockReward: "50",
      minFee: "0",
    });
    expect(g.consensus.type).toBe("pow");
    expect(genesisBlock(g).header.seal.type).toBe("pow");
  });

  it("rejects malformed genesis files with a clear reason", () => {
    const bad: [unknown, RegExp][] = [
      [null, /object/],
      [{ ...devnetJson, chainId: "Bad Chain" }, /chainId/],
      [{ ...devnetJson, timestamp: -1 }, /timestamp/],
      [{ ...devnetJson, consensus: { type: "pos", slotMs: 0, finalityDepth: 1 } }, /slotMs/],
      [{ ...devnetJson, consensus: { type: "bft" } }, /consensus.type/],
      [{ ...devnetJson, validators: {} }, /validator/],
      [{ ...devnetJson, alloc: { lc1nope: "1" } }, /address/],
      [{ ...devnetJson, alloc: { [key("staker").address]: "-5" } }, /alloc/],
      [{ ...devnetJson, exchange: "x" }, /exchange/],
      [{ ...devnetJson, surprise: true }, /unknown field/],
      [
        { ...devnetJson, consensus: { type: "pow", targetBlockMs: 1000, initialTarget: "00" } },
        /initialTarget/,
      ],
    ];
    for (const [json, message] of bad) {
      try {
        parseGenesis(json);
        expect.fail(`accepted ${JSON.stringify(json)}`);
      } catch (e) {
        expect(isValidationError(e)).toBe(true);
        expect((e as Error).message).toMatch(message);
      }
    }
  });
});
