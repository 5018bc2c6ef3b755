import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ED25519_TORSION_SUBGROUP, ed25519 } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseHex, toHex } from "../../src/core/bytes.js";
import { keyPairFromSeed, privateKeySeed } from "../../src/core/keys.js";
import {
  VRF_OUTPUT_BYTES,
  VRF_PROOF_BYTES,
  vrfEncodeToCurve,
  vrfProofToHash,
  vrfProve,
  vrfSecretKey,
  vrfVerify,
} from "../../src/core/vrf.js";

// RFC 9381 appendix B.3 (ECVRF-EDWARDS25519-SHA512-TAI), examples 16 to 18.
const rfc = JSON.parse(
  readFileSync(new URL("../vectors/vrf-rfc9381.json", import.meta.url), "utf8"),
);
const bytes = (hex: string) => parseHex(hex)!;
const Point = ed25519.Point;
const Q = Point.Fn.ORDER;

const le = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).reverse().toString("hex") || "0"}`);
const toLe = (n: bigint, width: number) => {
  const out = new Uint8Array(width);
  for (let i = 0; i < width; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const sha512 = (...parts: Uint8Array[]) => {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/**
 * A prover that picks its own nonce k (RFC 9381 derives it from the key and H; a cheating prover
 * may choose any) and may shift Gamma by a point `shift`: everything a forger could try to get
 * another valid proof for the same input.
 */
function proveWith(seed: Uint8Array, alpha: Uint8Array, k: bigint, shift = Point.ZERO) {
  const key = vrfSecretKey(seed);
  const h = vrfEncodeToCurve(key.publicKey, alpha);
  const gamma = h.multiply(key.scalar).add(shift);
  const c = le(
    sha512(
      Uint8Array.of(0x03, 0x02),
      key.publicKey,
      h.toBytes(),
      gamma.toBytes(),
      Point.BASE.multiply(k).toBytes(),
      h.multiply(k).toBytes(),
      Uint8Array.of(0x00),
    ).subarray(0, 16),
  );
  const s = (k + c * key.scalar) % Q;
  return new Uint8Array([...gamma.toBytes(), ...toLe(c, 16), ...toLe(s, 32)]);
}

describe("ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 appendix B.3 vectors)", () => {
  it("derives the same keys, points, nonces, proofs and outputs", () => {
    expect(rfc.vectors).toHaveLength(3);
    for (const v of rfc.vectors) {
      const key = vrfSecretKey(bytes(v.sk));
      const alpha = bytes(v.alpha);
      expect(toHex(key.publicKey), v.name).toBe(v.pk);
      // x: the clamped scalar of RFC 8032 (the same point as x mod q).
      const x = le(bytes(v.x));
      expect(x % Q, v.name).toBe(key.scalar);
      expect(Point.BASE.multiply(key.scalar).toHex(), v.name).toBe(v.pk);
      const h = vrfEncodeToCurve(key.publicKey, alpha);
      expect(h.toHex(), v.name).toBe(v.h);
      const kString = sha512(key.prefix, h.toBytes());
      expect(toHex(kString), v.name).toBe(v.k);
      const k = le(kString) % Q;
      expect(Point.BASE.multiply(k).toHex(), v.name).toBe(v.u);
      expect(h.multiply(k).toHex(), v.name).toBe(v.v);
      const proof = vrfProve(key, alpha);
      expect(proof).toHaveLength(VRF_PROOF_BYTES);
      expect(toHex(proof), v.name).toBe(v.pi);
      expect(toHex(vrfProofToHash(proof)!), v.name).toBe(v.beta);
      const beta = vrfVerify(bytes(v.pk), alpha, bytes(v.pi));
      expect(beta).toHaveLength(VRF_OUTPUT_BYTES);
      expect(toHex(beta!), v.name).toBe(v.beta);
    }
  });

  it("refuses a proof for another input, under another key, altered, or malformed", () => {
    const [a, b, c] = rfc.vectors;
    expect(vrfVerify(bytes(a.pk), bytes("42"), bytes(a.pi))).toBeUndefined();
    expect(vrfVerify(bytes(b.pk), bytes(a.alpha), bytes(a.pi))).toBeUndefined();
    for (const at of [0, 31, 32, 47, 48, 79]) {
      const altered = bytes(c.pi);
      altered[at]! ^= 0x01;
      expect(vrfVerify(bytes(c.pk), bytes(c.alpha), altered), `byte ${at}`).toBeUndefined();
    }
    expect(vrfVerify(bytes(c.pk), bytes(c.alpha), bytes(c.pi).subarray(0, 79))).toBeUndefined();
    expect(vrfVerify(bytes(c.pk), bytes(c.alpha), new Uint8Array(80))).toBeUndefined();
    // s >= q is INVALID (ECVRF_decode_proof).
    const bigS = bytes(c.pi);
    bigS.set(toLe(le(bigS.subarray(48)) + Q, 32), 48);
    expect(vrfVerify(bytes(c.pk), bytes(c.alpha), bigS)).toBeUndefined();
    expect(vrfProofToHash(new Uint8Array(80).fill(0xff))).toBeUndefined();
  });

  it("refuses public keys of small order (validate_key) and non-canonical encodings", () => {
    const v = rfc.vectors[0];
    for (const torsion of ED25519_TORSION_SUBGROUP)
      expect(vrfVerify(bytes(torsion), bytes(v.alpha), bytes(v.pi)), torsion).toBeUndefined();
    // The public key's y + p: the same point, non-canonically encoded.
    const y = le(bytes(v.pk)) & ((1n << 255n) - 1n);
    const p = (1n << 255n) - 19n;
    if (y + p < 1n << 255n) {
      const alias = toLe(y + p, 32);
      alias[31]! |= bytes(v.pk)[31]! & 0x80;
      expect(vrfVerify(alias, bytes(v.alpha), bytes(v.pi))).toBeUndefined();
    }
  });

  it("takes the VRF key from an Ed25519 key's seed (node:crypto KeyObject, JWK d)", () => {
    const v = rfc.vectors[1];
    const pair = keyPairFromSeed(bytes(v.sk));
    expect(toHex(privateKeySeed(pair.privateKey))).toBe(v.sk);
    expect(toHex(vrfSecretKey(privateKeySeed(pair.privateKey)).publicKey)).toBe(
      toHex(pair.publicKey),
    );
  });
});

describe("VRF uniqueness: one output per key and input", () => {
  const seed = new Uint8Array(32).fill(7);
  const key = vrfSecretKey(seed);
  const alpha = new TextEncoder().encode("lotchain slot 42");
  const honest = vrfProve(key, alpha);
  const output = vrfVerify(key.publicKey, alpha, honest)!;

  it("a proof with another nonce verifies, but yields the same output", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: Q - 1n }), (k) => {
        const other = proveWith(seed, alpha, k);
        expect(toHex(vrfVerify(key.publicKey, alpha, other)!)).toBe(toHex(output));
      }),
      { numRuns: 10 },
    );
  });

  it("a Gamma moved by a torsion point can verify (nonce ground), yet the output does not move", () => {
    const torsion = Point.fromHex(ED25519_TORSION_SUBGROUP[1]!);
    let verified = 0;
    for (let k = 1n; k <= 64n && verified < 2; k++) {
      const shifted = proveWith(seed, alpha, k, torsion);
      expect(toHex(shifted.subarray(0, 32))).not.toBe(toHex(honest.subarray(0, 32)));
      const beta = vrfVerify(key.publicKey, alpha, shifted);
      if (beta === undefined) continue;
      verified++;
      expect(toHex(beta)).toBe(toHex(output));
    }
    // About one nonce in 8 makes c a multiple of the torsion point's order.
    expect(verified).toBeGreaterThan(0);
  });

  it("a proof for another Gamma (another output) does not verify, whatever the nonce", () => {
    for (let k = 1n; k <= 16n; k++) {
      const forged = proveWith(seed, alpha, k, Point.BASE);
      expect(vrfVerify(key.publicKey, alpha, forged)).toBeUndefined();
      expect(toHex(vrfProofToHash(forged)!)).not.toBe(toHex(output));
    }
  });

  it("different inputs or keys give different outputs", () => {
    const other = vrfProve(key, new TextEncoder().encode("lotchain slot 43"));
    expect(toHex(vrfProofToHash(other)!)).not.toBe(toHex(output));
    const otherKey = vrfSecretKey(new Uint8Array(32).fill(8));
    expect(toHex(vrfProofToHash(vrfProve(otherKey, alpha))!)).not.toBe(toHex(output));
  });
});
