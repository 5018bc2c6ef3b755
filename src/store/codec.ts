import { bytesToBigInt, toHex } from "../core/bytes.js";
import { type Canonical, CborReader, decodeCanonical, encodeCanonical } from "../core/encoding.js";
import { type Address, encodeAddress, parseAddress } from "../core/keys.js";
import { type Account, accountFromItems, accountItems, encodeAccount } from "../core/state.js";

/** Values of the store, as canonical CBOR arrays (positional, like every consensus object). */

/** Thrown when stored bytes do not decode: the data directory is damaged, not the input. */
export class StoreCorruptError extends Error {
  override readonly name = "StoreCorruptError";
}

/**
 * "unknown": stored on a side branch, never connected; "valid": connected once with every rule
 * checked (validity of a block never changes, since its ancestry is fixed by its hash);
 * "invalid": failed, or descends from a block that failed.
 */
export type Validity = "unknown" | "valid" | "invalid";
const VALIDITIES: readonly Validity[] = ["unknown", "valid", "invalid"];

/**
 * The consensus engine's per-block link (consensus/engine.ts EpochLink): what a PoS block
 * carries forward to its children. Four 32-byte values.
 */
export interface StoredEpochLink {
  nonce: Uint8Array;
  accumulator: Uint8Array;
  snapshot: Uint8Array;
  lastBeforeEpoch: Uint8Array;
}

export interface BlockInfo {
  height: number;
  parentHash: Uint8Array;
  /** Cumulative fork-choice score (engine.score): may outgrow 64 bits under PoW. */
  score: bigint;
  validity: Validity;
  /** PoS: the block's epoch link, derived from its parent's when it was stored; PoW: none. */
  link?: StoredEpochLink | undefined;
}

/** A validator set as stored: (address, stake) in address order, stake > 0. */
export type StoredValidators = readonly { address: Address; stake: bigint }[];

export interface TxLocation {
  blockHash: Uint8Array;
  index: number;
}

/** What a main-chain block changed: each account it touched as it was before (null: absent). */
export interface UndoData {
  accounts: [Address, Account | null][];
  /** Tokens the block minted (EXCHANGE amounts plus the block reward). */
  minted: bigint;
  /** Tokens the block burned (slashed and not paid to the reporter). */
  burned: bigint;
}

/**
 * The state journal of a main-chain block (src/chain/state-tree.ts): hashes (hex) of the tree
 * nodes it added and of those it dropped from its parent's tree.
 */
export interface StateJournal {
  created: string[];
  released: string[];
}

const concatHashes = (hexes: readonly string[]) => {
  const out = new Uint8Array(hexes.length * 32);
  hexes.forEach((h, i) => {
    out.set(Buffer.from(h, "hex"), i * 32);
  });
  return out;
};

const splitHashes = (bytes: Uint8Array): string[] => {
  if (bytes.length % 32 !== 0) throw new Error("not a list of 32-byte hashes");
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 32) out.push(toHex(bytes.subarray(i, i + 32)));
  return out;
};

/** A stored state tree node: its reference count (4 bytes, big-endian), then its encoding. */
export function encodeStateNode(encoded: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(4 + encoded.length);
  new DataView(out.buffer).setUint32(0, count);
  out.set(encoded, 4);
  return out;
}

export function decodeStateNode(bytes: Uint8Array): { count: number; encoded: Uint8Array } {
  if (bytes.length < 5) throw new StoreCorruptError("stored state tree node is too short");
  const count = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  return { count, encoded: bytes.subarray(4) };
}

export function encodeStateJournal(journal: StateJournal): Uint8Array {
  return encodeCanonical([concatHashes(journal.created), concatHashes(journal.released)]);
}

export function decodeStateJournal(bytes: Uint8Array): StateJournal {
  return decoded(bytes, "state journal", (items) => {
    const r = CborReader.of(items, "state journal", 2);
    return { created: splitHashes(r.bytes()), released: splitHashes(r.bytes()) };
  });
}

/** Unbounded non-negative integers as minimal big-endian bytes (cborg caps integers at 64 bits). */
export function encodeBigUint(value: bigint): Uint8Array {
  if (value < 0n) throw new RangeError("negative value");
  if (value === 0n) return new Uint8Array(0);
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function decoded<T>(bytes: Uint8Array, what: string, read: (items: unknown) => T): T {
  try {
    return read(decodeCanonical(bytes, what));
  } catch (e) {
    throw new StoreCorruptError(`stored ${what} does not decode: ${(e as Error).message}`);
  }
}

export { encodeAccount };

export function decodeAccount(bytes: Uint8Array): Account {
  return decoded(bytes, "account", accountFromItems);
}

export function encodeBlockInfo(info: BlockInfo): Uint8Array {
  const items: Canonical[] = [
    info.height,
    info.parentHash,
    encodeBigUint(info.score),
    VALIDITIES.indexOf(info.validity),
  ];
  const link = info.link;
  if (link) items.push([link.nonce, link.accumulator, link.snapshot, link.lastBeforeEpoch]);
  return encodeCanonical(items);
}

export function decodeBlockInfo(bytes: Uint8Array): BlockInfo {
  return decoded(bytes, "block info", (items) => {
    const hasLink = Array.isArray(items) && items.length === 5;
    const r = CborReader.of(items, "block info", hasLink ? 5 : 4);
    const height = r.uint();
    const parentHash = r.bytes(32);
    const score = bytesToBigInt(r.bytes());
    const validity = VALIDITIES[r.uint()];
    if (!validity) throw new Error("unknown validity");
    if (!hasLink) return { height, parentHash, score, validity };
    const l = CborReader.of(r.array(), "epoch link", 4);
    const link = {
      nonce: l.bytes(32),
      accumulator: l.bytes(32),
      snapshot: l.bytes(32),
      lastBeforeEpoch: l.bytes(32),
    };
    return { height, parentHash, score, validity, link };
  });
}

/** A validator set: [[account id (20 bytes), stake], ...] in address order. */
export function encodeValidators(validators: StoredValidators): Uint8Array {
  return encodeCanonical(validators.map((v) => [parseAddress(v.address), v.stake]));
}

export function decodeValidators(bytes: Uint8Array): { address: Address; stake: bigint }[] {
  return decoded(bytes, "validator set", (items) => {
    if (!Array.isArray(items)) throw new Error("expected an array");
    return items.map((entry) => {
      const r = CborReader.of(entry, "validator", 2);
      return { address: encodeAddress(r.bytes(20)), stake: r.u64() };
    });
  });
}

export function encodeTxLocation(loc: TxLocation): Uint8Array {
  return encodeCanonical([loc.blockHash, loc.index]);
}

export function decodeTxLocation(bytes: Uint8Array): TxLocation {
  return decoded(bytes, "transaction location", (items) => {
    const r = CborReader.of(items, "transaction location", 2);
    return { blockHash: r.bytes(32), index: r.uint() };
  });
}

export function encodeUndo(undo: UndoData): Uint8Array {
  return encodeCanonical([
    undo.accounts.map(([address, before]) => [
      parseAddress(address),
      before ? accountItems(before) : null,
    ]),
    encodeBigUint(undo.minted),
    encodeBigUint(undo.burned),
  ]);
}

export function decodeUndo(bytes: Uint8Array): UndoData {
  return decoded(bytes, "undo data", (items) => {
    const r = CborReader.of(items, "undo data", 3);
    const accounts = r.array().map((entry): [Address, Account | null] => {
      if (!Array.isArray(entry) || entry.length !== 2) throw new Error("bad undo entry");
      const address = CborReader.of([entry[0]], "undo address", 1).bytes(20);
      return [encodeAddress(address), entry[1] === null ? null : accountFromItems(entry[1])];
    });
    return { accounts, minted: bytesToBigInt(r.bytes()), burned: bytesToBigInt(r.bytes()) };
  });
}

export function encodeBigUintValue(value: bigint): Uint8Array {
  return encodeCanonical(encodeBigUint(value));
}

export function decodeBigUintValue(bytes: Uint8Array, what: string): bigint {
  return decoded(bytes, what, (item) => {
    if (!(item instanceof Uint8Array)) throw new Error("expected bytes");
    return bytesToBigInt(item);
  });
}

export function encodeUint(value: number): Uint8Array {
  return encodeCanonical(value);
}

export function decodeUint(bytes: Uint8Array, what: string): number {
  return decoded(bytes, what, (item) => {
    if (typeof item !== "number" || !Number.isSafeInteger(item) || item < 0)
      throw new Error("expected an unsigned integer");
    return item;
  });
}

/** Hex of a stored 32-byte hash, checked. */
export function hashHex(bytes: Uint8Array, what: string): string {
  if (bytes.length !== 32) throw new StoreCorruptError(`stored ${what} is not a 32-byte hash`);
  return toHex(bytes);
}
