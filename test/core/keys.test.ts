import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isValidationError } from "../../src/core/errors.js";
import {
  addressFromPublicKey,
  generateKeyPair,
  isAddress,
  parseAddress,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPem,
  publicKeyToPem,
  sign,
  verify,
} from "../../src/core/keys.js";

describe("keys and addresses", () => {
  it("round-trips PEM private and public keys", () => {
    const k = generateKeyPair();
    const pem = privateKeyToPem(k.privateKey);
    expect(pem).toContain("BEGIN PRIVATE KEY");
    const back = parsePrivateKeyPem(`# a comment line before the key\n${pem}`);
    expect(back.address).toBe(k.address);
    expect(parsePublicKeyPem(publicKeyToPem(k.publicKey))).toEqual(k.publicKey);
  });

  it("signs and verifies; any flipped bit fails", () => {
    const k = generateKeyPair();
    const msg = new TextEncoder().encode("lotchain");
    const sig = sign(msg, k.privateKey);
    expect(verify(msg, sig, k.publicKey)).toBe(true);
    const bad = new Uint8Array(sig);
    bad[5]! ^= 1;
    expect(verify(msg, bad, k.publicKey)).toBe(false);
    expect(verify(msg, sig.subarray(1), k.publicKey)).toBe(false);
    expect(verify(msg, sig, new Uint8Array(32))).toBe(false);
  });

  it("rejects every mistyped character of an address by checksum", () => {
    const address = generateKeyPair().address;
    expect(parseAddress(address)).toHaveLength(20);
    const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    for (let i = 3; i < address.length; i++) {
      const c = address[i]!;
      const other = charset[(charset.indexOf(c) + 1) % charset.length]!;
      expect(isAddress(address.slice(0, i) + other + address.slice(i + 1))).toBe(false);
    }
    expect(isAddress(address.toUpperCase())).toBe(false);
    expect(isAddress(`bc${address.slice(2)}`)).toBe(false);
  });

  it("derives addresses with prefix lc from the public key", () => {
    const k = generateKeyPair();
    expect(k.address).toMatch(/^lc1[02-9ac-hj-np-z]{38}$/);
    expect(addressFromPublicKey(k.publicKey)).toBe(k.address);
  });

  it("turns garbage PEM and addresses into typed errors", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        for (const parse of [parsePrivateKeyPem, parsePublicKeyPem, parseAddress]) {
          try {
            parse(text);
          } catch (e) {
            expect(isValidationError(e)).toBe(true);
          }
        }
      }),
    );
    for (const value of [undefined, null, 5, {}, [], "lc1", "lc1qqqqqq"]) {
      expect(() => parseAddress(value)).toThrow(/address/);
    }
  });

  it("rejects keys of another algorithm", () => {
    const rsaPem = `-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAL1ZmdAd2ta7lr/k7AuFQOeYOaW8+kt3
3wAX2TjqL5H3l+xJ2xOukbhmW9DY0bDfHqsWZkdx5yj49QMNQzVvFUECAwEAAQ==
-----END PUBLIC KEY-----`;
    expect(() => parsePublicKeyPem(rsaPem)).toThrow(/Ed25519|PEM/);
  });
});
