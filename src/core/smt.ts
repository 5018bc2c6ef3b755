import { equalBytes, toHex } from "./bytes.js";
import { reject } from "./errors.js";
import { taggedHash } from "./hash.js";

/**
 * The state's authenticated map: a compact sparse Merkle tree over 256-bit keys. Why not a
 * library's Merkle Patricia trie (e.g. @ethereumjs/mpt): its API is asynchronous and writes
 * through its own database interface, while lotchain computes a block's whole state change
 * synchronously and writes it in the block's one atomic LevelDB batch; and every other hash in
 * lotchain is domain-separated SHA-256 through node:crypto. This tree is small enough to state
 * whole, and an independent implementation checks it (test/vectors/smt_reference.py, vectors in
 * test/vectors/smt.json).
 *
 * The tree, for a set of (key, value) pairs:
 *   - no pairs: EMPTY (32 zero bytes);
 *   - one pair: the leaf H_leaf(key, value), wherever it stands;
 *   - more: H_node(tree of the keys whose next bit is 0, tree of those whose next bit is 1),
 *     bits taken from the key's most significant bit down.
 * So the root depends on the set alone (not on the order of updates), a leaf sits at the
 * shortest prefix that tells it apart, and an internal node always has two or more leaves below.
 * A proof for a key is the sibling hashes on its path and what the path ends in: the key's leaf
 * (present), another key's leaf or EMPTY (absent).
 */

export const SMT_KEY_BYTES = 32;
export const EMPTY_HASH = new Uint8Array(32);

export type SmtNode =
  | { kind: "leaf"; key: Uint8Array; value: Uint8Array }
  | { kind: "internal"; left: Uint8Array; right: Uint8Array };

/** Reads stored nodes by hash; undefined for a node that is not stored. */
export interface SmtReader {
  node(hash: Uint8Array): SmtNode | undefined;
}

export function leafHash(key: Uint8Array, value: Uint8Array): Uint8Array {
  return taggedHash("lotchain/smt-leaf/v1", key, value);
}

export function internalHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return taggedHash("lotchain/smt-node/v1", left, right);
}

export function nodeHash(node: SmtNode): Uint8Array {
  return node.kind === "leaf"
    ? leafHash(node.key, node.value)
    : internalHash(node.left, node.right);
}

/** Node encoding in the store: 0x00 key value, or 0x01 left right. */
export function encodeSmtNode(node: SmtNode): Uint8Array {
  if (node.kind === "internal") {
    const out = new Uint8Array(65);
    out[0] = 1;
    out.set(node.left, 1);
    out.set(node.right, 33);
    return out;
  }
  const out = new Uint8Array(1 + SMT_KEY_BYTES + node.value.length);
  out.set(node.key, 1);
  out.set(node.value, 1 + SMT_KEY_BYTES);
  return out;
}

export function decodeSmtNode(bytes: Uint8Array): SmtNode {
  if (bytes[0] === 1 && bytes.length === 65)
    return { kind: "internal", left: bytes.slice(1, 33), right: bytes.slice(33, 65) };
  if (bytes[0] === 0 && bytes.length > 1 + SMT_KEY_BYTES)
    return { kind: "leaf", key: bytes.slice(1, 33), value: bytes.slice(33) };
  return reject("Malformed", "not a state tree node");
}

/** Bit `depth` of a key, most significant first. */
export function keyBit(key: Uint8Array, depth: number): 0 | 1 {
  return ((key[depth >> 3]! >> (7 - (depth & 7))) & 1) as 0 | 1;
}

const isEmpty = (hash: Uint8Array) => equalBytes(hash, EMPTY_HASH);

/** One key's new value, or null to remove it. */
export interface SmtChange {
  key: Uint8Array;
  value: Uint8Array | null;
}

/**
 * The result of an update: the new root, the nodes it made that the old tree did not hold
 * (hash hex → node), and the nodes of the old tree the new one no longer holds (hashes hex).
 * Nodes in both (a value written back unchanged) appear in neither.
 */
export interface SmtUpdate {
  root: Uint8Array;
  created: Map<string, SmtNode>;
  released: Set<string>;
}

/**
 * Applies changes to the tree under `root`, reading its nodes through `reader` (which must hold
 * every node of that tree). Pure: the reader is not written; the caller stores `created`.
 * Cost: the nodes on the changed keys' paths, O(changes · log n).
 */
export function updateSmt(
  reader: SmtReader,
  root: Uint8Array,
  changes: readonly SmtChange[],
): SmtUpdate {
  const created = new Map<string, SmtNode>();
  const released = new Set<string>();
  const byKey = new Map<string, SmtChange>();
  for (const c of changes) {
    if (c.key.length !== SMT_KEY_BYTES) throw new RangeError("state tree keys are 32 bytes");
    byKey.set(toHex(c.key), c);
  }
  const sorted = [...byKey.values()];
  const read = (hash: Uint8Array): SmtNode => {
    const hex = toHex(hash);
    const node = created.get(hex) ?? reader.node(hash);
    if (!node) throw new Error(`state tree node ${hex} is missing`);
    return node;
  };
  const make = (node: SmtNode): Uint8Array => {
    const hash = nodeHash(node);
    const hex = toHex(hash);
    if (released.has(hex)) released.delete(hex);
    else created.set(hex, node);
    return hash;
  };
  const release = (hash: Uint8Array) => {
    const hex = toHex(hash);
    if (created.has(hex)) created.delete(hex);
    else released.add(hex);
  };

  /** The canonical subtree of `entries` (values not null) below `depth`. */
  const build = (entries: SmtChange[], depth: number): Uint8Array => {
    const live = entries.filter((e) => e.value !== null);
    if (live.length === 0) return EMPTY_HASH;
    if (live.length === 1) return make({ kind: "leaf", key: live[0]!.key, value: live[0]!.value! });
    const left = live.filter((e) => keyBit(e.key, depth) === 0);
    const right = live.filter((e) => keyBit(e.key, depth) === 1);
    return make({ kind: "internal", left: build(left, depth + 1), right: build(right, depth + 1) });
  };

  const update = (hash: Uint8Array, depth: number, entries: SmtChange[]): Uint8Array => {
    if (entries.length === 0) return hash;
    if (isEmpty(hash)) return build(entries, depth);
    const node = read(hash);
    if (node.kind === "leaf") {
      release(hash);
      const keyHex = toHex(node.key);
      const merged = entries.some((e) => toHex(e.key) === keyHex)
        ? entries
        : [...entries, { key: node.key, value: node.value }];
      return build(merged, depth);
    }
    release(hash);
    const left = update(
      node.left,
      depth + 1,
      entries.filter((e) => keyBit(e.key, depth) === 0),
    );
    const right = update(
      node.right,
      depth + 1,
      entries.filter((e) => keyBit(e.key, depth) === 1),
    );
    // Keep the tree canonical: a lone leaf (or nothing) rises to where its sibling is empty.
    if (isEmpty(left) && isEmpty(right)) return EMPTY_HASH;
    if (isEmpty(left) && read(right).kind === "leaf") return right;
    if (isEmpty(right) && read(left).kind === "leaf") return left;
    return make({ kind: "internal", left, right });
  };

  const newRoot = update(root, 0, sorted);
  return { root: newRoot, created, released };
}

/** A proof for one key: the siblings on its path, top down, and where the path ends. */
export interface SmtProof {
  siblings: Uint8Array[];
  /** The leaf the path ends in (the key's own, or another key's), or undefined for EMPTY. */
  leaf?: { key: Uint8Array; value: Uint8Array };
}

export function proveSmt(reader: SmtReader, root: Uint8Array, key: Uint8Array): SmtProof {
  const siblings: Uint8Array[] = [];
  let hash = root;
  for (let depth = 0; ; depth++) {
    if (isEmpty(hash)) return { siblings };
    const node = reader.node(hash);
    if (!node) throw new Error(`state tree node ${toHex(hash)} is missing`);
    if (node.kind === "leaf") return { siblings, leaf: { key: node.key, value: node.value } };
    const bit = keyBit(key, depth);
    siblings.push(bit === 0 ? node.right : node.left);
    hash = bit === 0 ? node.left : node.right;
  }
}

/**
 * Checks a proof against a root: the key's value when the proof shows it present, null when it
 * shows it absent; throws ValidationError (BadProof) when the proof does not lead to the root.
 */
export function verifySmtProof(
  root: Uint8Array,
  key: Uint8Array,
  proof: SmtProof,
): Uint8Array | null {
  if (key.length !== SMT_KEY_BYTES) return reject("BadProof", "a state key is 32 bytes");
  if (proof.siblings.length > 256) return reject("BadProof", "a path is at most 256 deep");
  const depth = proof.siblings.length;
  let hash: Uint8Array;
  let value: Uint8Array | null = null;
  if (!proof.leaf) {
    hash = EMPTY_HASH;
  } else {
    const leafKey = proof.leaf.key;
    if (leafKey.length !== SMT_KEY_BYTES) return reject("BadProof", "a leaf key is 32 bytes");
    // The leaf must stand on the key's path: it shares the path's prefix.
    for (let d = 0; d < depth; d++)
      if (keyBit(leafKey, d) !== keyBit(key, d))
        return reject("BadProof", "the proof's leaf is not on the key's path");
    hash = leafHash(leafKey, proof.leaf.value);
    if (equalBytes(leafKey, key)) value = proof.leaf.value;
  }
  for (let d = depth - 1; d >= 0; d--) {
    const sibling = proof.siblings[d]!;
    if (sibling.length !== 32) return reject("BadProof", "a sibling hash is 32 bytes");
    hash = keyBit(key, d) === 0 ? internalHash(hash, sibling) : internalHash(sibling, hash);
  }
  if (!equalBytes(hash, root)) return reject("BadProof", "the proof does not lead to the root");
  return value;
}

/** The root of a whole set, built from nothing (genesis, tests, vectors). */
export function smtRootOf(entries: readonly { key: Uint8Array; value: Uint8Array }[]): {
  root: Uint8Array;
  nodes: Map<string, SmtNode>;
} {
  const { root, created } = updateSmt({ node: () => undefined }, EMPTY_HASH, entries);
  return { root, nodes: created };
}
