import { readFileSync } from "node:fs";
import { bech32m } from "@scure/base";
import { describe, expect, it } from "vitest";
import { parseHex, toHex } from "../../src/core/bytes.js";
import { keyPairFromSeed, sign, verify } from "../../src/core/keys.js";

// Vectors published by others (test/vectors/README.md names each source): lotchain's Ed25519
// (node:crypto) and its bech32m (@scure/base, under lotchain's addresses) against them.
const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8"));
const bytes = (hex: string) => parseHex(hex)!;

describe("RFC 8032 section 7.1 (test/vectors/ed25519-rfc8032.json)", () => {
  const { vectors } = read("ed25519-rfc8032.json");

  it("derives each public key and signature, byte for byte", () => {
    expect(vectors.map((v: { name: string }) => v.name)).toEqual([
      "TEST 1",
      "TEST 2",
      "TEST 3",
      "TEST SHA(abc)",
    ]);
    for (const v of vectors) {
      const key = keyPairFromSeed(bytes(v.secretKey));
      expect(toHex(key.publicKey), v.name).toBe(v.publicKey);
      const message = bytes(v.message);
      expect(toHex(sign(message, key.privateKey)), v.name).toBe(v.signature);
      expect(verify(message, bytes(v.signature), key.publicKey)).toBe(true);
      const other = Uint8Array.from([...message, 0]);
      expect(verify(other, bytes(v.signature), key.publicKey)).toBe(false);
    }
  });
});

describe("BIP 350 bech32m test vectors (test/vectors/bech32m-bip350.json)", () => {
  const { valid, invalid } = read("bech32m-bip350.json");

  it("accepts every valid string and re-encodes it (lower case)", () => {
    expect(valid).toHaveLength(7);
    for (const text of valid) {
      const { prefix, words } = bech32m.decode(text as `${string}1${string}`, 90);
      expect(bech32m.encode(prefix, words, 90)).toBe(text.toLowerCase());
    }
  });

  it("refuses every invalid string", () => {
    expect(invalid).toHaveLength(14);
    for (const { string, reason } of invalid)
      expect(() => bech32m.decode(string as `${string}1${string}`, 90), reason).toThrow();
  });
});
