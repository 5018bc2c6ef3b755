/**
 * The LevelDB key layout. Every key starts with one ASCII byte naming its table, followed by
 * fixed-width binary parts, so that a table is one contiguous key range and big-endian heights
 * sort numerically. This file and store.ts are the only code that knows it.
 *
 *   B <hash:32>                 → block, canonical encoding (every stored block, any branch)
 *   I <hash:32>                 → block info: height, parent hash, cumulative score, validity
 *   C <parent:32> <child:32>    → (empty) children of a block, to reach descendants
 *   H <height:8>                → hash of the main-chain block at that height
 *   T <txid:32>                 → block hash and position of a transaction (main chain only)
 *   A <address:20>              → account of the head state: balance, stake, nonce
 *   U <hash:32>                 → undo data of a main-chain block: accounts before it, minted,
 *                                 burned
 *   M <name>                    → meta: "version", "genesis", "head", "minted", "burned"
 *   P <txid:32>                 → a pending transaction the node acknowledged (canonical encoding),
 *                                 until a block includes it or the mempool lets it go
 *   S <hash:32>                 → id of the validator set of the state after that block (PoS: a
 *                                 block whose child started an epoch, a possible snapshot)
 *   V <id:32>                   → a validator set, by the hash of its encoding (deduplicated)
 *   F <slot:8> <forger:32> <hash:32> → (empty) stored blocks by slot and forger (PoS)
 *   X <address:20> <height:8> <index:4> → (empty) a main-chain transaction that an address sent or
 *                                 received, by height and position in its block (the account's
 *                                 history, read backwards for newest first)
 *   N <hash:32>                 → a state tree node by its hash: its reference count (4 bytes,
 *                                 big-endian; src/chain/state-tree.ts) then its encoding
 *                                 (src/core/smt.ts)
 *   J <hash:32>                 → the state journal of a main-chain block: the tree nodes it added
 *                                 and the nodes it dropped from its parent's tree, until it is final
 */
export const TABLE = {
  block: 0x42, // B
  info: 0x49, // I
  child: 0x43, // C
  height: 0x48, // H
  tx: 0x54, // T
  account: 0x41, // A
  undo: 0x55, // U
  meta: 0x4d, // M
  pending: 0x50, // P
  snapshot: 0x53, // S
  validators: 0x56, // V
  forged: 0x46, // F
  accountTx: 0x58, // X
  stateNode: 0x4e, // N
  stateJournal: 0x4a, // J
} as const;

export type MetaName = "version" | "genesis" | "head" | "minted" | "burned";

function withPrefix(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  let length = 1;
  for (const p of parts) length += p.length;
  const key = new Uint8Array(length);
  key[0] = prefix;
  let offset = 1;
  for (const p of parts) {
    key.set(p, offset);
    offset += p.length;
  }
  return key;
}

/** The bytes of a 64-hex-digit hash (Buffer's decoder stops at the first non-hex digit). */
export function hashBytes(hashHex: string): Uint8Array {
  const bytes = Buffer.from(hashHex, "hex");
  if (hashHex.length !== 64 || bytes.length !== 32)
    throw new TypeError(`not a 32-byte hash: ${hashHex.slice(0, 80)}`);
  return bytes;
}

export function heightBytes(height: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(height));
  return out;
}

export const blockKey = (hash: Uint8Array) => withPrefix(TABLE.block, hash);
export const infoKey = (hash: Uint8Array) => withPrefix(TABLE.info, hash);
export const childKey = (parent: Uint8Array, child: Uint8Array) =>
  withPrefix(TABLE.child, parent, child);
export const heightKey = (height: number) => withPrefix(TABLE.height, heightBytes(height));
export const txKey = (txid: Uint8Array) => withPrefix(TABLE.tx, txid);
export const accountKey = (address: Uint8Array) => withPrefix(TABLE.account, address);
export const undoKey = (hash: Uint8Array) => withPrefix(TABLE.undo, hash);
export const pendingKey = (txid: Uint8Array) => withPrefix(TABLE.pending, txid);
export const stateNodeKey = (hash: Uint8Array) => withPrefix(TABLE.stateNode, hash);
export const stateJournalKey = (hash: Uint8Array) => withPrefix(TABLE.stateJournal, hash);
export const snapshotKey = (hash: Uint8Array) => withPrefix(TABLE.snapshot, hash);
export const validatorsKey = (id: Uint8Array) => withPrefix(TABLE.validators, id);
export const forgedPrefix = (slot: number, forger: Uint8Array) =>
  withPrefix(TABLE.forged, heightBytes(slot), forger);
export const forgedKey = (slot: number, forger: Uint8Array, hash: Uint8Array) =>
  withPrefix(TABLE.forged, heightBytes(slot), forger, hash);
export const accountTxPrefix = (address: Uint8Array) => withPrefix(TABLE.accountTx, address);
export function accountTxKey(address: Uint8Array, height: number, index: number): Uint8Array {
  const position = new Uint8Array(4);
  new DataView(position.buffer).setUint32(0, index);
  return withPrefix(TABLE.accountTx, address, heightBytes(height), position);
}
export const metaKey = (name: MetaName) => withPrefix(TABLE.meta, new TextEncoder().encode(name));

/** Key range [gte, lt) of every key that starts with `prefix` (a table, or a table and a parent). */
export function prefixRange(prefix: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  const lt = prefix.slice();
  // The smallest key above every key with this prefix: the prefix plus one, with carry (a
  // parent hash may end in 0xff bytes).
  let i = lt.length - 1;
  while (i >= 0 && lt[i] === 0xff) {
    lt[i] = 0;
    i--;
  }
  if (i >= 0) lt[i] = lt[i]! + 1;
  return { gte: prefix, lt };
}

export const childPrefix = (parent: Uint8Array) => withPrefix(TABLE.child, parent);
export const tablePrefix = (table: number) => Uint8Array.of(table);
