import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/core/bytes.js";
import { isValidationError } from "../../src/core/errors.js";
import {
  decodeTransaction,
  makeTransaction,
  transactionFromJson,
  transactionToJson,
  verifyTransactionSignature,
} from "../../src/core/transaction.js";
import { codeOf, makeTx, testKey } from "../helpers/ledger.js";

const alice = testKey(1);
const bob = testKey(2);

describe("transactions", () => {
  const tx = makeTx(alice, { to: bob.address, amount: 10n, fee: 2n, nonce: 3 });

  it("sign/verify round trip, through JSON and through bytes", () => {
    expect(verifyTransactionSignature(tx)).toBe(true);
    const viaJson = transactionFromJson(JSON.parse(JSON.stringify(transactionToJson(tx))));
    expect(viaJson.id).toBe(tx.id);
    expect(verifyTransactionSignature(viaJson)).toBe(true);
    const viaBytes = decodeTransaction(tx.encoded);
    expect(viaBytes.id).toBe(tx.id);
    expect(viaBytes.sender).toBe(alice.address);
  });

  it("every single-field change invalidates the signature and changes the id", () => {
    const json = transactionToJson(tx);
    const changes: Record<string, unknown> = {
      chainId: "lotchain-other",
      type: "STAKE",
      senderPublicKey: Buffer.from(bob.publicKey).toString("hex"),
      receiver: testKey(3).address,
      amount: "11",
      fee: "3",
      nonce: 4,
      timestamp: json.timestamp + 1,
    };
    for (const [field, value] of Object.entries(changes)) {
      const { id: _id, ...rest } = json;
      const changed = transactionFromJson({ ...rest, [field]: value });
      expect(changed.id, field).not.toBe(tx.id);
      expect(verifyTransactionSignature(changed), field).toBe(false);
    }
    const sig = Buffer.from(tx.signature);
    sig[10]! ^= 0x40;
    expect(verifyTransactionSignature(makeTransaction(tx, new Uint8Array(sig)))).toBe(false);
  });

  it("rejects an id that does not match", () => {
    const json = { ...transactionToJson(tx), id: "00".repeat(32) };
    expect(codeOf(() => transactionFromJson(json))).toBe("IdMismatch");
  });

  it("rejects unknown fields, wrong types and out-of-range values as malformed", () => {
    const json = transactionToJson(tx);
    const bad: unknown[] = [
      null,
      [],
      "tx",
      { ...json, extra: 1 },
      { ...json, amount: 10 },
      { ...json, amount: "-1" },
      { ...json, amount: "01" },
      { ...json, amount: "18446744073709551616" },
      { ...json, fee: "1.5" },
      { ...json, nonce: -1 },
      { ...json, nonce: 1.5 },
      { ...json, nonce: "1" },
      { ...json, timestamp: 2 ** 60 },
      { ...json, type: "MINT" },
      { ...json, receiver: json.receiver.slice(0, -1) + (json.receiver.endsWith("q") ? "p" : "q") },
      { ...json, senderPublicKey: "zz" },
      { ...json, signature: json.signature.slice(2) },
      { ...json, chainId: "" },
      { ...json, chainId: "UPPER" },
    ];
    for (const value of bad) {
      const code = codeOf(() => transactionFromJson(value));
      expect(["Malformed", "MalformedAddress", "MalformedAmount"], JSON.stringify(value)).toContain(
        code,
      );
    }
  });

  it("turns any JSON value into a transaction or a typed error", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(codeOf(() => transactionFromJson(value))).not.toBe("none");
      }),
    );
    // Any other value of any one field, well-formed or not, is refused with a typed error
    // (codeOf rethrows anything else); only the field's own value passes.
    const json = transactionToJson(tx) as unknown as Record<string, unknown>;
    const keys = Object.keys(json);
    const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(toHex);
    const wellFormed: Record<string, fc.Arbitrary<unknown>> = {
      id: hex(32),
      chainId: fc.string({ maxLength: 40 }),
      type: fc.constantFrom("TRANSFER", "STAKE", "UNSTAKE", "EXCHANGE"),
      senderPublicKey: fc.constantFrom(bob.publicKey, alice.publicKey).map(toHex),
      receiver: fc.constantFrom(alice.address, bob.address),
      amount: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
      fee: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
      nonce: fc.nat(),
      timestamp: fc.nat(),
      signature: hex(64),
    };
    expect(Object.keys(wellFormed).sort()).toEqual([...keys].sort());
    const change = fc
      .constantFrom(...keys)
      .chain((key) => fc.tuple(fc.constant(key), fc.oneof(fc.jsonValue(), wellFormed[key]!)));
    let refused = 0;
    fc.assert(
      fc.property(change, ([key, value]) => {
        const code = codeOf(() => transactionFromJson({ ...json, [key]: value }));
        if (isDeepStrictEqual(value, json[key])) expect(code).toBe("none");
        else {
          expect(code).not.toBe("none");
          refused++;
        }
      }),
      { numRuns: 500 },
    );
    expect(refused).toBeGreaterThan(400);
  });

  it("turns any byte string into a transaction or a typed error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(codeOf(() => decodeTransaction(bytes))).not.toBe("none");
      }),
    );
    // Flipping any byte of a real encoding is caught by decoding, the id or the signature.
    for (let i = 0; i < tx.encoded.length; i++) {
      const bytes = new Uint8Array(tx.encoded);
      bytes[i]! ^= 1;
      let ok = false;
      try {
        const d = decodeTransaction(bytes);
        ok = verifyTransactionSignature(d) && d.id === tx.id;
      } catch (e) {
        expect(isValidationError(e)).toBe(true);
      }
      expect(ok, `byte ${i}`).toBe(false);
    }
  });

  it("rejects a non-canonical encoding of the same transaction", () => {
    // 0x18 0x03 is a non-minimal encoding of the integer 3 (the nonce).
    const hex = Buffer.from(tx.encoded).toString("hex");
    const minimal = "03";
    const nonMinimal = "1803";
    const idx = hex.lastIndexOf(`${minimal}1b`);
    expect(idx).toBeGreaterThan(0);
    const mutated = hex.slice(0, idx) + nonMinimal + hex.slice(idx + 2);
    expect(codeOf(() => decodeTransaction(Buffer.from(mutated, "hex")))).toBe("Malformed");
  });
});
