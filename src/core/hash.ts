import { createHash } from "node:crypto";
import { utf8 } from "./bytes.js";

/**
 * Domain-separated SHA-256: every hash in lotchain is sha256(tag || 0x00 || data...), with a
 * distinct tag per purpose, so that a transaction id can never collide with a block hash or a
 * Merkle node by construction.
 */
export type HashDomain =
  | "lotchain/txid/v1"
  | "lotchain/block/v1"
  | "lotchain/merkle-leaf/v1"
  | "lotchain/merkle-node/v1"
  | "lotchain/merkle-empty/v1"
  | "lotchain/genesis/v1"
  | "lotchain/address/v1"
  | "lotchain/slot-seed/v1"
  | "lotchain/lottery-draw/v1"
  | "lotchain/genesis-randomness/v1"
  | "lotchain/epoch-nonce/v1"
  | "lotchain/vrf-accumulator/v1"
  | "lotchain/validator-set/v1"
  | "lotchain/evidence/v1"
  | "lotchain/smt-leaf/v1"
  | "lotchain/smt-node/v1"
  | "lotchain/smt-key/v1";

const prefixes = new Map<HashDomain, Uint8Array>();

/** The bytes a tagged hash starts with (a PoW miner hashes prefix + header with a midstate). */
export function taggedHashPrefix(domain: HashDomain): Uint8Array {
  return domainPrefix(domain);
}

function domainPrefix(domain: HashDomain): Uint8Array {
  let prefix = prefixes.get(domain);
  if (!prefix) {
    prefix = new Uint8Array([...utf8.encode(domain), 0]);
    prefixes.set(domain, prefix);
  }
  return prefix;
}

export function taggedHash(domain: HashDomain, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256").update(domainPrefix(domain));
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

/** Plain SHA-256, for places where an outside format fixes the hash (addresses, PoW header). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}
