import { EventEmitter } from "node:events";
import type { Engine, EpochLottery, HeadInfo, ValidatorSet } from "../consensus/engine.js";
import type { Block, BlockHeader } from "../core/block.js";
import { equalBytes, toHex } from "../core/bytes.js";
import { reject } from "../core/errors.js";
import { type Genesis, genesisSupply, ledgerParams } from "../core/genesis.js";
import { type Address, parseAddress } from "../core/keys.js";
import { proveSmt, type SmtProof } from "../core/smt.js";
import {
  type Account,
  type AccountReader,
  applyBlockTransactions,
  type BlockBody,
  decodeAccount,
  type LedgerParams,
  settleAccount,
  stateKey,
  totalSupply,
} from "../core/state.js";
import type { Transaction } from "../core/transaction.js";
import type { ChainStore, StoreOptions } from "../store/store.js";
import type { HeadState } from "./account-state.js";
import { BlockSource } from "./block-source.js";
import {
  type ChainEventMap,
  type ChainHead,
  type ChainLogger,
  type ImportResult,
  SILENT_LOGGER,
} from "./chain-events.js";
import { BlockImporter } from "./chain-import.js";
import { openChainStore } from "./chain-open.js";
import { DEFAULT_ORPHAN_LIMITS, OrphanPool, type OrphanPoolLimits } from "./orphan-pool.js";
import { SerialQueue } from "./serial-queue.js";
import { SignatureCache } from "./signatures.js";
import { SnapshotBook } from "./snapshots.js";
import { StateTree } from "./state-tree.js";

export type {
  BlockEvent,
  ChainEventMap,
  ChainHead,
  ChainLogger,
  HeadEvent,
  ImportResult,
  ImportStatus,
  ReorgEvent,
} from "./chain-events.js";

export interface ChainOptions {
  dataDir: string;
  genesis: Genesis;
  engine: Engine;
  logger?: ChainLogger;
  /** Wall clock in ms, for the engine's time rules (tests pass their own). */
  now?: () => number;
  /**
   * The node's signature cache, shared with the mempool: signatures verified on admission are
   * not verified again on import, and new ones are verified in its worker pool (default: a
   * cache of its own that verifies on this thread).
   */
  signatures?: SignatureCache;
  orphanLimits?: OrphanPoolLimits;
  /** fsync every batch (see StoreOptions.sync). */
  sync?: boolean;
  /** Another abstract-level database instead of LevelDB in dataDir (see StoreOptions.database). */
  database?: StoreOptions["database"];
}

export interface IncludedTransaction {
  tx: Transaction;
  height: number;
  blockHash: string;
  index: number;
}

const HASH_RE = /^[0-9a-f]{64}$/;
const HEIGHT_RE = /^(0|[1-9][0-9]{0,15})$/;

/**
 * The chain: a tree of stored blocks, the best branch of which is the main chain, whose head
 * state lives in memory. Blocks are imported one at a time; each import (or reorganisation)
 * reaches the store as one atomic batch, and only then the memory and the events.
 */
/** An account and its proof against a block's state root (GET /v1/accounts/{address}/proof). */
export interface AccountProof {
  account: Account | undefined;
  height: number;
  blockHash: string;
  stateRoot: Uint8Array;
  key: Uint8Array;
  proof: SmtProof;
}

export class Chain extends EventEmitter<ChainEventMap> {
  readonly signatures: SignatureCache;
  readonly genesisHash: string;
  readonly params: LedgerParams;
  private readonly queue = new SerialQueue();
  private readonly blocks: BlockSource;
  private readonly orphans: OrphanPool;
  private readonly snapshots: SnapshotBook;
  /** The state tree (account proofs, state roots of new blocks). */
  private readonly tree: StateTree;
  private readonly importer: BlockImporter;
  private readonly log: ChainLogger;
  private readonly now: () => number;
  private closed = false;

  private constructor(
    readonly genesis: Genesis,
    readonly engine: Engine,
    private readonly store: ChainStore,
    private readonly state: HeadState,
    head: ChainHead,
    genesisBlock: Block,
    options: ChainOptions,
  ) {
    super();
    this.genesisHash = genesisBlock.hashHex;
    this.params = ledgerParams(genesis);
    this.blocks = new BlockSource(store);
    this.blocks.remember(genesisBlock);
    this.orphans = new OrphanPool(options.orphanLimits ?? DEFAULT_ORPHAN_LIMITS);
    this.snapshots = new SnapshotBook(store);
    this.tree = new StateTree(store);
    this.log = options.logger ?? SILENT_LOGGER;
    this.now = options.now ?? Date.now;
    this.signatures = options.signatures ?? new SignatureCache();
    this.importer = new BlockImporter(
      {
        chainId: genesis.chainId,
        store,
        blocks: this.blocks,
        state,
        engine,
        params: this.params,
        orphans: this.orphans,
        snapshots: this.snapshots,
        tree: this.tree,
        log: this.log,
        now: this.now,
        signatures: this.signatures,
        emit: (event, ...args) => this.emitSafely(event, ...args),
      },
      head,
    );
  }

  /** Opens (or creates) the chain in `dataDir`; see openChainStore for the checks. */
  static async open(options: ChainOptions): Promise<Chain> {
    const { genesis, engine } = options;
    if (engine.type !== genesis.consensus.type)
      throw new Error(`engine ${engine.type} does not run a ${genesis.consensus.type} genesis`);
    const opened = await openChainStore(options.dataDir, genesis, engine, {
      sync: options.sync,
      database: options.database,
    });
    const chain = new Chain(
      genesis,
      engine,
      opened.store,
      opened.state,
      opened.head,
      opened.genesis,
      options,
    );
    chain.blocks.remember(opened.headBlock);
    await chain.snapshots.load();
    chain.log.debug(
      { height: opened.head.height, head: opened.head.hashHex, dataDir: options.dataDir },
      "chain opened",
    );
    return chain;
  }

  /** Waits for the running import, then closes the store (every acknowledged block is on disk). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.idle();
    await this.store.close();
  }

  // ------------------------------------------------- pending-transaction journal

  /**
   * Persists transactions the node is about to acknowledge, so that a node killed with SIGKILL
   * still has them on restart (the mempool itself lives in memory).
   */
  journalPending(txs: readonly Transaction[]): Promise<void> {
    return this.store.putPending(txs);
  }

  /** Forgets journaled transactions that were included, evicted, expired or dropped. */
  forgetPending(ids: readonly string[]): Promise<void> {
    return this.closed ? Promise.resolve() : this.store.deletePending(ids);
  }

  /** The journaled transactions, as stored bytes, for the node to re-admit at start. */
  loadPending(): Promise<Uint8Array[]> {
    return this.store.loadPending();
  }

  // ---------------------------------------------------------------- import

  /**
   * Imports a block: resolves with where it went, or rejects with a ValidationError (named
   * code) and changes nothing. Imports run one at a time, in call order.
   */
  /** Imports queued or running: the network sheds gossip while this is high (back-pressure). */
  get importBacklog(): number {
    return this.queue.pending;
  }

  /**
   * Starts verifying, in the worker pool, the signatures of blocks about to be imported one
   * after another (a range sync fetched): block by block, so the first ones are ready first, and
   * verification overlaps the imports. Their imports find them cached.
   */
  prefetchSignatures(blocks: readonly Block[]): void {
    for (const block of blocks) void this.signatures.prepare(block.transactions);
  }

  importBlock(block: Block): Promise<ImportResult> {
    // Behind other imports (a synced range, a burst of gossip): its new signatures are checked
    // in the worker pool meanwhile, so that verification overlaps the imports before it.
    if (this.queue.pending > 0) void this.signatures.prepare(block.transactions);
    return this.queue.run(async () => {
      if (this.closed) throw new Error("the chain is closed");
      return this.importer.importBlock(block);
    });
  }

  /** A listener's failure must not undo or interrupt an import that is already on disk. */
  private emitSafely<K extends keyof ChainEventMap>(event: K, ...args: ChainEventMap[K]): void {
    try {
      (this.emit as (e: K, ...a: ChainEventMap[K]) => boolean)(event, ...args);
    } catch (e) {
      this.log.warn({ event, err: (e as Error).message }, "chain event listener failed");
    }
  }

  // ---------------------------------------------------------------- queries

  get head(): ChainHead {
    return this.importer.head;
  }

  /** Height at and below which no reorganisation reaches. */
  get finalizedHeight(): number {
    return this.importer.finalizedHeight;
  }

  /** Number of blocks waiting for their parent. */
  get orphanCount(): number {
    return this.orphans.size;
  }

  /**
   * A block by height (number or decimal string; main chain), hash (64 hex digits; any stored
   * block), or "head", "genesis", "finalized". Undefined when there is none; Malformed when the
   * id is none of these.
   */
  async getBlock(id: string | number): Promise<Block | undefined> {
    if (typeof id === "number") return this.getBlockAtHeight(id);
    if (id === "head") return this.blocks.read(this.head.hashHex);
    if (id === "genesis") return this.blocks.read(this.genesisHash);
    if (id === "finalized") return this.getBlockAtHeight(this.finalizedHeight);
    if (HEIGHT_RE.test(id)) return this.getBlockAtHeight(Number(id));
    if (HASH_RE.test(id.toLowerCase())) return this.getBlockByHash(id.toLowerCase());
    return reject(
      "Malformed",
      "block id must be a height, a block hash, head, genesis or finalized",
    );
  }

  private async getBlockAtHeight(height: number): Promise<Block | undefined> {
    if (!Number.isSafeInteger(height) || height < 0 || height > this.head.height) return undefined;
    const hash = this.store.mainHash(height);
    return hash === undefined ? undefined : this.blocks.read(hash);
  }

  async getBlockByHash(hash: string): Promise<Block | undefined> {
    return HASH_RE.test(hash) ? this.blocks.read(hash) : undefined;
  }

  /** Main-chain blocks from height `from`, in height order, at most `limit`. */
  async getBlocks(from: number, limit: number): Promise<Block[]> {
    const hashes = await this.getMainHashes(from, limit);
    const blocks = await Promise.all(hashes.map((hash) => this.blocks.read(hash)));
    return blocks.filter((b): b is Block => b !== undefined);
  }

  /** Main-chain hashes from height `from`, at most `limit` (for sync). */
  async getMainHashes(from: number, limit: number): Promise<string[]> {
    if (!Number.isSafeInteger(from) || from < 0 || from > this.head.height) return [];
    return this.store.mainHashes(from, Math.min(limit, this.head.height - from + 1));
  }

  /** A transaction included in the main chain, with where it is. */
  async getTransaction(id: string): Promise<IncludedTransaction | undefined> {
    if (!HASH_RE.test(id)) return undefined;
    const loc = this.store.txLocation(id);
    if (!loc) return undefined;
    const block = await this.blocks.read(loc.blockHash);
    const tx = block?.transactions[loc.index];
    if (!block || !tx) return undefined;
    return { tx, height: block.header.height, blockHash: block.hashHex, index: loc.index };
  }

  /**
   * Main-chain transactions that an address sent or received, newest first, at most `limit`;
   * with `before`, only those strictly before that position (a height, or a transaction's height
   * and index in its block).
   */
  async getAccountTransactions(
    address: Address,
    limit: number,
    before?: { height: number; index?: number },
  ): Promise<IncludedTransaction[]> {
    const positions = await this.store.accountHistory(parseAddress(address), limit, before);
    const out: IncludedTransaction[] = [];
    for (const { height, index } of positions) {
      const block = await this.getBlockAtHeight(height);
      const tx = block?.transactions[index];
      // A reorganisation between the two reads: the position now holds another transaction.
      if (!block || !tx || (tx.sender !== address && tx.receiver !== address)) continue;
      out.push({ tx, height, blockHash: block.hashHex, index });
    }
    return out;
  }

  /** Whether a transaction is included in the main chain (synchronous, for the mempool). */
  hasTransaction(id: string): boolean {
    return HASH_RE.test(id) && this.store.txLocation(id) !== undefined;
  }

  /** An account of the head state as stored; undefined when it was never touched. */
  getAccount(address: Address): Account | undefined {
    return this.state.getAccount(address);
  }

  /**
   * An account as the next block would see it: unbonding stake whose release slot has come
   * counts in the balance (what a wallet may spend now).
   */
  accountNow(address: Address): Account | undefined {
    return this.stateView().reader.getAccount(address);
  }

  /**
   * The state root after applying a body to the head (what a producer puts in its header): the
   * same state transition and tree update as an import, nothing written.
   */
  stateRootAfter(body: BlockBody, forger: Uint8Array, slot: number | undefined): Uint8Array {
    const effects = applyBlockTransactions(
      this.state,
      body,
      { forger, slot, totals: this.state.totals },
      this.params,
      (tx) => this.signatures.isVerified(tx),
    );
    return this.tree.rootAfter(this.head.header.stateRoot, effects.changes).root;
  }

  /**
   * An account with its proof against a main-chain block's state root (the account as that
   * block left it; absent accounts get a proof of absence). Undefined when the block is not on
   * the main chain or its tree is no longer kept (pruned below the finalized height).
   */
  async accountProof(
    address: Address,
    blockId: number | string,
  ): Promise<AccountProof | undefined> {
    const block = await this.getBlock(blockId);
    if (!block || this.store.mainHash(block.header.height) !== block.hashHex) return undefined;
    const root = block.header.stateRoot;
    let proof: SmtProof;
    try {
      proof = proveSmt(this.tree, root, stateKey(address));
    } catch {
      return undefined;
    }
    const key = stateKey(address);
    const leaf = proof.leaf && equalBytes(proof.leaf.key, key) ? proof.leaf : undefined;
    return {
      account: leaf ? decodeAccount(leaf.value) : undefined,
      height: block.header.height,
      blockHash: block.hashHex,
      stateRoot: root,
      key,
      proof,
    };
  }

  /** Addresses that were ever slashed (their stake may be gone by now). */
  slashedAddresses(): ReadonlySet<Address> {
    return this.state.slashed();
  }

  /** The head state for the mempool: a live reader (it follows the head) and the stake sum. */
  /**
   * The head state as the next block would see it (the mempool's view): accounts read as of the
   * current slot under PoS, so that unbonding stake released by now is spendable.
   */
  stateView(): {
    reader: AccountReader;
    totalStake: bigint;
    supply: bigint;
    slot: number | undefined;
  } {
    const slot = this.engine.slotAt(this.now());
    const state = this.state;
    const reader: AccountReader =
      slot === undefined
        ? state
        : {
            getAccount: (address) => {
              const account = state.getAccount(address);
              return account && settleAccount(account, slot);
            },
          };
    return { reader, totalStake: state.totalStake, supply: state.supply, slot };
  }

  /** The validators of the head state (the lottery draws from its epoch's snapshot). */
  validators(): ValidatorSet {
    return this.state.validators();
  }

  /**
   * The lottery of a child of the head in `slot` (PoS): its epoch and the validators of the
   * epoch's snapshot. Undefined under PoW.
   */
  lottery(slot: number): EpochLottery | undefined {
    const head = this.head;
    return this.lotteryAfter({ header: head.header, hash: head.hash, hashHex: head.hashHex }, slot);
  }

  /**
   * The lottery of a child of a stored block in `slot` (PoS): who had the right to forge there
   * (the explorer asks it for past slots, empty ones too). Undefined under PoW, or when the
   * block or the epoch's snapshot is not known here.
   */
  lotteryAfter(
    parent: { header: BlockHeader; hash: Uint8Array; hashHex: string },
    slot: number,
  ): EpochLottery | undefined {
    const link = this.store.blockInfo(parent.hashHex)?.link;
    const epoch = this.engine.epochContext(
      { header: parent.header, hash: parent.hash, link },
      slot,
    );
    if (!epoch) return undefined;
    const validators = this.snapshots.get(toHex(epoch.snapshot));
    return validators && { epoch, validators };
  }

  /** Hashes of the stored children of a block, any branch (the explorer draws side branches). */
  getChildren(hash: string): Promise<string[]> {
    return HASH_RE.test(hash) ? this.store.children(hash) : Promise.resolve([]);
  }

  /** The head as a producer sees it. */
  headInfo(): HeadInfo {
    const head = this.head;
    return {
      header: head.header,
      hash: head.hash,
      headers: this.blocks,
      // Bound to this head: after a new head the producer asks headInfo() again.
      lottery: (slot) => (this.head === head ? this.lottery(slot) : undefined),
    };
  }

  /** Sum of every balance and stake of the head state. */
  totalSupply(): bigint {
    return totalSupply(this.state.values());
  }

  /** What the supply must be: genesis allocations and stakes plus everything minted since. */
  expectedSupply(): bigint {
    return genesisSupply(this.genesis) + this.state.minted;
  }

  /** Whether this node has the block: stored (any branch or validity) or waiting as an orphan. */
  hasBlock(hash: string): boolean {
    return (
      HASH_RE.test(hash) &&
      (this.store.hasBlock(hash) || this.orphans.has(hash) || this.importer.isParked(hash))
    );
  }

  getHeader(hash: string): BlockHeader | undefined {
    return HASH_RE.test(hash) ? this.blocks.getHeader(hash) : undefined;
  }
}
