import type { Block } from "../core/block.js";
import { type Address, parseAddress } from "../core/keys.js";
import type { Account } from "../core/state.js";
import type { Transaction } from "../core/transaction.js";
import {
  type BlockInfo,
  encodeAccount,
  encodeBigUintValue,
  encodeBlockInfo,
  encodeStateJournal,
  encodeStateNode,
  encodeTxLocation,
  encodeUint,
  encodeUndo,
  type StateJournal,
  type UndoData,
} from "./codec.js";
import {
  accountKey,
  accountTxKey,
  blockKey,
  childKey,
  forgedKey,
  hashBytes,
  heightKey,
  infoKey,
  metaKey,
  snapshotKey,
  stateJournalKey,
  stateNodeKey,
  txKey,
  undoKey,
  validatorsKey,
} from "./keys.js";

export type BatchOp =
  | { type: "put"; key: Uint8Array; value: Uint8Array }
  | { type: "del"; key: Uint8Array };

const EMPTY = new Uint8Array(0);

/** The account ids whose history a transaction belongs to: its sender and its receiver. */
function touched(tx: Transaction): Uint8Array[] {
  const sender = parseAddress(tx.sender);
  return tx.receiver === tx.sender ? [sender] : [sender, parseAddress(tx.receiver)];
}

/**
 * Everything one block import (or one reorganisation) writes, applied by `write()` as a single
 * LevelDB batch: after a crash the store holds either all of it or none of it. Operations apply
 * in the order they were added, so a later operation on the same key wins.
 */
export class StoreBatch {
  private readonly ops: BatchOp[] = [];

  constructor(private readonly commit: (ops: BatchOp[]) => Promise<void>) {}

  get size(): number {
    return this.ops.length;
  }

  private put(key: Uint8Array, value: Uint8Array): this {
    this.ops.push({ type: "put", key, value });
    return this;
  }

  private del(key: Uint8Array): this {
    this.ops.push({ type: "del", key });
    return this;
  }

  /** A new block: its bytes, its info and its link from the parent. */
  putBlock(block: Block, info: BlockInfo): this {
    this.put(blockKey(block.hash), block.encoded);
    this.put(infoKey(block.hash), encodeBlockInfo(info));
    return this.put(childKey(block.header.previousHash, block.hash), EMPTY);
  }

  /**
   * Deletes a side block for good (its branch fell below finality): its bytes, info, link from
   * the parent, its slot-and-forger index (PoS) and its snapshot record.
   */
  deleteBlock(
    hashHex: string,
    parentHash: Uint8Array,
    forged?: { slot: number; forger: Uint8Array },
  ): this {
    const hash = hashBytes(hashHex);
    this.del(blockKey(hash)).del(infoKey(hash)).del(childKey(parentHash, hash));
    if (forged) this.del(forgedKey(forged.slot, forged.forger, hash));
    return this.del(snapshotKey(hash));
  }

  /** Indexes a stored block under its slot and forger (PoS: the bound on equivocation). */
  indexForged(slot: number, forger: Uint8Array, hash: Uint8Array): this {
    return this.put(forgedKey(slot, forger, hash), EMPTY);
  }

  /** A state tree node (by hash hex) with its reference count (positive). */
  putStateNode(hash: string, encoded: Uint8Array, count: number): this {
    return this.put(stateNodeKey(hashBytes(hash)), encodeStateNode(encoded, count));
  }

  /** Deletes a state tree node (no kept tree holds it any more). */
  deleteStateNode(hash: string): this {
    return this.del(stateNodeKey(hashBytes(hash)));
  }

  putStateJournal(blockHash: string, journal: StateJournal): this {
    return this.put(stateJournalKey(hashBytes(blockHash)), encodeStateJournal(journal));
  }

  deleteStateJournal(blockHash: string): this {
    return this.del(stateJournalKey(hashBytes(blockHash)));
  }

  /** Records the id of the validator set of the state after a block. */
  putSnapshot(blockHash: string, setId: Uint8Array): this {
    return this.put(snapshotKey(hashBytes(blockHash)), setId);
  }

  /** A validator set's encoding, under its id (the hash of that encoding). */
  putValidatorSet(setId: Uint8Array, encoded: Uint8Array): this {
    return this.put(validatorsKey(setId), encoded);
  }

  /** Deletes a validator set no snapshot record points to any more. */
  deleteValidatorSet(setIdHex: string): this {
    return this.del(validatorsKey(hashBytes(setIdHex)));
  }

  /** Rewrites a stored block's info (its validity changes). */
  putBlockInfo(hash: string, info: BlockInfo): this {
    return this.put(infoKey(hashBytes(hash)), encodeBlockInfo(info));
  }

  setMainHash(height: number, hash: Uint8Array): this {
    return this.put(heightKey(height), hash);
  }

  deleteMainHash(height: number): this {
    return this.del(heightKey(height));
  }

  /**
   * Indexes a block's transactions as included on the main chain: by id, and in the history of
   * each address that sent or received one.
   */
  indexTransactions(block: Block): this {
    const height = block.header.height;
    block.transactions.forEach((tx, index) => {
      this.put(txKey(hashBytes(tx.id)), encodeTxLocation({ blockHash: block.hash, index }));
      for (const address of touched(tx)) this.put(accountTxKey(address, height, index), EMPTY);
    });
    return this;
  }

  /** Undoes indexTransactions (the block leaves the main chain). */
  unindexTransactions(block: Block): this {
    const height = block.header.height;
    block.transactions.forEach((tx, index) => {
      this.del(txKey(hashBytes(tx.id)));
      for (const address of touched(tx)) this.del(accountTxKey(address, height, index));
    });
    return this;
  }

  /** Writes an account of the head state; null removes it (it did not exist). */
  setAccount(address: Address, account: Account | null): this {
    const key = accountKey(parseAddress(address));
    return account ? this.put(key, encodeAccount(account)) : this.del(key);
  }

  putUndo(hash: Uint8Array, undo: UndoData): this {
    return this.put(undoKey(hash), encodeUndo(undo));
  }

  deleteUndo(hash: Uint8Array): this {
    return this.del(undoKey(hash));
  }

  setHead(hash: Uint8Array): this {
    return this.put(metaKey("head"), hash);
  }

  setMinted(minted: bigint): this {
    return this.put(metaKey("minted"), encodeBigUintValue(minted));
  }

  setBurned(burned: bigint): this {
    return this.put(metaKey("burned"), encodeBigUintValue(burned));
  }

  setGenesis(hash: Uint8Array, version: number): this {
    this.put(metaKey("version"), encodeUint(version));
    return this.put(metaKey("genesis"), hash);
  }

  async write(): Promise<void> {
    if (this.ops.length > 0) await this.commit(this.ops);
  }
}
