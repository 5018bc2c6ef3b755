import { compareBytes, toHex } from "./bytes.js";
import { CborReader, decodeCanonical, encodeCanonical } from "./encoding.js";
import { reject } from "./errors.js";
import { taggedHash } from "./hash.js";
import {
  type HeaderJson,
  headerFromItems,
  headerFromJson,
  headerItems,
  headerToJson,
  type SignedHeader,
  signedHeader,
  verifyHeaderSignature,
} from "./header.js";
import { type Address, addressFromPublicKey, SIGNATURE_BYTES } from "./keys.js";

/**
 * Slashing evidence: two different block headers, each signed by the same forger, for the same
 * PoS slot. An honest forger signs one block a slot (the forger never forges a slot twice), so
 * the pair proves a fault by the key alone: no branch, state or lottery is needed to check it,
 * and nobody but the key's holder can make one. The two headers are kept in hash order, so a
 * pair has exactly one encoding and one id, and the same fault reported twice is the same
 * evidence.
 */

const EVIDENCE_DOMAIN = "lotchain/evidence/v1";
/** Evidence a block may carry; more waits for the next block. */
export const MAX_BLOCK_EVIDENCE = 16;
/** Largest encoded evidence accepted (two headers with signatures are about 700 bytes). */
export const MAX_EVIDENCE_BYTES = 2048;

export interface Evidence {
  /** The two signed headers, lower hash first. */
  headers: readonly [SignedHeader, SignedHeader];
  readonly offender: Address;
  readonly slot: number;
  readonly id: string;
  readonly encoded: Uint8Array;
}

export interface EvidenceJson {
  id: string;
  /** The address of the forger that signed both headers. */
  offender: string;
  slot: number;
  headers: [HeaderJson, HeaderJson];
}

/**
 * Evidence from two signed headers, in either order. Checks the shape that needs no signature
 * (one chain, PoS, one slot, one forger, two different blocks); checkEvidence verifies the
 * signatures.
 */
export function makeEvidence(a: SignedHeader, b: SignedHeader): Evidence {
  const [first, second] = compareBytes(a.hash, b.hash) <= 0 ? [a, b] : [b, a];
  const ha = first.header;
  const hb = second.header;
  if (ha.seal.type !== "pos" || hb.seal.type !== "pos")
    return reject("Malformed", "evidence: both headers must be Proof of Stake headers");
  if (ha.height === 0 || hb.height === 0)
    return reject("Malformed", "evidence: the genesis block is nobody's fault");
  if (ha.chainId !== hb.chainId) return reject("Malformed", "evidence: headers of two chains");
  if (ha.seal.slot !== hb.seal.slot)
    return reject("Malformed", "evidence: the headers are for two different slots");
  if (toHex(ha.forger) !== toHex(hb.forger))
    return reject("Malformed", "evidence: the headers name two different forgers");
  if (first.hashHex === second.hashHex)
    return reject("Malformed", "evidence: the two headers are the same block");
  const encoded = encodeCanonical([
    EVIDENCE_DOMAIN,
    headerItems(ha),
    first.signature,
    headerItems(hb),
    second.signature,
  ]);
  return {
    headers: [first, second],
    offender: addressFromPublicKey(ha.forger),
    slot: ha.seal.slot,
    id: toHex(taggedHash("lotchain/evidence/v1", encoded)),
    encoded,
  };
}

/** Everything about a piece of evidence that needs no state: its shape and both signatures. */
export function checkEvidence(evidence: Evidence, chainId: string): void {
  if (evidence.headers[0].header.chainId !== chainId)
    reject("WrongChain", `evidence is for chain ${evidence.headers[0].header.chainId}`);
  for (const signed of evidence.headers)
    if (!verifyHeaderSignature(signed))
      reject("InvalidEvidence", `header ${signed.hashHex} is not signed by its forger`);
}

/** Decodes evidence's canonical encoding, strictly (headers in hash order, canonical CBOR). */
export function decodeEvidence(bytes: Uint8Array): Evidence {
  if (bytes.length > MAX_EVIDENCE_BYTES)
    reject("TooLarge", `evidence exceeds ${MAX_EVIDENCE_BYTES} bytes`);
  const r = CborReader.of(decodeCanonical(bytes, "evidence"), "evidence", 5);
  r.literal(EVIDENCE_DOMAIN);
  const a = signedHeader(headerFromItems(r.array()), r.bytes(SIGNATURE_BYTES));
  const b = signedHeader(headerFromItems(r.array()), r.bytes(SIGNATURE_BYTES));
  if (compareBytes(a.hash, b.hash) >= 0)
    reject("Malformed", "evidence: headers must be in ascending hash order");
  const evidence = makeEvidence(a, b);
  if (toHex(evidence.encoded) !== toHex(bytes))
    reject("Malformed", "evidence: not canonically encoded");
  return evidence;
}

export function evidenceToJson(evidence: Evidence): EvidenceJson {
  return {
    id: evidence.id,
    offender: evidence.offender,
    slot: evidence.slot,
    headers: [headerToJson(evidence.headers[0]), headerToJson(evidence.headers[1])],
  };
}

export function evidenceFromJson(json: unknown, chainId: string): Evidence {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return reject("Malformed", "evidence must be a JSON object");
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o.headers) || o.headers.length !== 2)
    return reject("Malformed", "evidence: headers must be an array of two block headers");
  const evidence = makeEvidence(
    headerFromJson(o.headers[0], chainId),
    headerFromJson(o.headers[1], chainId),
  );
  if (o.id !== undefined && o.id !== evidence.id)
    reject("Malformed", "evidence: id does not match the headers");
  return evidence;
}
