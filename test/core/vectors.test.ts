import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  blockFromJson,
  blockToJson,
  decodeBlock,
  encodeHeader,
  verifyBlockSignature,
} from "../../src/core/block.js";
import { parseHex, toHex } from "../../src/core/bytes.js";
import { keyPairFromSeed, parseAddress } from "../../src/core/keys.js";
import { merkleRoot } from "../../src/core/merkle.js";
import {
  decodeTransaction,
  signTransaction,
  transactionFromJson,
  transactionSigningBytes,
  transactionToJson,
  verifyTransactionSignature,
} from "../../src/core/transaction.js";
import { codeOf } from "../helpers/ledger.js";

// Written by test/core/write-vectors.ts; test/vectors/check_vectors.py recomputes every value
// with its own implementation of the formats (test/vectors/README.md).
const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8"));
const vectors = read("encoding.json");
const invalid = read("invalid.json");

describe("encoding vectors (test/vectors/encoding.json)", () => {
  const keys = vectors.keys.map((k: { seed: string }) => keyPairFromSeed(parseHex(k.seed, 32)!));

  it("derives the same public keys and addresses", () => {
    vectors.keys.forEach((k: { publicKey: string; address: string }, i: number) => {
      expect(toHex(keys[i].publicKey)).toBe(k.publicKey);
      expect(keys[i].address).toBe(k.address);
    });
  });

  it("signs, encodes and hashes transactions to the same bytes", () => {
    for (const v of vectors.transactions) {
      const tx = signTransaction(
        {
          chainId: v.input.chainId,
          type: v.input.type,
          senderPublicKey: keys[v.input.key].publicKey,
          receiver: v.input.receiver,
          amount: BigInt(v.input.amount),
          fee: BigInt(v.input.fee),
          nonce: v.input.nonce,
          timestamp: v.input.timestamp,
        },
        keys[v.input.key].privateKey,
      );
      expect(toHex(transactionSigningBytes(tx))).toBe(v.signingBytes);
      expect(toHex(tx.encoded)).toBe(v.encoded);
      expect(transactionToJson(tx)).toEqual(v.json);
      const decoded = decodeTransaction(parseHex(v.encoded)!);
      expect(decoded.id).toBe(v.json.id);
      expect(verifyTransactionSignature(decoded)).toBe(true);
      expect(transactionFromJson(v.json).id).toBe(v.json.id);
    }
  });

  it("computes the same Merkle roots", () => {
    for (const v of vectors.merkle) expect(toHex(merkleRoot(v.ids))).toBe(v.root);
  });

  it("encodes blocks to the same bytes and hashes", () => {
    for (const v of vectors.blocks) {
      const block = decodeBlock(parseHex(v.encoded)!);
      expect(toHex(encodeHeader(block.header))).toBe(v.header);
      expect(blockToJson(block)).toEqual(v.json);
      expect(verifyBlockSignature(block)).toBe(true);
      expect(
        blockFromJson(v.json, v.json.transactions[0]?.chainId ?? "lotchain-vectors").hashHex,
      ).toBe(v.json.hash);
    }
  });
});

describe("invalid inputs (test/vectors/invalid.json), each with its reason", () => {
  it("are transactions that do not decode, with the code given", () => {
    expect(invalid.transactions.length).toBeGreaterThanOrEqual(10);
    for (const v of invalid.transactions)
      expect(
        codeOf(() => decodeTransaction(parseHex(v.hex)!)),
        v.reason,
      ).toBe(v.code);
  });

  it("are transactions that decode but whose signature does not verify", () => {
    for (const v of invalid.badSignature) {
      const tx = decodeTransaction(parseHex(v.hex)!);
      expect(verifyTransactionSignature(tx), v.reason).toBe(false);
    }
  });

  it("are strings that are not lotchain addresses", () => {
    for (const v of invalid.addresses)
      expect(
        codeOf(() => parseAddress(v.text)),
        v.reason,
      ).toBe("MalformedAddress");
  });
});
