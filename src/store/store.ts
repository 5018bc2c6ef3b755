import { mkdir } from "node:fs/promises";
import type { AbstractLevel } from "abstract-level";
import { ClassicLevel } from "classic-level";
import { type Block, decodeBlock } from "../core/block.js";
import { toHex } from "../core/bytes.js";
import { type Address, encodeAddress } from "../core/keys.js";
import type { Account } from "../core/state.js";
import { StoreBatch } from "./batch.js";
import {
  type BlockInfo,
  decodeAccount,
  decodeBigUintValue,
  decodeBlockInfo,
  decodeStateJournal,
  decodeStateNode,
  decodeTxLocation,
  decodeUint,
  decodeUndo,
  hashHex,
  type StateJournal,
  StoreCorruptError,
  type UndoData,
} from "./codec.js";
import { GroupCommit } from "./group-commit.js";
import {
  accountTxKey,
  accountTxPrefix,
  blockKey,
  childPrefix,
  forgedPrefix,
  hashBytes,
  heightKey,
  infoKey,
  metaKey,
  pendingKey,
  prefixRange,
  snapshotKey,
  stateJournalKey,
  stateNodeKey,
  TABLE,
  tablePrefix,
  txKey,
  undoKey,
  validatorsKey,
} from "./keys.js";

/**
 * Version of the key layout and value encodings; a store of another version is refused.
 * 2: VRF randomness, epoch links in block info, snapshot and forged tables.
 * 3: the account-history table (X).
 * 4: evidence in blocks, unbonding and slashing in accounts, burned counter in undo and meta.
 */
export const STORE_VERSION = 4;

export interface StoreOptions {
  /**
   * fsync every batch. Batches are atomic either way, and a batch that resolved survives a
   * crash of the process (LevelDB has handed it to the OS); `sync` extends that to a crash of
   * the machine, at the price of one fsync per block.
   */
  sync?: boolean;
  /**
   * A database to use instead of LevelDB in the data directory: any abstract-level store with
   * synchronous reads (getSync), e.g. memory-level for simulations of many nodes in one process.
   * It is opened here and closed by close(); a closed memory-level keeps its entries, so one
   * instance can serve a node that stops and starts again.
   */
  database?: AbstractLevel<string | Buffer | Uint8Array, Uint8Array, Uint8Array>;
}

type Db = ClassicLevel<Uint8Array, Uint8Array>;

/**
 * The chain's persistent store over LevelDB (classic-level). Point reads are synchronous
 * (LevelDB's getSync, served from its caches) so that the chain can answer the engine's
 * synchronous header lookups; every write goes through one atomic StoreBatch.
 */
export class ChainStore {
  private constructor(
    private readonly db: Db,
    readonly location: string,
    private readonly sync: boolean,
  ) {}

  static async open(dataDir: string, options: StoreOptions = {}): Promise<ChainStore> {
    // The store uses only abstract-level's face (and `sync`, which other databases ignore).
    const db: Db =
      (options.database as unknown as Db | undefined) ??
      new ClassicLevel<Uint8Array, Uint8Array>(dataDir, {
        keyEncoding: "view",
        valueEncoding: "view",
      });
    if (!options.database) await mkdir(dataDir, { recursive: true });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
      throw new Error(`cannot open the store in ${dataDir}: ${cause}`);
    }
    return new ChainStore(db, dataDir, options.sync ?? false);
  }

  /** Closes the database; every batch written before is on disk (LevelDB flushes its log). */
  async close(): Promise<void> {
    if (this.db.status === "open") await this.db.close();
  }

  get isOpen(): boolean {
    return this.db.status === "open";
  }

  batch(): StoreBatch {
    return new StoreBatch((ops) => this.db.batch(ops, { sync: this.sync }));
  }

  private read(key: Uint8Array): Uint8Array | undefined {
    return this.db.getSync(key);
  }

  // ---- meta

  /** Layout version, or undefined for a new (empty) store. */
  version(): number | undefined {
    const v = this.read(metaKey("version"));
    return v === undefined ? undefined : decodeUint(v, "store version");
  }

  genesisHash(): string | undefined {
    const v = this.read(metaKey("genesis"));
    return v === undefined ? undefined : hashHex(v, "genesis hash");
  }

  headHash(): string | undefined {
    const v = this.read(metaKey("head"));
    return v === undefined ? undefined : hashHex(v, "head hash");
  }

  /** Tokens minted on the main chain since genesis (the supply counter). */
  minted(): bigint {
    const v = this.read(metaKey("minted"));
    return v === undefined ? 0n : decodeBigUintValue(v, "minted counter");
  }

  /** Tokens burned by slashing on the main chain since genesis. */
  burned(): bigint {
    const v = this.read(metaKey("burned"));
    return v === undefined ? 0n : decodeBigUintValue(v, "burned counter");
  }

  // ---- blocks

  hasBlock(hash: string): boolean {
    return this.read(infoKey(hashBytes(hash))) !== undefined;
  }

  blockInfo(hash: string): BlockInfo | undefined {
    const v = this.read(infoKey(hashBytes(hash)));
    return v === undefined ? undefined : decodeBlockInfo(v);
  }

  blockBytes(hash: string): Uint8Array | undefined {
    return this.read(blockKey(hashBytes(hash)));
  }

  /** A stored block, decoded (synchronously). */
  block(hash: string): Block | undefined {
    const bytes = this.blockBytes(hash);
    return bytes === undefined ? undefined : decodeStoredBlock(bytes, hash);
  }

  /** A stored block, read without blocking the event loop on the disk. */
  async readBlock(hash: string): Promise<Block | undefined> {
    const bytes = await this.db.get(blockKey(hashBytes(hash)));
    return bytes === undefined ? undefined : decodeStoredBlock(bytes, hash);
  }

  /** Hash of the main-chain block at a height. */
  mainHash(height: number): string | undefined {
    const v = this.read(heightKey(height));
    return v === undefined ? undefined : hashHex(v, "main-chain hash");
  }

  /** Main-chain hashes from `from`, in height order, at most `limit`. */
  async mainHashes(from: number, limit: number): Promise<string[]> {
    const out: string[] = [];
    if (limit <= 0) return out;
    const { lt } = prefixRange(tablePrefix(TABLE.height));
    for await (const value of this.db.values({ gte: heightKey(from), lt, limit })) {
      out.push(hashHex(value, "main-chain hash"));
    }
    return out;
  }

  /** Hashes of the stored children of a block (any branch, any validity). */
  async children(hash: string): Promise<string[]> {
    const prefix = childPrefix(hashBytes(hash));
    const out: string[] = [];
    for await (const key of this.db.keys(prefixRange(prefix))) {
      out.push(toHex(key.subarray(prefix.length)));
    }
    return out;
  }

  /** How many stored blocks name this forger for this slot, counting up to `limit`. */
  async countForged(slot: number, forger: Uint8Array, limit: number): Promise<number> {
    return (await this.forgedHashes(slot, forger, limit)).length;
  }

  /** Hashes (hex) of stored blocks naming this forger for this slot, at most `limit`. */
  async forgedHashes(slot: number, forger: Uint8Array, limit: number): Promise<string[]> {
    const out: string[] = [];
    const prefix = forgedPrefix(slot, forger);
    for await (const key of this.db.keys({ ...prefixRange(prefix), limit }))
      out.push(hashHex(key.subarray(prefix.length), "forged block key"));
    return out;
  }

  /** A stored state tree node: its reference count and encoding, by hash hex. */
  stateNode(hash: string): { count: number; encoded: Uint8Array } | undefined {
    const v = this.read(stateNodeKey(hashBytes(hash)));
    return v === undefined ? undefined : decodeStateNode(v);
  }

  stateJournal(blockHash: string): StateJournal | undefined {
    const v = this.read(stateJournalKey(hashBytes(blockHash)));
    return v === undefined ? undefined : decodeStateJournal(v);
  }

  /** The id of the validator set recorded for the state after a block, if any. */
  snapshotSetId(hash: string): Uint8Array | undefined {
    return this.read(snapshotKey(hashBytes(hash)));
  }

  /** A recorded validator set's encoding, by id. */
  validatorSetBytes(id: Uint8Array): Uint8Array | undefined {
    return this.read(validatorsKey(id));
  }

  /** Every snapshot record: block hash hex → id hex of its validator set (a full scan). */
  async snapshotSetIds(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for await (const [key, id] of this.db.iterator(prefixRange(tablePrefix(TABLE.snapshot))))
      out.set(hashHex(key.subarray(1), "snapshot key"), hashHex(id, "validator set id"));
    return out;
  }

  undo(hash: string): UndoData | undefined {
    const v = this.read(undoKey(hashBytes(hash)));
    return v === undefined ? undefined : decodeUndo(v);
  }

  /**
   * Every 32-byte key suffix of a table, as hex: the hashes of stored blocks, block infos, undo
   * data or recorded snapshots, or the ids of indexed transactions. A full scan, for integrity
   * checks.
   */
  async hashesOf(
    table:
      | "block"
      | "info"
      | "undo"
      | "tx"
      | "snapshot"
      | "validators"
      | "stateNode"
      | "stateJournal",
  ): Promise<string[]> {
    const out: string[] = [];
    for await (const key of this.db.keys(prefixRange(tablePrefix(TABLE[table])))) {
      out.push(hashHex(key.subarray(1), `${table} key`));
    }
    return out;
  }

  /** How many keys a table holds (a full scan, for integrity checks). */
  async tableSize(table: keyof typeof TABLE): Promise<number> {
    let count = 0;
    for await (const _ of this.db.keys(prefixRange(tablePrefix(TABLE[table])))) count++;
    return count;
  }

  // ---- transactions and accounts

  txLocation(txid: string): { blockHash: string; index: number } | undefined {
    const v = this.read(txKey(hashBytes(txid)));
    if (v === undefined) return undefined;
    const loc = decodeTxLocation(v);
    return { blockHash: toHex(loc.blockHash), index: loc.index };
  }

  /**
   * Where the main-chain transactions an address sent or received are, newest first: at most
   * `limit`, strictly before the position `before` (a height, and optionally an index in its
   * block) when given.
   */
  async accountHistory(
    address: Uint8Array,
    limit: number,
    before?: { height: number; index?: number },
  ): Promise<{ height: number; index: number }[]> {
    const prefix = accountTxPrefix(address);
    const range = prefixRange(prefix);
    const lt = before ? accountTxKey(address, before.height, before.index ?? 0) : range.lt;
    const out: { height: number; index: number }[] = [];
    if (limit <= 0) return out;
    for await (const key of this.db.keys({ gte: range.gte, lt, reverse: true, limit })) {
      if (key.length !== prefix.length + 12)
        throw new StoreCorruptError("account history key is not 33 bytes");
      const view = new DataView(key.buffer, key.byteOffset + prefix.length, 12);
      out.push({ height: Number(view.getBigUint64(0)), index: view.getUint32(8) });
    }
    return out;
  }

  // ---- the pending-transaction journal: what the node acknowledged survives kill -9

  /** Writes acknowledged transactions; resolves once LevelDB has them (before the API answers). */
  putPending(txs: readonly { id: string; encoded: Uint8Array }[]): Promise<void> {
    return this.journal.add(
      txs.map((tx) => ({
        type: "put" as const,
        key: pendingKey(hashBytes(tx.id)),
        value: tx.encoded,
      })),
    );
  }

  private readonly journal = new GroupCommit<{ type: "put"; key: Uint8Array; value: Uint8Array }>(
    (ops) => this.db.batch(ops, { sync: this.sync }),
  );

  async deletePending(ids: readonly string[]): Promise<void> {
    if (ids.length === 0 || !this.isOpen) return;
    await this.db.batch(
      ids.map((id) => ({ type: "del" as const, key: pendingKey(hashBytes(id)) })),
    );
  }

  /** Every journaled transaction, as stored bytes (the caller decodes and re-validates them). */
  async loadPending(): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for await (const value of this.db.values(prefixRange(tablePrefix(TABLE.pending))))
      out.push(value);
    return out;
  }

  /** Every account of the head state (loaded once at open: the head state lives in memory). */
  async loadAccounts(): Promise<Map<Address, Account>> {
    const accounts = new Map<Address, Account>();
    const prefix = tablePrefix(TABLE.account);
    for await (const [key, value] of this.db.iterator(prefixRange(prefix))) {
      if (key.length !== 21) throw new StoreCorruptError("stored account key is not 20 bytes");
      accounts.set(encodeAddress(key.subarray(1)), decodeAccount(value));
    }
    return accounts;
  }
}

function decodeStoredBlock(bytes: Uint8Array, hash: string): Block {
  let block: Block;
  try {
    block = decodeBlock(bytes);
  } catch (e) {
    throw new StoreCorruptError(`stored block ${hash} does not decode: ${(e as Error).message}`);
  }
  if (block.hashHex !== hash) throw new StoreCorruptError(`stored block ${hash} has another hash`);
  return block;
}
