import { createHash } from "node:crypto";
import { mulAddUnsafe } from "@noble/curves/abstract/curve.js";
import { ed25519 } from "@noble/curves/ed25519.js";

/**
 * ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381 section 5 with the suite of section 5.5 (suite_string
 * 0x03), on @noble/curves' edwards25519 arithmetic. A VRF is a keyed hash whose holder can prove
 * the result: for a public key and an input alpha there is exactly one output beta that any valid
 * proof yields (full uniqueness: the key is checked not to be of small order, and beta hashes
 * cofactor·Gamma). A prover may publish several proofs for one input (the nonce is its choice),
 * but never another output: that is what makes it a randomness source nobody can grind.
 *
 * Keys are Ed25519 keys: the secret scalar x and the nonce prefix come from the 32-byte seed as
 * RFC 8032 section 5.1.5 says, so a validator's signing key is its VRF key. Vectors: RFC 9381
 * appendix B.3 in test/vectors/vrf-rfc9381.json.
 */

const Point = ed25519.Point;
type EdPoint = ReturnType<typeof Point.fromBytes>;

const SUITE = 0x03;
/** Order of the prime subgroup (q in RFC 9381, L in RFC 8032). */
const Q = Point.Fn.ORDER;
/** ptLen, cLen, qLen of the suite. */
const PT_LEN = 32;
const C_LEN = 16;
const Q_LEN = 32;
export const VRF_PROOF_BYTES = PT_LEN + C_LEN + Q_LEN;
export const VRF_OUTPUT_BYTES = 64;

export interface VrfSecretKey {
  /** The secret scalar x, reduced modulo q. */
  readonly scalar: bigint;
  /** The second half of SHA-512(seed): the nonce key of RFC 8032 section 5.1.6. */
  readonly prefix: Uint8Array;
  /** PK_string: the Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

/** string_to_int: little-endian (RFC 8032 section 5.1.2). */
function littleEndianToBigInt(bytes: Uint8Array): bigint {
  const reversed = Buffer.from(bytes).reverse();
  return reversed.length === 0 ? 0n : BigInt(`0x${reversed.toString("hex")}`);
}

/** int_to_string: little-endian, fixed width. */
function bigIntToLittleEndian(value: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let rest = value;
  for (let i = 0; i < width; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/**
 * string_to_point: RFC 8032 section 5.1.3, strictly (y below p; x = 0 with the sign bit set is
 * refused), so every accepted point has exactly one encoding. Undefined for INVALID.
 */
function decodePoint(bytes: Uint8Array): EdPoint | undefined {
  if (bytes.length !== PT_LEN) return undefined;
  try {
    return Point.fromBytes(bytes, false);
  } catch {
    return undefined;
  }
}

/** ECVRF_encode_to_curve_try_and_increment (section 5.4.1.1), salt = PK_string. */
export function vrfEncodeToCurve(publicKey: Uint8Array, alpha: Uint8Array): EdPoint {
  const front = Uint8Array.of(SUITE, 0x01);
  for (let ctr = 0; ctr < 256; ctr++) {
    const hash = sha512(front, publicKey, alpha, Uint8Array.of(ctr, 0x00));
    const candidate = decodePoint(hash.subarray(0, PT_LEN));
    if (!candidate) continue;
    const h = candidate.clearCofactor();
    if (!h.is0()) return h;
  }
  // Each try succeeds with probability about 1/2: 256 failures do not happen.
  throw new Error("encode_to_curve found no point in 256 tries");
}

/** ECVRF_challenge_generation (section 5.4.3) over the encodings of the five points. */
function challenge(points: Uint8Array[]): bigint {
  const digest = sha512(Uint8Array.of(SUITE, 0x02), ...points, Uint8Array.of(0x00));
  return littleEndianToBigInt(digest.subarray(0, C_LEN));
}

/** The VRF key of a 32-byte Ed25519 seed (RFC 8032 section 5.1.5). */
export function vrfSecretKey(seed: Uint8Array): VrfSecretKey {
  if (seed.length !== 32) throw new RangeError("an Ed25519 seed is 32 bytes");
  const { prefix, scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
  return { scalar, prefix, publicKey: pointBytes };
}

/** ECVRF_prove (section 5.1): the 80-byte proof pi = Gamma || c || s. */
export function vrfProve(key: VrfSecretKey, alpha: Uint8Array): Uint8Array {
  const h = vrfEncodeToCurve(key.publicKey, alpha);
  const hString = h.toBytes();
  const gamma = h.multiply(key.scalar);
  // ECVRF_nonce_generation_RFC8032 (section 5.4.2.2). k = 0 has probability 2^-252; multiply
  // refuses it loudly rather than emit a degenerate proof.
  const k = littleEndianToBigInt(sha512(key.prefix, hString)) % Q;
  const gammaString = gamma.toBytes();
  const c = challenge([
    key.publicKey,
    hString,
    gammaString,
    Point.BASE.multiply(k).toBytes(),
    h.multiply(k).toBytes(),
  ]);
  const s = (k + c * key.scalar) % Q;
  const proof = new Uint8Array(VRF_PROOF_BYTES);
  proof.set(gammaString, 0);
  proof.set(bigIntToLittleEndian(c, C_LEN), PT_LEN);
  proof.set(bigIntToLittleEndian(s, Q_LEN), PT_LEN + C_LEN);
  return proof;
}

/** ECVRF_decode_proof (section 5.4.4). */
function decodeProof(proof: Uint8Array): { gamma: EdPoint; c: bigint; s: bigint } | undefined {
  if (proof.length !== VRF_PROOF_BYTES) return undefined;
  const gamma = decodePoint(proof.subarray(0, PT_LEN));
  if (!gamma) return undefined;
  const c = littleEndianToBigInt(proof.subarray(PT_LEN, PT_LEN + C_LEN));
  const s = littleEndianToBigInt(proof.subarray(PT_LEN + C_LEN));
  if (s >= Q) return undefined;
  return { gamma, c, s };
}

/** ECVRF_proof_to_hash (section 5.2) of a decoded Gamma: beta = H(suite, 3, cofactor·Gamma, 0). */
function outputOf(gamma: EdPoint): Uint8Array {
  return sha512(Uint8Array.of(SUITE, 0x03), gamma.clearCofactor().toBytes(), Uint8Array.of(0x00));
}

/**
 * ECVRF_proof_to_hash without verification: the output a proof claims. Only meaningful for a
 * proof that verifies; undefined when the proof does not even decode.
 */
export function vrfProofToHash(proof: Uint8Array): Uint8Array | undefined {
  const decoded = decodeProof(proof);
  return decoded && outputOf(decoded.gamma);
}

/**
 * ECVRF_verify (section 5.3) with validate_key: the 64-byte output beta when the proof is valid
 * for this public key and input, undefined otherwise (never a throw). A public key of small
 * order, or any key or Gamma encoding that is not canonical, is INVALID.
 */
export function vrfVerify(
  publicKey: Uint8Array,
  alpha: Uint8Array,
  proof: Uint8Array,
): Uint8Array | undefined {
  const y = decodePoint(publicKey);
  if (!y || y.isSmallOrder()) return undefined;
  const decoded = decodeProof(proof);
  if (!decoded) return undefined;
  const { gamma, c, s } = decoded;
  const h = vrfEncodeToCurve(publicKey, alpha);
  // U = s·B − c·Y, V = s·H − c·Gamma. Public values: variable-time arithmetic is fine; B has
  // precomputed multiples, and V shares one walk of doublings for both terms (Strauss–Shamir).
  const u = Point.BASE.multiplyUnsafe(s).subtract(y.multiplyUnsafe(c));
  const v = mulAddUnsafe(Point, [h, gamma.negate()], [s, c]);
  // Decoding is strict, so the given encodings of Y and Gamma are point_to_string of them.
  const expected = challenge([
    publicKey,
    h.toBytes(),
    proof.subarray(0, PT_LEN),
    u.toBytes(),
    v.toBytes(),
  ]);
  return expected === c ? outputOf(gamma) : undefined;
}
