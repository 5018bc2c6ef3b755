import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { bech32m } from "@scure/base";
import { concatBytes, toHex } from "./bytes.js";
import { reject } from "./errors.js";
import { sha256 } from "./hash.js";

/** Addresses: bech32m with human-readable prefix `lc` over the first 20 bytes of SHA-256(public key). */
export const ADDRESS_PREFIX = "lc";
export const ADDRESS_BYTES = 20;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export type Address = string;

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: Uint8Array;
  address: Address;
}

export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync("ed25519");
  return keyPairFromPrivateKey(privateKey);
}

// DER prefix of an Ed25519 PKCS#8 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** The key pair of a 32-byte Ed25519 seed (for test vectors and deterministic test keys). */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) return reject("MalformedKey", "an Ed25519 seed is 32 bytes");
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
  return keyPairFromPrivateKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" }));
}

export function keyPairFromPrivateKey(privateKey: KeyObject): KeyPair {
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return { privateKey, publicKey, address: addressFromPublicKey(publicKey) };
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ type: "spki", format: "der" });
  return new Uint8Array(der.subarray(der.length - PUBLIC_KEY_BYTES));
}

/** Reads a PKCS#8 PEM private key (text before the BEGIN line, such as a warning, is allowed). */
export function parsePrivateKeyPem(pem: string): KeyPair {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    return reject("MalformedKey", "not a PEM private key");
  }
  if (key.asymmetricKeyType !== "ed25519")
    return reject("MalformedKey", `expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return keyPairFromPrivateKey(key);
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}

/** SPKI PEM of a raw 32-byte Ed25519 public key. */
export function publicKeyToPem(publicKey: Uint8Array): string {
  return publicKeyObject(publicKey).export({ type: "spki", format: "pem" }).toString();
}

export function parsePublicKeyPem(pem: string): Uint8Array {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    return reject("MalformedKey", "not a PEM public key");
  }
  if (key.asymmetricKeyType !== "ed25519")
    return reject("MalformedKey", `expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return rawPublicKey(key);
}

/**
 * Encodings of the Ed25519 points of small order (the eight torsion points, canonical, and the
 * non-canonical p and p + 1), as libsodium blocks them: the last byte is compared without its
 * sign bit, so each entry stands for two encodings. A key of small order makes forgery trivial
 * (with A = R = the identity and S = 0, "R + k·A = S·B" holds for every message), so such a key
 * can neither sign a transaction nor forge a block. Comparing bytes costs nothing beside a
 * verification; no point is decompressed.
 */
const SMALL_ORDER_ENCODINGS = [
  // 0: order 4 (x = ±sqrt(-1), y = 0)
  "0000000000000000000000000000000000000000000000000000000000000000",
  // 1: the identity (order 1)
  "0100000000000000000000000000000000000000000000000000000000000000",
  // order 8
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  // order 8
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  // p - 1: order 2
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  // p: a non-canonical 0 (order 4)
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  // p + 1: a non-canonical 1 (the identity)
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((hex) => Buffer.from(hex, "hex"));

/** Whether a 32-byte public key encodes a point of small order (see SMALL_ORDER_ENCODINGS). */
export function isSmallOrderPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return false;
  const last = publicKey[PUBLIC_KEY_BYTES - 1]! & 0x7f;
  for (const blocked of SMALL_ORDER_ENCODINGS) {
    if (blocked[0] !== publicKey[0] || blocked[PUBLIC_KEY_BYTES - 1] !== last) continue;
    let same = true;
    for (let i = 1; i < PUBLIC_KEY_BYTES - 1 && same; i++) same = blocked[i] === publicKey[i];
    if (same) return true;
  }
  return false;
}

/**
 * The 32-byte seed of an Ed25519 private key (RFC 8032's secret key), from which the signing
 * scalar and the VRF key derive. Read through JWK, the one export node:crypto offers of it.
 */
export function privateKeySeed(privateKey: KeyObject): Uint8Array {
  if (privateKey.asymmetricKeyType !== "ed25519" || privateKey.type !== "private")
    return reject("MalformedKey", "expected an Ed25519 private key");
  const { d } = privateKey.export({ format: "jwk" });
  const seed = typeof d === "string" ? Buffer.from(d, "base64url") : Buffer.alloc(0);
  if (seed.length !== 32) return reject("MalformedKey", "an Ed25519 seed is 32 bytes");
  return new Uint8Array(seed);
}

// Creating a KeyObject costs more than half of a verification (measured); senders repeat, so
// keep the most recent ones. Map iteration order makes this a simple LRU.
const KEY_CACHE_LIMIT = 16_384;
const keyCache = new Map<string, KeyObject>();

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const hex = toHex(publicKey);
  let key = keyCache.get(hex);
  if (key) {
    keyCache.delete(hex);
    keyCache.set(hex, key);
    return key;
  }
  if (publicKey.length !== PUBLIC_KEY_BYTES)
    return reject("MalformedKey", "public key must be 32 bytes");
  try {
    key = createPublicKey({
      key: Buffer.from(concatBytes(ED25519_SPKI_PREFIX, publicKey)),
      format: "der",
      type: "spki",
    });
  } catch {
    return reject("MalformedKey", "not an Ed25519 public key");
  }
  keyCache.set(hex, key);
  if (keyCache.size > KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string);
  return key;
}

export function sign(message: Uint8Array, privateKey: KeyObject): Uint8Array {
  return new Uint8Array(nodeSign(null, message, privateKey));
}

/**
 * Ed25519 verification; false for any malformed key or signature and for a key of small order
 * (whose "signatures" anyone can make), never a throw.
 */
export function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  if (isSmallOrderPublicKey(publicKey)) return false;
  let key: KeyObject;
  try {
    key = publicKeyObject(publicKey);
  } catch {
    return false;
  }
  return nodeVerify(null, message, key, signature);
}

const addressCache = new Map<string, Address>();

export function addressFromPublicKey(publicKey: Uint8Array): Address {
  const hex = toHex(publicKey);
  let address = addressCache.get(hex);
  if (address === undefined) {
    address = encodeAddress(sha256(publicKey).subarray(0, ADDRESS_BYTES));
    if (addressCache.size >= KEY_CACHE_LIMIT) addressCache.clear();
    addressCache.set(hex, address);
  }
  return address;
}

const encodedAddressCache = new Map<string, Address>();

/** The address of a 20-byte account id (cached: decoding a transaction names its receiver). */
export function encodeAddress(accountId: Uint8Array): Address {
  const hex = toHex(accountId);
  let address = encodedAddressCache.get(hex);
  if (address === undefined) {
    address = bech32m.encode(ADDRESS_PREFIX, bech32m.toWords(accountId));
    if (encodedAddressCache.size >= KEY_CACHE_LIMIT) encodedAddressCache.clear();
    encodedAddressCache.set(hex, address);
  }
  return address;
}

const addressBytesCache = new Map<string, Uint8Array>();

/** Parses an address with its checksum; a mistyped address is rejected with MalformedAddress. */
export function parseAddress(text: unknown): Uint8Array {
  if (typeof text !== "string") return reject("MalformedAddress", "address must be a string");
  const cached = addressBytesCache.get(text);
  if (cached) return cached;
  let bytes: Uint8Array;
  try {
    if (text.length > 90) throw new Error("too long");
    const { prefix, words } = bech32m.decode(text as `${string}1${string}`);
    if (prefix !== ADDRESS_PREFIX) throw new Error("wrong prefix");
    bytes = bech32m.fromWords(words);
  } catch {
    return reject(
      "MalformedAddress",
      `not a valid lotchain address: ${String(text).slice(0, 100)}`,
    );
  }
  if (bytes.length !== ADDRESS_BYTES || text !== text.toLowerCase())
    return reject("MalformedAddress", `not a valid lotchain address: ${text.slice(0, 100)}`);
  if (addressBytesCache.size >= KEY_CACHE_LIMIT) addressBytesCache.clear();
  addressBytesCache.set(text, bytes);
  return bytes;
}

export function isAddress(text: unknown): text is Address {
  try {
    parseAddress(text);
    return true;
  } catch {
    return false;
  }
}
