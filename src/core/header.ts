import { bigIntToBytes, bytesToBigInt, concatBytes, parseHex, toHex, utf8 } from "./bytes.js";
import { CborReader, encodeCanonical } from "./encoding.js";
import { reject } from "./errors.js";
import { taggedHash } from "./hash.js";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, verify } from "./keys.js";
import { CHAIN_ID_RE, MAX_CHAIN_ID_LENGTH } from "./transaction.js";
import { VRF_PROOF_BYTES, vrfProofToHash } from "./vrf.js";

/**
 * Block headers: what a forger signs and a block hash commits to. Kept apart from block bodies so
 * that slashing evidence (two signed headers) can carry headers without their blocks.
 */

const BLOCK_DOMAIN = "lotchain/block/v1";
const BLOCK_SIGNATURE_DOMAIN = utf8.encode("lotchain/block-signature/v1");

export const HASH_BYTES = 32;
export const POW_NONCE_BYTES = 8;
/** The genesis block's randomness: a 32-byte seed derived from the genesis configuration. */
export const GENESIS_SEED_BYTES = HASH_BYTES;

/** The consensus-specific part of a header. */
export type Seal =
  /**
   * vrfProof: the forger's 80-byte VRF proof over (chain id, slot, epoch nonce); the block's
   * randomness is its output. The genesis block carries its 32-byte seed here instead.
   */
  | { type: "pos"; slot: number; vrfProof: Uint8Array }
  | { type: "pow"; target: bigint; nonce: bigint };

export interface BlockHeader {
  chainId: string;
  height: number;
  previousHash: Uint8Array;
  timestamp: number;
  /** Public key of the forger (PoS) or miner (PoW); zero for genesis. */
  forger: Uint8Array;
  /** Merkle root of the transaction ids. */
  txRoot: Uint8Array;
  /** Merkle root of the slashing evidence ids. */
  evidenceRoot: Uint8Array;
  /** Root of the state tree (src/core/smt.ts) after the block: every account, authenticated. */
  stateRoot: Uint8Array;
  seal: Seal;
}

/** A header with the forger's signature: what a block hash names and slashing evidence holds. */
export interface SignedHeader {
  header: BlockHeader;
  signature: Uint8Array;
  readonly hash: Uint8Array;
  readonly hashHex: string;
}

/** The header fields of a block's JSON (SPEC section 5), without its body. */
export interface HeaderJson {
  height: number;
  hash: string;
  previousHash: string;
  timestamp: number;
  forger: string;
  txRoot: string;
  evidenceRoot: string;
  stateRoot: string;
  signature: string;
  slot?: number;
  /** PoS: the VRF output (128 hex digits); the genesis block's 64-hex-digit seed. */
  randomness?: string;
  /** PoS (not genesis): the forger's VRF proof, 160 hex digits. */
  vrfProof?: string;
  nonce?: string;
  target?: string;
}

export function headerItems(h: BlockHeader) {
  const common = [
    BLOCK_DOMAIN,
    h.chainId,
    h.height,
    h.previousHash,
    h.timestamp,
    h.forger,
    h.txRoot,
    h.evidenceRoot,
    h.stateRoot,
  ];
  if (h.seal.type === "pos") return [...common, "pos", h.seal.slot, h.seal.vrfProof];
  // The nonce is the last 8 bytes of the encoding, so a miner hashes a fixed prefix plus nonce.
  return [
    ...common,
    "pow",
    bigIntToBytes(h.seal.target, HASH_BYTES),
    bigIntToBytes(h.seal.nonce, POW_NONCE_BYTES),
  ];
}

const HEADER_ITEMS = 12;

export function encodeHeader(header: BlockHeader): Uint8Array {
  return encodeCanonical(headerItems(header));
}

export function hashHeader(header: BlockHeader): Uint8Array {
  return taggedHash("lotchain/block/v1", encodeHeader(header));
}

/** Message a forger signs: a domain tag and the block hash. */
export function blockSigningBytes(hash: Uint8Array): Uint8Array {
  return concatBytes(BLOCK_SIGNATURE_DOMAIN, hash);
}

export function signedHeader(header: BlockHeader, signature: Uint8Array): SignedHeader {
  const hash = hashHeader(header);
  return { header, signature, hash, hashHex: toHex(hash) };
}

export function verifyHeaderSignature(signed: SignedHeader): boolean {
  return verify(blockSigningBytes(signed.hash), signed.signature, signed.header.forger);
}

/** The header of canonical CBOR items; rejects Malformed. */
export function headerFromItems(items: unknown): BlockHeader {
  if (!Array.isArray(items) || items.length !== HEADER_ITEMS)
    return reject("Malformed", `block header: expected an array of ${HEADER_ITEMS} items`);
  const r = CborReader.of(items, "block header", HEADER_ITEMS);
  r.literal(BLOCK_DOMAIN);
  const chainId = r.text(MAX_CHAIN_ID_LENGTH);
  const height = r.uint();
  const previousHash = r.bytes(HASH_BYTES);
  const timestamp = r.uint();
  const forger = r.bytes(PUBLIC_KEY_BYTES);
  const txRoot = r.bytes(HASH_BYTES);
  const evidenceRoot = r.bytes(HASH_BYTES);
  const stateRoot = r.bytes(HASH_BYTES);
  const kind = items[9];
  r.text(3);
  let seal: Seal;
  if (kind === "pos") {
    const slot = r.uint();
    const vrfProof = r.bytes();
    // 80 bytes (the forger's VRF proof); only the genesis block carries a 32-byte seed.
    if (vrfProof.length !== (height === 0 ? GENESIS_SEED_BYTES : VRF_PROOF_BYTES))
      reject("Malformed", `block header: vrfProof must be ${VRF_PROOF_BYTES} bytes`);
    seal = { type: "pos", slot, vrfProof };
  } else if (kind === "pow") {
    seal = {
      type: "pow",
      target: bytesToBigInt(r.bytes(HASH_BYTES)),
      nonce: bytesToBigInt(r.bytes(POW_NONCE_BYTES)),
    };
  } else {
    return reject("Malformed", "block header: unknown seal type");
  }
  return {
    chainId,
    height,
    previousHash,
    timestamp,
    forger,
    txRoot,
    evidenceRoot,
    stateRoot,
    seal,
  };
}

/**
 * The randomness a PoS header carries: the output of its VRF proof (64 bytes), or the genesis
 * seed. Undefined for a proof that does not even decode (it cannot verify either).
 */
export function headerRandomness(header: BlockHeader): Uint8Array | undefined {
  if (header.seal.type !== "pos") return undefined;
  if (header.height === 0) return header.seal.vrfProof;
  return vrfProofToHash(header.seal.vrfProof);
}

export function headerToJson(signed: SignedHeader): HeaderJson {
  const h = signed.header;
  const json: HeaderJson = {
    height: h.height,
    hash: signed.hashHex,
    previousHash: toHex(h.previousHash),
    timestamp: h.timestamp,
    forger: toHex(h.forger),
    txRoot: toHex(h.txRoot),
    evidenceRoot: toHex(h.evidenceRoot),
    stateRoot: toHex(h.stateRoot),
    signature: toHex(signed.signature),
  };
  if (h.seal.type === "pos") {
    json.slot = h.seal.slot;
    const randomness = headerRandomness(h);
    if (randomness) json.randomness = toHex(randomness);
    if (h.height > 0) json.vrfProof = toHex(h.seal.vrfProof);
  } else {
    json.nonce = h.seal.nonce.toString();
    json.target = toHex(bigIntToBytes(h.seal.target, HASH_BYTES));
  }
  return json;
}

export function hexField(o: Record<string, unknown>, field: string, length: number): Uint8Array {
  const bytes = parseHex(o[field], length);
  if (!bytes) return reject("Malformed", `${field} must be ${length * 2} hex digits`);
  return bytes;
}

export function uintField(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    return reject("Malformed", `${field} must be a non-negative integer`);
  return v;
}

/**
 * Strict conversion from header JSON (a block's JSON without its body also reads); the hash and
 * the randomness, when present, must match what the fields give.
 */
export function headerFromJson(json: unknown, chainId: string): SignedHeader {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return reject("Malformed", "block header must be a JSON object");
  const o = json as Record<string, unknown>;
  if (!CHAIN_ID_RE.test(chainId)) reject("Malformed", "bad chain id");
  const height = uintField(o, "height");
  let seal: Seal;
  if (o.slot !== undefined) {
    const vrfProof =
      height === 0
        ? hexField(o, "randomness", GENESIS_SEED_BYTES)
        : hexField(o, "vrfProof", VRF_PROOF_BYTES);
    seal = { type: "pos", slot: uintField(o, "slot"), vrfProof };
  } else {
    if (typeof o.nonce !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(o.nonce))
      return reject("Malformed", "nonce must be a decimal string");
    const nonce = BigInt(o.nonce);
    if (nonce >= 1n << 64n) return reject("Malformed", "nonce must be below 2^64");
    seal = { type: "pow", nonce, target: bytesToBigInt(hexField(o, "target", HASH_BYTES)) };
  }
  const signed = signedHeader(
    {
      chainId,
      height,
      previousHash: hexField(o, "previousHash", HASH_BYTES),
      timestamp: uintField(o, "timestamp"),
      forger: hexField(o, "forger", PUBLIC_KEY_BYTES),
      txRoot: hexField(o, "txRoot", HASH_BYTES),
      evidenceRoot: hexField(o, "evidenceRoot", HASH_BYTES),
      stateRoot: hexField(o, "stateRoot", HASH_BYTES),
      seal,
    },
    hexField(o, "signature", SIGNATURE_BYTES),
  );
  if (o.hash !== undefined && o.hash !== signed.hashHex)
    reject("Malformed", "hash does not match the block header");
  if (o.randomness !== undefined && height > 0) {
    const randomness = headerRandomness(signed.header);
    if (!randomness || o.randomness !== toHex(randomness))
      reject("Malformed", "randomness is not the output of vrfProof");
  }
  return signed;
}

/** JSON Schema properties of a header, for the API's responses and OpenAPI. */
export const HEADER_JSON_PROPERTIES = {
  height: { type: "integer", minimum: 0 },
  hash: { type: "string" },
  previousHash: { type: "string" },
  timestamp: { type: "integer" },
  forger: { type: "string", description: "public key of the forger or miner, hex" },
  txRoot: { type: "string" },
  evidenceRoot: { type: "string", description: "Merkle root of the slashing evidence ids" },
  stateRoot: {
    type: "string",
    description: "root of the state tree after the block (docs/storage.md): every account",
  },
  signature: { type: "string" },
  slot: { type: "integer", description: "PoS only" },
  randomness: {
    type: "string",
    description: "PoS only: the VRF output, 128 hex digits (the genesis block: its 64-digit seed)",
  },
  vrfProof: {
    type: "string",
    description: "PoS only (not genesis): the forger's RFC 9381 VRF proof, 160 hex digits",
  },
  nonce: { type: "string", description: "PoW only" },
  target: { type: "string", description: "PoW only, 64 hex digits" },
} as const;

export const HEADER_JSON_REQUIRED = [
  "height",
  "hash",
  "previousHash",
  "timestamp",
  "forger",
  "txRoot",
  "evidenceRoot",
  "stateRoot",
  "signature",
] as const;
