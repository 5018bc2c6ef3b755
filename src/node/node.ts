import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { ApiLimits } from "../api/limits.js";
import type {
  ReorgEvent as ApiReorgEvent,
  NetworkStatus,
  NodeApi,
  NodeEvents,
  PeerHead,
  PeerNeighbours,
} from "../api/ports.js";
import { closeApiServer, createApiServer } from "../api/server.js";
import { Chain, type ChainOptions } from "../chain/chain.js";
import type { HeadEvent, ReorgEvent, SlashingEvent } from "../chain/chain-events.js";
import { EvidencePool } from "../chain/evidence-pool.js";
import { DEFAULT_MEMPOOL_LIMITS, Mempool, type MempoolLimits } from "../chain/mempool.js";
import { DEFAULT_SIGNATURE_CACHE_SIZE, SignatureCache } from "../chain/signatures.js";
import { VerifyPool } from "../chain/verify-pool.js";
import type { BlockProducer, Engine } from "../consensus/engine.js";
import { createEngine } from "../consensus/index.js";
import type { Block } from "../core/block.js";
import { isValidationError, reject, type ValidationError } from "../core/errors.js";
import type { Evidence } from "../core/evidence.js";
import type { Genesis } from "../core/genesis.js";
import type { KeyPair } from "../core/keys.js";
import { decodeTransaction, type Transaction } from "../core/transaction.js";
import { ADMISSION_WINDOW, checkTimestamp } from "../core/tx-time.js";
import { isPeerId } from "../net/addresses.js";
import { ChainNetwork, type ChainNetworkOptions } from "../net/chain-network.js";
import { syncProgress } from "../util/duration.js";
import { Admission } from "./admission.js";
import { NodeMetrics } from "./metrics.js";

export interface NodeOptions {
  dataDir: string;
  genesis: Genesis;
  /** The validator (PoS) or miner (PoW) key; without it the node validates and relays only. */
  key?: KeyPair;
  api: {
    host: string;
    port: number;
    rateLimitPerSecond?: number;
    adminToken?: string;
    limits?: Partial<ApiLimits>;
  };
  /** Peer-to-peer settings; undefined runs without a network (tests of one node). */
  p2p?: Omit<
    ChainNetworkOptions,
    | "chain"
    | "mempool"
    | "logger"
    | "dataDir"
    | "genesis"
    | "onTransactions"
    | "knownTransaction"
    | "onEvidence"
    | "onBlockImported"
    | "onBlockRejected"
    | "onTransactionRejected"
  >;
  /** PoS: forge blocks without transactions too (default: only when there is something to forge). */
  forgeEmptyBlocks?: boolean;
  mempoolLimits?: Partial<MempoolLimits>;
  /** Signature verification threads (default: one a core; 0 verifies on the event loop). */
  verifyThreads?: number;
  /** Keep the chain in this abstract-level database instead of LevelDB (simulations). */
  database?: ChainOptions["database"];
  /** How often pending transactions past their age limit are dropped (default 60 s; for tests). */
  mempoolPruneIntervalMs?: number;
  /** How long a pending transaction waits before it is announced again (default 150 s). */
  rebroadcastIntervalMs?: number;
  logger: Logger;
  now?: () => number;
}

const PRUNE_INTERVAL_MS = 60_000;
/**
 * Pending transactions are announced again when they have waited this long (and again at this
 * interval): an announcement that reached only peers that then went away (a partition, churn)
 * would otherwise leave them here until they expire. Longer than gossipsub's seen cache (2
 * minutes), which drops a message it has seen; at most a batch a round. (A node with no listener
 * at all holds its announcements back until one comes: see TxBroadcaster.)
 */
const REBROADCAST_INTERVAL_MS = 150_000;
const REBROADCAST_MAX = 256;
/** How often a syncing node logs its progress. */
const SYNC_LOG_INTERVAL_MS = 3_000;

/**
 * The node: the composition root. It opens the chain, builds the mempool, starts the network and
 * the block producer, and serves the API. Data flows one way: input is decoded and validated at
 * the edge, changes state only through Chain.importBlock and Mempool.add, and fans out as events.
 */
export class LotchainNode implements NodeApi {
  readonly events = new EventEmitter<NodeEvents>();
  readonly engine: Engine;
  readonly stats: NodeMetrics;
  private api?: FastifyInstance;
  private producer?: BlockProducer;
  private net?: ChainNetwork;
  private pruneTimer?: NodeJS.Timeout;
  private rebroadcastTimer?: NodeJS.Timeout;
  private syncTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  /** Transactions re-admitted from the journal at start, to announce once the network runs. */
  private restored: Transaction[] = [];
  apiUrl = "";

  /** Slashing evidence waiting for a block (PoS). */
  readonly evidence: EvidencePool;
  /** Ids in the pending journal (written by this node: API admissions, reorgs, the last run). */
  private readonly journaled = new Set<string>();
  /** Transactions from the API and gossip, judged in arrival order (see Admission). */
  private readonly admission = new Admission();

  private constructor(
    private readonly options: NodeOptions,
    readonly chain: Chain,
    readonly mempool: Mempool,
    private readonly signatures: SignatureCache,
    private readonly verifyPool: VerifyPool,
  ) {
    this.engine = chain.engine;
    this.evidence = new EvidencePool({
      params: chain.params,
      chainId: options.genesis.chainId,
      state: () => chain.stateView(),
    });
    this.stats = new NodeMetrics({
      height: () => chain.head.height,
      finalizedHeight: () => chain.finalizedHeight,
      peers: () => this.net?.peerCount() ?? 0,
      mempoolSize: () => mempool.size,
      totalSupply: () => chain.totalSupply(),
      syncing: () => this.net?.syncing ?? false,
      gossip: () =>
        this.net?.gossipCounts() ?? {
          topics: new Map(),
          txItemsKnown: 0,
          compact: { blocks: 0, txsKnown: 0, txsFetched: 0, wholeBlocks: 0 },
        },
      signatures: () => ({
        worker: verifyPool.counts.worker,
        inline: verifyPool.counts.inline,
        batches: verifyPool.counts.batches,
        queued: verifyPool.queued,
        cacheHits: signatures.counts.hits,
      }),
    });
  }

  get metrics() {
    return this.stats.registry;
  }

  get genesis(): Genesis {
    return this.options.genesis;
  }

  private get log(): Logger {
    return this.options.logger;
  }

  static async start(options: NodeOptions): Promise<LotchainNode> {
    mkdirSync(options.dataDir, { recursive: true });
    const engine = createEngine(options.genesis);
    const now = options.now ?? Date.now;
    const log = options.logger;
    // One signature cache for the whole node, given to the chain and the mempool as they are
    // built: admission (API, gossip) verifies in the pool, the mempool and block import consult
    // the cache, so a transaction is verified once.
    const verifyPool = new VerifyPool({ threads: options.verifyThreads });
    const signatures = new SignatureCache({
      pool: verifyPool,
      capacity: Math.max(
        DEFAULT_SIGNATURE_CACHE_SIZE,
        4 * (options.mempoolLimits?.maxCount ?? DEFAULT_MEMPOOL_LIMITS.maxCount),
      ),
    });
    let chain: Chain;
    try {
      chain = await Chain.open({
        dataDir: options.dataDir,
        genesis: options.genesis,
        engine,
        logger: log.child({ component: "chain" }),
        now,
        signatures,
        database: options.database,
      });
    } catch (e) {
      await verifyPool.close();
      throw e;
    }
    const mempool = new Mempool({
      params: chain.params,
      state: () => chain.stateView(),
      limits: options.mempoolLimits,
      now,
      isIncluded: (id) => chain.hasTransaction(id),
      signatures,
    });
    const node = new LotchainNode(options, chain, mempool, signatures, verifyPool);
    try {
      await node.startParts();
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  private async startParts(): Promise<void> {
    const { chain, mempool, options } = this;
    chain.on("reorg", (e) => this.onReorg(e));
    chain.on("head", (e) => this.onHead(e));
    chain.on("evidence", (e) => this.admitEvidence(e, "chain"));
    chain.on("slashing", (e) => this.onSlashing(e));
    await this.restorePending();
    this.pruneTimer = setInterval(
      () => this.forget(mempool.prune()),
      options.mempoolPruneIntervalMs ?? PRUNE_INTERVAL_MS,
    );
    this.pruneTimer.unref();
    const rebroadcastMs = options.rebroadcastIntervalMs ?? REBROADCAST_INTERVAL_MS;
    this.rebroadcastTimer = setInterval(() => {
      if (!this.net) return;
      const stale = mempool.waitingSince(rebroadcastMs, REBROADCAST_MAX);
      if (stale.length > 0) this.log.debug({ count: stale.length }, "announcing pending again");
      for (const tx of stale) void this.net.publishTransaction(tx);
    }, rebroadcastMs);
    this.rebroadcastTimer.unref();
    this.log.info(
      {
        chainId: this.genesis.chainId,
        consensus: this.genesis.consensus.type,
        height: chain.head.height,
        head: chain.head.hashHex,
      },
      "chain opened",
    );

    if (options.p2p) {
      this.net = new ChainNetwork({
        ...options.p2p,
        dataDir: options.dataDir,
        genesis: options.genesis,
        chain,
        mempool,
        logger: this.log.child({ component: "net" }),
        onTransactions: (txs) => this.admitAll(txs, "gossip"),
        knownTransaction: (id) => this.mempool.has(id),
        onEvidence: (evidence) => this.admitEvidence(evidence, "gossip"),
        onBlockImported: (_block, source) => this.stats.blocksImported.inc({ source }),
        onBlockRejected: (code) => this.stats.blocksRejected.inc({ reason: code }),
        onTransactionRejected: (code) => this.stats.transactionsRejected.inc({ reason: code }),
      });
      await this.net.start();
      // Transactions acknowledged before a crash may not have left this node: announce them.
      for (const tx of this.restored.splice(0)) void this.net.publishTransaction(tx);
      this.log.info(
        { peerId: this.net.peerId, listen: this.net.listenAddresses() },
        "p2p listening",
      );
      this.syncTimer = setInterval(() => this.logSyncProgress(), SYNC_LOG_INTERVAL_MS);
      this.syncTimer.unref();
    }

    this.api = await createApiServer({
      node: this,
      logger: this.log,
      rateLimitPerSecond: options.api.rateLimitPerSecond,
      adminToken: options.api.adminToken,
      limits: options.api.limits,
    });
    await this.api.listen({ host: options.api.host, port: options.api.port });
    const address = this.api.server.address();
    const port = typeof address === "object" && address ? address.port : options.api.port;
    const host = options.api.host.includes(":") ? `[${options.api.host}]` : options.api.host;
    this.apiUrl = `http://${host}:${port}`;
    this.log.info({ url: this.apiUrl }, `API listening on ${this.apiUrl}`);

    if (options.key) {
      const key = options.key;
      this.producer = this.engine.createProducer({
        privateKey: key.privateKey,
        publicKey: key.publicKey,
        head: () => chain.headInfo(),
        stateRoot: (body, slot) => chain.stateRootAfter(body, key.publicKey, slot),
        selectBody: (maxCount, slot, timestamp) =>
          mempool.selectBody({
            timestamp,
            maxCount,
            slot,
            forger: key.address,
            evidence: this.evidence.candidates(),
          }),
        submit: (block) => this.importOwnBlock(block),
        forgeEmptyBlocks: options.forgeEmptyBlocks ?? false,
        // Asked at every wake-up of the producer (every admitted transaction): the cheap accessor,
        // not status(), which lists peers and listen addresses.
        paused: () => this.net?.syncing ?? false,
        now: options.now ?? Date.now,
        log: this.log.child({ component: this.engine.type === "pos" ? "forger" : "miner" }),
      });
      this.producer.start();
      this.log.info(
        { address: key.address, role: this.engine.type === "pos" ? "validator" : "miner" },
        "producing blocks",
      );
    } else {
      this.log.info("no key: full node (validates and relays, does not produce blocks)");
    }
  }

  /** While catching up: where, how fast, and how long to go, in the log every few seconds. */
  private logSyncProgress(): void {
    const p = syncProgress(this.chain.head.height, this.network());
    if (p) {
      const { text, ...fields } = p;
      this.log.info(fields, `syncing: ${text}`);
    }
  }

  /** Stops cleanly: API, producer, network, then the store (everything acknowledged is on disk). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.pruneTimer);
      clearInterval(this.rebroadcastTimer);
      clearInterval(this.syncTimer);
      if (this.api)
        await closeApiServer(this.api).catch((e) => this.log.warn({ err: e }, "closing the API"));
      await this.producer?.stop().catch((e) => this.log.warn({ err: e }, "stopping the producer"));
      await this.net?.stop().catch((e) => this.log.warn({ err: e }, "stopping the network"));
      await this.chain.close();
      await this.verifyPool.close();
      this.log.info("node stopped");
    })();
    return this.stopping;
  }

  private async importOwnBlock(block: Block): Promise<void> {
    const end = this.stats.blockImportSeconds.startTimer();
    try {
      const result = await this.chain.importBlock(block);
      this.stats.blocksImported.inc({ source: "own" });
      this.log.info(
        {
          height: block.header.height,
          hash: block.hashHex,
          txs: block.transactions.length,
          status: result.status,
        },
        "produced block",
      );
      if (result.status === "head") await this.net?.publishBlock(block);
    } finally {
      end();
    }
  }

  private onHead(e: HeadEvent): void {
    for (const block of e.applied) {
      const removed = this.mempool.removeIncluded(block.transactions);
      this.forget([...removed.included, ...removed.dropped]);
      this.events.emit("block", block);
    }
    this.evidence.prune();
    this.producer?.onNewHead();
  }

  private onSlashing({ block, slashing }: SlashingEvent): void {
    this.log.warn(
      {
        offender: slashing.offender,
        slot: slashing.slot,
        amount: slashing.amount.toString(),
        height: block.header.height,
      },
      "validator slashed",
    );
    this.events.emit("slashing", {
      offender: slashing.offender,
      slot: slashing.slot,
      amount: slashing.amount.toString(),
      reporter: slashing.reporter,
      reward: slashing.reward.toString(),
      burned: slashing.burned.toString(),
      evidence: slashing.evidenceId,
      height: block.header.height,
      blockHash: block.hashHex,
    });
  }

  /**
   * Admits slashing evidence (found by this node's chain, or from a peer) to the pool, and tells
   * the producer: a fault is worth a block of its own. False when the pool has it already or it
   * does not apply; a malformed piece throws ValidationError.
   */
  admitEvidence(evidence: Evidence, source: "chain" | "gossip"): boolean {
    try {
      this.evidence.add(evidence);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      if (source === "gossip" && e.rejectClass !== "duplicate" && isMalformedEvidence(e.code))
        throw e;
      this.log.debug({ evidence: evidence.id, reason: e.message }, "evidence not pooled");
      return false;
    }
    this.log.info(
      { evidence: evidence.id, offender: evidence.offender, slot: evidence.slot, source },
      "slashing evidence pooled",
    );
    this.producer?.onTransactions();
    // Found here: tell the peers (gossip relays what it accepted from others by itself).
    if (source === "chain") void this.net?.publishEvidence(evidence);
    return true;
  }

  private onReorg(e: ReorgEvent): void {
    this.stats.reorgs.inc();
    const back = this.mempool.reinject(e.revertedTransactions);
    const added = new Set(back.added);
    const readded = e.revertedTransactions.filter((tx) => added.has(tx.id));
    this.forget(back.dropped);
    this.journal(readded).catch((err) => this.log.warn({ err }, "pending journal"));
    // Peers on the winning branch may never have seen them: announce them again.
    for (const tx of readded) void this.net?.publishTransaction(tx);
    const apiEvent: ApiReorgEvent = {
      depth: e.depth,
      commonAncestor: e.commonAncestor,
      oldHead: e.oldHead,
      newHead: e.newHead,
      revertedTransactions: e.revertedTransactions.map((tx) => tx.id),
      addedTransactions: e.addedTransactions.map((tx) => tx.id),
    };
    this.log.warn({ depth: e.depth, ancestor: e.commonAncestor }, "chain reorganised");
    this.events.emit("reorg", apiEvent);
  }

  /**
   * Admits transactions from the API or from gossip, each judged on its own as if it came alone
   * (see Admission): cheap checks, then the signatures together in the worker pool, then the
   * mempool's add and fan-out. Resolves with the error each one got (undefined: admitted).
   */
  async admitAll(
    txs: readonly Transaction[],
    source: "api" | "gossip",
  ): Promise<(ValidationError | undefined)[]> {
    let admitted = false;
    const errors = await this.admission.admit(txs, {
      check: (tx) => {
        checkTimestamp(tx.timestamp, (this.options.now ?? Date.now)(), ADMISSION_WINDOW);
        // The mempool answers AlreadyIncluded itself (an included transaction's nonce is used),
        // so no index lookup here: a synchronous store read per admitted transaction.
        this.forget(this.mempool.check(tx));
      },
      verifyAll: (batch) => this.signatures.verifyAll(batch),
      add: (tx) => {
        const result = this.mempool.add(tx);
        const gone = result.replaced ? [...result.evicted, result.replaced] : result.evicted;
        this.forget(gone);
        this.stats.transactionsAccepted.inc({ source });
        this.events.emit("transaction", tx);
        admitted = true;
      },
    });
    for (const e of errors) if (e) this.stats.transactionsRejected.inc({ reason: e.code });
    if (admitted) this.producer?.onTransactions();
    return errors;
  }

  async submitTransaction(tx: Transaction): Promise<{ id: string }> {
    const [error] = await this.admitAll([tx], "api");
    if (error) throw error;
    await this.journal([tx]);
    await this.net?.publishTransaction(tx);
    return { id: tx.id };
  }

  /**
   * Submits a batch (POST /v1/transactions/batch): each transaction judged as a single POST
   * would judge it; what was admitted is journaled (one write) before the answer, then announced.
   */
  async submitTransactions(txs: readonly Transaction[]): Promise<(ValidationError | undefined)[]> {
    const errors = await this.admitAll(txs, "api");
    // (One admitted early in the batch may have been evicted by a later one.)
    const admitted = txs.filter((tx, i) => errors[i] === undefined && this.mempool.has(tx.id));
    if (admitted.length > 0) {
      await this.journal(admitted);
      for (const tx of admitted) void this.net?.publishTransaction(tx);
    }
    return errors;
  }

  /**
   * Writes transactions to the pending journal (what the API acknowledged survives a crash), and
   * remembers their ids: only those are deleted from it later, not every transaction a block
   * includes (most came by gossip and were never journaled here).
   */
  private journal(txs: readonly Transaction[]): Promise<void> {
    for (const tx of txs) this.journaled.add(tx.id);
    return this.chain.journalPending(txs);
  }

  /** Drops ids from the pending journal (in the background: a leftover is re-checked at start). */
  private forget(ids: readonly string[]): void {
    const mine = ids.filter((id) => this.journaled.delete(id));
    if (mine.length > 0)
      this.chain.forgetPending(mine).catch((e) => this.log.warn({ err: e }, "pending journal"));
  }

  /** Re-admits the transactions journaled before a stop or a crash, in nonce order. */
  private async restorePending(): Promise<void> {
    const stale: string[] = [];
    const txs: Transaction[] = [];
    let restored = 0;
    for (const bytes of await this.chain.loadPending()) {
      try {
        const tx = decodeTransaction(bytes);
        this.journaled.add(tx.id);
        txs.push(tx);
      } catch {
        // Undecodable bytes cannot name their id; they stay until a rewrite of the journal.
      }
    }
    txs.sort((a, b) => (a.sender === b.sender ? a.nonce - b.nonce : a.sender < b.sender ? -1 : 1));
    // Verified together in the pool; the adds below find them in the signature cache.
    await this.signatures.verifyAll(txs);
    for (const tx of txs) {
      try {
        checkTimestamp(tx.timestamp, (this.options.now ?? Date.now)(), ADMISSION_WINDOW);
        this.mempool.add(tx);
        restored++;
        // Announced once the network runs (a node without one keeps nothing to announce).
        if (this.options.p2p) this.restored.push(tx);
      } catch {
        stale.push(tx.id);
      }
    }
    this.forget(stale);
    if (txs.length > 0)
      this.log.info({ restored, dropped: stale.length }, "restored pending transactions");
  }

  network(): NetworkStatus {
    if (!this.net)
      return {
        peerId: null,
        listenAddresses: [],
        peers: [],
        syncing: false,
        syncTargetHeight: null,
        syncBlocksPerSecond: null,
      };
    return this.net.status();
  }

  peerHeads(): PeerHead[] {
    return (this.net?.peerChains() ?? []).map(({ peerId, status }) => ({
      peerId,
      height: status.height,
      headHash: status.headHash,
      finalizedHeight: status.finalizedHeight,
    }));
  }

  async peerNeighbours(): Promise<PeerNeighbours[]> {
    return (await this.net?.neighbourReports()) ?? [];
  }

  banPeer(peerId: string, ms: number): boolean {
    assertPeerId(peerId);
    return this.net?.ban(peerId, ms) ?? false;
  }

  unbanPeer(peerId: string): boolean {
    assertPeerId(peerId);
    return this.net?.unban(peerId) ?? false;
  }
}

/** Evidence failures that no state excuses: a peer that relays them sent junk. */
function isMalformedEvidence(code: string): boolean {
  return code === "InvalidEvidence" || code === "WrongChain" || code === "Malformed";
}

/** An admin's peer id that does not parse is a malformed request (400), not "not banned". */
function assertPeerId(peerId: string): void {
  if (!isPeerId(peerId)) reject("Malformed", `not a libp2p peer id: ${peerId}`);
}
