import { createHash, hash as oneShotHash } from "node:crypto";
import { compareBytes, equalBytes, toHex } from "./bytes.js";
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

// An internal node's hash is taggedHash("lotchain/smt-node/v1", left, right), computed in one
// shot over a reused buffer: the tree hashes twenty of them per changed account.
const NODE_PREFIX = new TextEncoder().encode("lotchain/smt-node/v1\0");
const nodeInput = new Uint8Array(NODE_PREFIX.length + 64);
nodeInput.set(NODE_PREFIX);
const hasOneShot = typeof oneShotHash === "function";

export function internalHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput.set(left, NODE_PREFIX.length);
  nodeInput.set(right, NODE_PREFIX.length + 32);
  if (hasOneShot) return new Uint8Array(oneShotHash("sha256", nodeInput, "buffer"));
  return new Uint8Array(createHash("sha256").update(nodeInput).digest());
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
 * Cost: the nodes on the changed keys' paths, O(changes · log n); the changes are sorted once,
 * so the keys below any node are a contiguous range split by one binary search.
 */
export function updateSmt(
  reader: SmtReader,
  root: Uint8Array,
  changes: readonly SmtChange[],
): SmtUpdate {
  const created = new Map<string, SmtNode>();
  const released = new Set<string>();
  for (const c of changes)
    if (c.key.length !== SMT_KEY_BYTES) throw new RangeError("state tree keys are 32 bytes");
  // Sorted by key; a later change of the same key wins.
  const sorted = [...changes]
    .map((c, i) => ({ c, i }))
    .sort((a, b) => compareBytes(a.c.key, b.c.key) || a.i - b.i)
    .map((x) => x.c)
    .filter((c, i, all) => i === all.length - 1 || !equalBytes(c.key, all[i + 1]!.key));

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
  /** The first index in [lo, hi) whose key has bit `depth` set (keys in range share the prefix). */
  const splitAt = (list: readonly SmtChange[], lo: number, hi: number, depth: number) => {
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (keyBit(list[mid]!.key, depth) === 0) a = mid + 1;
      else b = mid;
    }
    return a;
  };

  /** The canonical subtree of the live entries `list[lo..hi)` (sorted, values not null). */
  const build = (list: readonly SmtChange[], lo: number, hi: number, depth: number): Uint8Array => {
    if (hi - lo === 0) return EMPTY_HASH;
    if (hi - lo === 1) return make({ kind: "leaf", key: list[lo]!.key, value: list[lo]!.value! });
    const mid = splitAt(list, lo, hi, depth);
    return make({
      kind: "internal",
      left: build(list, lo, mid, depth + 1),
      right: build(list, mid, hi, depth + 1),
    });
  };

  const update = (hash: Uint8Array, depth: number, lo: number, hi: number): Uint8Array => {
    if (lo === hi) return hash;
    if (isEmpty(hash)) {
      const live = sorted.slice(lo, hi).filter((e) => e.value !== null);
      return build(live, 0, live.length, depth);
    }
    const node = read(hash);
    if (node.kind === "leaf") {
      release(hash);
      // The leaf's key joins the changes below it, unless one of them rewrites it.
      const live = sorted.slice(lo, hi);
      if (!live.some((e) => equalBytes(e.key, node.key))) {
        let at = 0;
        while (at < live.length && compareBytes(live[at]!.key, node.key) < 0) at++;
        live.splice(at, 0, { key: node.key, value: node.value });
      }
      const kept = live.filter((e) => e.value !== null);
      return build(kept, 0, kept.length, depth);
    }
    release(hash);
    const mid = splitAt(sorted, lo, hi, depth);
    const left = update(node.left, depth + 1, lo, mid);
    const right = update(node.right, depth + 1, mid, hi);
    // Keep the tree canonical: a lone leaf (or nothing) rises to where its sibling is empty.
    if (isEmpty(left) && isEmpty(right)) return EMPTY_HASH;
    if (isEmpty(left) && read(right).kind === "leaf") return right;
    if (isEmpty(right) && read(left).kind === "leaf") return left;
    return make({ kind: "internal", left, right });
  };

  const newRoot = update(root, 0, 0, sorted.length);
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
