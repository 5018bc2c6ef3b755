import { toHex } from "../core/bytes.js";
import type { Address } from "../core/keys.js";
import {
  decodeSmtNode,
  encodeSmtNode,
  type SmtChange,
  type SmtNode,
  type SmtReader,
  type SmtUpdate,
  updateSmt,
} from "../core/smt.js";
import { type Account, encodeAccount, stateKey } from "../core/state.js";
import type { StoreBatch } from "../store/batch.js";
import type { StateJournal } from "../store/codec.js";
import type { ChainStore } from "../store/store.js";
import { LruCache } from "./lru.js";

/**
 * The state tree on the store (src/core/smt.ts has the tree itself): its nodes live in LevelDB by
 * hash, with a reference count, and each main-chain block keeps a journal of the nodes it added
 * and the nodes it dropped from its parent's tree.
 *
 * Which trees are kept: those of every main-chain block from the finalized height up (a
 * reorganisation may return to any of them). A node's count is the number of those trees'
 * blocks that added it and have not yet handed it back:
 *   - connecting a block adds one to each node it added;
 *   - reverting a block (a reorganisation) takes one from each node it added, and forgets its
 *     journal (what it dropped is still in its parent's tree);
 *   - once a block is final, its parent's tree can no longer come back, so the nodes the block
 *     dropped from it lose one, and the journal goes.
 * A node whose count reaches zero is deleted. All of it is written in the block's own batch.
 */

/** Tree changes from account changes (null: the account is gone, e.g. a revert of its creation). */
export function stateChanges(changes: Iterable<[Address, Account | null]>): SmtChange[] {
  const out: SmtChange[] = [];
  for (const [address, account] of changes)
    out.push({ key: stateKey(address), value: account ? encodeAccount(account) : null });
  return out;
}

/** Decoded nodes kept in memory: the upper levels are read by every block. */
const NODE_CACHE = 200_000;

export class StateTree implements SmtReader {
  private readonly cache = new LruCache<string, SmtNode>(NODE_CACHE);

  constructor(private readonly store: ChainStore) {}

  node(hash: Uint8Array): SmtNode | undefined {
    const hex = toHex(hash);
    const cached = this.cache.get(hex);
    if (cached) return cached;
    const stored = this.store.stateNode(hex);
    if (!stored) return undefined;
    const node = decodeSmtNode(stored.encoded);
    this.cache.set(hex, node);
    return node;
  }

  /** A reader that sees `pending` (nodes made by an unwritten batch) before the store. */
  withPending(pending: ReadonlyMap<string, SmtNode>): SmtReader {
    return { node: (hash) => pending.get(toHex(hash)) ?? this.node(hash) };
  }

  /** The root after changing `accounts` in the tree under `root` (nothing is written). */
  rootAfter(
    root: Uint8Array,
    accounts: Iterable<[Address, Account | null]>,
    pending: ReadonlyMap<string, SmtNode> = new Map(),
  ): SmtUpdate {
    return updateSmt(this.withPending(pending), root, stateChanges(accounts));
  }

  /** Forgets cached nodes a written batch deleted. */
  forget(hashes: Iterable<string>): void {
    for (const hex of hashes) this.cache.delete(hex);
  }

  /** Starts the bookkeeping of one connection (reverts, applies, finalizations). */
  writer(): TreeWriter {
    return new TreeWriter(this, this.store);
  }
}

/**
 * The tree changes of one connection, gathered in memory and written with its batch: nodes made
 * (readable before they are written), reference count changes, journals written and removed.
 */
export class TreeWriter {
  /** Nodes made by this connection, by hash. */
  readonly pending = new Map<string, SmtNode>();
  private readonly delta = new Map<string, number>();
  private readonly journals = new Map<string, StateJournal | null>();

  constructor(
    private readonly tree: StateTree,
    private readonly store: ChainStore,
  ) {}

  get reader(): SmtReader {
    return this.tree.withPending(this.pending);
  }

  /** A block connected with this tree update. */
  applied(blockHash: string, update: SmtUpdate): void {
    for (const [hex, node] of update.created) {
      this.pending.set(hex, node);
      this.add(hex, 1);
    }
    this.journals.set(blockHash, {
      created: [...update.created.keys()],
      released: [...update.released],
    });
  }

  /** A block reverted: its nodes lose the count it gave them. */
  reverted(blockHash: string): void {
    for (const hex of this.journal(blockHash).created) this.add(hex, -1);
    this.journals.set(blockHash, null);
  }

  /** A block became final: the nodes it dropped from its parent's tree are handed back. */
  finalized(blockHash: string): void {
    for (const hex of this.journal(blockHash).released) this.add(hex, -1);
    this.journals.set(blockHash, null);
  }

  private journal(blockHash: string): StateJournal {
    const pending = this.journals.get(blockHash);
    if (pending) return pending;
    const stored = pending === null ? undefined : this.store.stateJournal(blockHash);
    // A block connected before journals existed, or the genesis block: nothing to hand back.
    return stored ?? { created: [], released: [] };
  }

  private add(hex: string, n: number): void {
    this.delta.set(hex, (this.delta.get(hex) ?? 0) + n);
  }

  /** Adds everything to the batch; returns the hashes of nodes deleted. */
  write(batch: StoreBatch): string[] {
    const deleted: string[] = [];
    for (const [hex, n] of this.delta) {
      if (n === 0) continue;
      const stored = this.store.stateNode(hex);
      const count = (stored?.count ?? 0) + n;
      if (count <= 0) {
        // Made and unmade by this very connection: never written.
        if (!stored) continue;
        batch.deleteStateNode(hex);
        deleted.push(hex);
        continue;
      }
      let encoded = stored?.encoded;
      if (!encoded) {
        const node = this.pending.get(hex);
        if (!node) throw new Error(`state tree node ${hex} gains a count but was never made`);
        encoded = encodeSmtNode(node);
      }
      batch.putStateNode(hex, encoded, count);
    }
    for (const [blockHash, journal] of this.journals) {
      if (journal) batch.putStateJournal(blockHash, journal);
      else batch.deleteStateJournal(blockHash);
    }
    return deleted;
  }
}
