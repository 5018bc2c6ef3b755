import { parseHex, toHex } from "./bytes.js";
import { reject } from "./errors.js";
import type { Address } from "./keys.js";
import { type SmtProof, verifySmtProof } from "./smt.js";
import { type Account, decodeAccount, stateKey } from "./state.js";

/**
 * An account proof as the API serves it (GET /v1/accounts/{address}/proof) and a wallet checks
 * it: the state tree's key of the address, the sibling hashes on its path (top down) and the
 * leaf the path ends in (the account's own, another account's, or none: the account is absent).
 */
export interface AccountProofJson {
  key: string;
  siblings: string[];
  leaf: { key: string; value: string } | null;
}

export function accountProofToJson(key: Uint8Array, proof: SmtProof): AccountProofJson {
  return {
    key: toHex(key),
    siblings: proof.siblings.map(toHex),
    leaf: proof.leaf ? { key: toHex(proof.leaf.key), value: toHex(proof.leaf.value) } : null,
  };
}

function hex32(value: unknown, what: string): Uint8Array {
  const bytes = parseHex(value, 32);
  if (!bytes) return reject("BadProof", `${what} must be 64 hex digits`);
  return bytes;
}

/**
 * Checks an account proof against a state root: the account it proves (undefined: proven
 * absent), or ValidationError BadProof when the proof does not hold for this address and root.
 */
export function verifyAccountProof(
  stateRoot: Uint8Array,
  address: Address,
  json: unknown,
): Account | undefined {
  if (typeof json !== "object" || json === null) return reject("BadProof", "not a proof");
  const o = json as Record<string, unknown>;
  const key = stateKey(address);
  if (o.key !== toHex(key)) reject("BadProof", "the proof is for another address");
  if (!Array.isArray(o.siblings) || o.siblings.length > 256)
    return reject("BadProof", "siblings must be a list of at most 256 hashes");
  const proof: SmtProof = { siblings: o.siblings.map((s) => hex32(s, "a sibling")) };
  if (o.leaf !== null && o.leaf !== undefined) {
    const leaf = o.leaf as Record<string, unknown>;
    const value = parseHex(leaf.value);
    if (!value || value.length === 0 || value.length > 512)
      return reject("BadProof", "the leaf value must be hex");
    proof.leaf = { key: hex32(leaf.key, "the leaf key"), value };
  }
  const value = verifySmtProof(stateRoot, key, proof);
  return value === null ? undefined : decodeAccount(value);
}
