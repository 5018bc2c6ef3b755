import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { ED25519_TORSION_SUBGROUP, ed25519 } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeBlock, verifyBlockSignature } from "../../src/core/block.js";
import { isValidationError } from "../../src/core/errors.js";
import {
  addressFromPublicKey,
  generateKeyPair,
  isAddress,
  isSmallOrderPublicKey,
  parseAddress,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPem,
  publicKeyToPem,
  sign,
  verify,
} from "../../src/core/keys.js";
import { merkleRoot } from "../../src/core/merkle.js";
import { checkSignature } from "../../src/core/state.js";
import { makeTransaction, verifyTransactionSignature } from "../../src/core/transaction.js";

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

describe("public keys of small order (review finding 5)", () => {
  // The neutral point (0, 1): with R = the identity and S = 0, "S·B = R + k·A" holds for every
  // message, so this "key" has a signature of everything.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const universal = new Uint8Array(64);
  universal.set(identity, 0);
  const messages = ["hello", "any message at all"].map((m) => new TextEncoder().encode(m));

  it("the universal signature is valid Ed25519 by some verifiers, and lotchain refuses it", () => {
    // Whether node:crypto accepts it depends on the OpenSSL it links (3.0, in Node 20, accepts
    // it; 3.5, in Node 24, does not): a consensus rule cannot depend on that, so lotchain
    // refuses such keys itself. ZIP-215 verification accepts it on every message.
    const raw = createPublicKey({
      key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), identity]),
      format: "der",
      type: "spki",
    });
    for (const m of messages) {
      expect(ed25519.verify(universal, m, identity, { zip215: true })).toBe(true);
      expect(typeof nodeVerify(null, m, raw, universal)).toBe("boolean");
      expect(verify(m, universal, identity)).toBe(false);
    }
  });

  it("blocks every encoding of a small-order point, canonical or not, and nothing else", () => {
    const encodings = ED25519_TORSION_SUBGROUP.map((hex) => Buffer.from(hex, "hex"));
    // p and p + 1: non-canonical encodings of y = 0 and y = 1.
    encodings.push(Buffer.from(`ed${"ff".repeat(30)}7f`, "hex"));
    encodings.push(Buffer.from(`ee${"ff".repeat(30)}7f`, "hex"));
    for (const e of encodings) {
      const flipped = Buffer.from(e);
      flipped[31]! ^= 0x80;
      expect(isSmallOrderPublicKey(e), e.toString("hex")).toBe(true);
      expect(isSmallOrderPublicKey(flipped), flipped.toString("hex")).toBe(true);
      // Every encoding that decodes at all is a point of small order.
      try {
        expect(ed25519.Point.fromBytes(e, true).isSmallOrder()).toBe(true);
      } catch {
        // not a point
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        let smallOrder = false;
        try {
          smallOrder = ed25519.Point.fromBytes(key, true).isSmallOrder();
        } catch {
          smallOrder = false;
        }
        if (!smallOrder) expect(isSmallOrderPublicKey(key)).toBe(false);
      }),
    );
    expect(isSmallOrderPublicKey(generateKeyPair().publicKey)).toBe(false);
  });

  it("cannot send a transaction or forge a block", () => {
    const tx = makeTransaction(
      {
        chainId: "lotchain-test",
        type: "TRANSFER",
        senderPublicKey: identity,
        receiver: generateKeyPair().address,
        amount: 1_000_000n,
        fee: 1n,
        nonce: 0,
        timestamp: 1_735_689_600_000,
      },
      universal,
    );
    expect(verifyTransactionSignature(tx)).toBe(false);
    expect(() => checkSignature(tx)).toThrow(/signature does not verify/);
    const block = makeBlock(
      {
        chainId: "lotchain-test",
        height: 1,
        previousHash: new Uint8Array(32),
        timestamp: 1_735_689_600_000,
        forger: identity,
        txRoot: merkleRoot([]),
        evidenceRoot: merkleRoot([]),
        stateRoot: new Uint8Array(32),
        seal: { type: "pos", slot: 1, vrfProof: new Uint8Array(80) },
      },
      universal,
      [],
    );
    expect(verifyBlockSignature(block)).toBe(false);
  });
});
