import { bytesToBigInt, toHex } from "../core/bytes.js";
import { type Canonical, CborReader, decodeCanonical, encodeCanonical } from "../core/encoding.js";
import { type Address, encodeAddress, parseAddress } from "../core/keys.js";
import type { Account } from "../core/state.js";

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

export interface BlockInfo {
  height: number;
  parentHash: Uint8Array;
  /** Cumulative fork-choice score (engine.score): may outgrow 64 bits under PoW. */
  score: bigint;
  validity: Validity;
}

export interface TxLocation {
  blockHash: Uint8Array;
  index: number;
}

/** What a main-chain block changed: each account it touched as it was before (null: absent). */
export interface UndoData {
  accounts: [Address, Account | null][];
  /** Tokens the block minted (EXCHANGE amounts plus the block reward). */
  minted: bigint;
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

function accountItems(a: Account): Canonical {
  return [a.balance, a.stake, a.nonce];
}

function accountFromItems(items: unknown): Account {
  const r = CborReader.of(items, "account", 3);
  return { balance: r.u64(), stake: r.u64(), nonce: r.uint() };
}

export function encodeAccount(a: Account): Uint8Array {
  return encodeCanonical(accountItems(a));
}

export function decodeAccount(bytes: Uint8Array): Account {
  return decoded(bytes, "account", accountFromItems);
}

export function encodeBlockInfo(info: BlockInfo): Uint8Array {
  return encodeCanonical([
    info.height,
    info.parentHash,
    encodeBigUint(info.score),
    VALIDITIES.indexOf(info.validity),
  ]);
}

export function decodeBlockInfo(bytes: Uint8Array): BlockInfo {
  return decoded(bytes, "block info", (items) => {
    const r = CborReader.of(items, "block info", 4);
    const height = r.uint();
    const parentHash = r.bytes(32);
    const score = bytesToBigInt(r.bytes());
    const validity = VALIDITIES[r.uint()];
    if (!validity) throw new Error("unknown validity");
    return { height, parentHash, score, validity };
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
  ]);
}

export function decodeUndo(bytes: Uint8Array): UndoData {
  return decoded(bytes, "undo data", (items) => {
    const r = CborReader.of(items, "undo data", 2);
    const accounts = r.array().map((entry): [Address, Account | null] => {
      if (!Array.isArray(entry) || entry.length !== 2) throw new Error("bad undo entry");
      const address = CborReader.of([entry[0]], "undo address", 1).bytes(20);
      return [encodeAddress(address), entry[1] === null ? null : accountFromItems(entry[1])];
    });
    return { accounts, minted: bytesToBigInt(r.bytes()) };
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
