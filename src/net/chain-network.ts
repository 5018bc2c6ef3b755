import type { Logger } from "pino";
import type { Chain } from "../chain/chain.js";
import type { Mempool } from "../chain/mempool.js";
import type { Block } from "../core/block.js";
import type { RejectCode, ValidationError } from "../core/errors.js";
import type { Evidence } from "../core/evidence.js";
import type { Genesis } from "../core/genesis.js";
import type { Transaction } from "../core/transaction.js";
import {
  decodeBlockTxsResponse,
  encodeBlockTxsRequest,
  encodeCompactBlock,
} from "./compact-block.js";
import { type CompactGossipDeps, onBlockTxs, validateCompactBlock } from "./compact-gossip.js";
import { cborArrayLength, type TopicCopies } from "./gossip-stats.js";
import {
  type BlockGossipDeps,
  FutureBlocks,
  importGossipBlock,
  validateGossipBlock,
  validateGossipEvidence,
  validateTxBatch,
} from "./gossip-validation.js";
import {
  encodeNeighboursRequest,
  NEIGHBOURS_LIMITS,
  NeighbourBook,
  onNeighbours,
} from "./neighbours.js";
import { NetError, P2PNode, type P2POptions } from "./p2p.js";
import { type ChainProtocols, chainProtocols, SYNC_PENALTY, WIRE_LIMITS } from "./protocols.js";
import { ResponseError, RespStatus } from "./req-resp.js";
import { isBetterChain, PeerBook } from "./status.js";
import { StatusProtocol } from "./status-protocol.js";
import { PeerFault, Syncer, type SyncTuning } from "./sync.js";
import { onBlocksByHash, onBlocksByRange, ServeBudget, type ServeLimits } from "./sync-server.js";
import { TxBroadcaster } from "./tx-broadcaster.js";
import {
  type ChainStatus,
  decodeBlockList,
  encodeHashRequest,
  encodeRangeRequest,
} from "./wire.js";

/** A peer as the node's status shows it. */
export interface PeerView {
  peerId: string;
  addresses: string[];
  score: number;
  direction: string;
}

/** The network part of the node's status (GET /v1/status, /v1/peers). */
export interface NetworkStatus {
  peerId: string | null;
  listenAddresses: string[];
  peers: PeerView[];
  syncing: boolean;
  syncTargetHeight: number | null;
  syncBlocksPerSecond: number | null;
}

export interface ChainNetworkOptions {
  /** listen address and port (0: a free port), from the CLI */
  host: string;
  port: number;
  /** "host:port" or multiaddrs of peers to join */
  bootstrap: string[];
  mdns: boolean;
  /** the p2p identity lives under it (see P2PNode) */
  dataDir: string;
  genesis: Genesis;
  chain: Chain;
  mempool: Mempool;
  logger: Logger;
  /**
   * Admits gossiped transactions (mempool and events), verifying their signatures; resolves with
   * the error each one got (undefined: admitted).
   */
  onTransactions(txs: readonly Transaction[]): Promise<(ValidationError | undefined)[]>;
  /** Whether a transaction of this id is pending already (its gossiped bytes are skipped). */
  knownTransaction?(id: string): boolean;
  /**
   * Offers gossiped slashing evidence to the node's pool: true when pooled (new), false when
   * known or no longer applying; throws ValidationError when no node would take it.
   */
  onEvidence?(evidence: Evidence): boolean;
  /** A block from a peer was stored (for metrics). */
  onBlockImported(block: Block, source: "gossip" | "sync"): void;
  /** A block from a peer broke a rule (for metrics). */
  onBlockRejected(code: string): void;
  /** A gossiped transaction message that does not decode (metrics; admission counts the rest). */
  onTransactionRejected?(code: string): void;
  /** How often every peer is asked for its status (default 5 s). */
  statusIntervalMs?: number;
  /** How long a peer on another network stays banned (default 1 hour). */
  mismatchBanMs?: number;
  /** How long a blocks-by-range or blocks-by-hash request may take (default 15 s). */
  syncTimeoutMs?: number;
  /** Sync knobs, for tests. */
  sync?: Partial<SyncTuning>;
  /** What serving sync may cost per peer and in all, for tests. */
  serveLimits?: Partial<ServeLimits>;
  /** Lower-level p2p knobs (scoring, reconnection, peer targets), for tests and tuning. */
  p2p?: Partial<
    Omit<
      P2POptions,
      "dataDir" | "host" | "port" | "bootstrap" | "mdns" | "logger" | "protocolPrefix"
    >
  >;
}

const DEFAULT_STATUS_INTERVAL_MS = 5_000;
const DEFAULT_MISMATCH_BAN_MS = 60 * 60_000;

/**
 * lotchain's network: the blocks-and-transactions layer over the bytes-level P2PNode. It holds
 * the lifecycle and wires the parts, each in its own module:
 * - gossip validation (gossip-validation.ts): /lotchain/<chainId>/tx/1 and /block/1 carry
 *   canonical encodings; each message goes to admission or import and its verdict (accept
 *   relays; ignore drops; reject drops and costs the relaying peer points) follows the item's
 *   rejection code (see protocols.ts);
 * - the transaction broadcaster (tx-broadcaster.ts): our own batches, of verified transactions;
 * - the status protocol (status-protocol.ts): chain status on every connection and every few
 *   seconds; peers of another network are banned;
 * - the sync server (sync-server.ts): blocks-by-range and blocks-by-hash within budgets;
 * - the syncer (sync.ts): catching up with better chains, believing claims only as far as the
 *   delivered blocks verify.
 */
export class ChainNetwork {
  readonly #options: ChainNetworkOptions;
  readonly #log: Logger;
  readonly #protocols: ChainProtocols;
  readonly #peers = new PeerBook();
  readonly #syncer: Syncer;
  readonly #status: StatusProtocol;
  readonly #serveBudget: ServeBudget;
  readonly #broadcaster: TxBroadcaster;
  readonly #future: FutureBlocks;
  readonly #blockGossipDeps: BlockGossipDeps;
  readonly #compactGossipDeps: CompactGossipDeps;
  readonly #compactFills = { blocks: 0, txsKnown: 0, txsFetched: 0, wholeBlocks: 0 };
  readonly #neighbours: NeighbourBook;
  #p2p: P2PNode | undefined;
  #poll: NodeJS.Timeout | undefined;
  #state: "created" | "starting" | "running" | "stopped" = "created";
  #stopping: Promise<void> | undefined;
  #txItemsKnown = 0;

  constructor(options: ChainNetworkOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#protocols = chainProtocols(options.genesis.chainId);
    this.#syncer = new Syncer(
      {
        chain: options.chain,
        peers: this.#peers,
        log: this.#log,
        fetchRange: (peerId, from, count) => this.#fetchRange(peerId, from, count),
        fetchByHash: (peerId, hashes) => this.#fetchByHash(peerId, hashes),
        refreshStatus: (peerId) => this.#status.exchange(peerId),
        penalize: (peerId, points, reason) => this.#penalize(peerId, points, reason),
        onImported: (block) => this.#imported(block, "sync"),
        onRejected: (code) => this.#rejected(code),
        onDelivered: (peerId) => this.#p2p?.markUseful(peerId),
      },
      options.sync,
    );
    this.#status = new StatusProtocol({
      request: (peerId, ours) => {
        if (!this.#running) throw new NetError("NotStarted", "the network is stopped");
        return this.#p2p!.request(peerId, this.#protocols.status, ours, {
          maxResponseBytes: WIRE_LIMITS.statusBytes,
          timeoutMs: WIRE_LIMITS.statusTimeoutMs,
        });
      },
      ours: () => this.#ourStatus(),
      onStatus: (peerId, status) => this.#recordStatus(peerId, status),
      onMismatch: (peerId) => this.#peers.delete(peerId),
      penalize: (peerId, points, reason) => this.#penalize(peerId, points, reason),
      ban: (peerId, ms, reason) => {
        if (this.#running) this.#p2p!.ban(peerId, ms, reason);
      },
      log: this.#log,
      mismatchBanMs: options.mismatchBanMs ?? DEFAULT_MISMATCH_BAN_MS,
    });
    this.#neighbours = new NeighbourBook({
      peers: () => (this.#running ? this.#p2p!.peers().map((p) => p.peerId) : []),
      request: (peerId) => {
        if (!this.#running) throw new NetError("NotStarted", "the network is stopped");
        return this.#p2p!.request(peerId, this.#protocols.neighbours, encodeNeighboursRequest(), {
          maxResponseBytes: NEIGHBOURS_LIMITS.responseBytes,
          timeoutMs: NEIGHBOURS_LIMITS.timeoutMs,
        });
      },
      penalize: (peerId, points, reason) => this.#penalize(peerId, points, reason),
    });
    this.#serveBudget = new ServeBudget(options.serveLimits);
    this.#broadcaster = new TxBroadcaster({
      publish: (batch, count) => this.#publish(this.#protocols.txTopic, batch, { txs: count }),
      // A batch published to nobody would sit in gossipsub's seen cache, and the same batch
      // published again later would be dropped as a duplicate: wait for a listener instead.
      hasListeners: () =>
        this.#running && this.#p2p!.topicPeers(this.#protocols.txTopic).length > 0,
    });
    this.#future = new FutureBlocks((block, from) => void this.#retryFuture(block, from));
    this.#blockGossipDeps = {
      chain: options.chain,
      onHead: (from) => {
        this.#peers.noteHead(from, options.chain.head);
        this.#syncer.credit(from);
        this.#p2p?.markUseful(from);
      },
      onImported: (block) => this.#imported(block, "gossip"),
      onRejected: (code) => this.#rejected(code),
      onOrphan: (from, block, missing) => this.#syncer.onOrphan(from, block, missing),
      onFuture: (block, from) => this.#future.add(block, from),
      log: this.#log,
    };
    this.#compactGossipDeps = {
      ...this.#blockGossipDeps,
      chainId: options.genesis.chainId,
      pending: (id) => options.mempool.get(id),
      hasBlock: (hash) => options.chain.getHeader(hash) !== undefined,
      fetchBlockTxs: (peer, hash, indexes, ids) => this.#fetchBlockTxs(peer, hash, indexes, ids),
      fetchBlock: async (peer, hash) => (await this.#fetchByHash(peer, [hash]))[0],
      onFill: (fill) => {
        this.#compactFills.blocks++;
        this.#compactFills.txsKnown += fill.known;
        this.#compactFills.txsFetched += fill.fetched;
        if (fill.whole) this.#compactFills.wholeBlocks++;
      },
    };
  }

  /** Our libp2p peer id; empty before start(). */
  get peerId(): string {
    return this.#p2p?.peerId ?? "";
  }

  /** The protocol ids and topics of this network. */
  get protocols(): ChainProtocols {
    return this.#protocols;
  }

  async start(): Promise<void> {
    if (this.#state !== "created") throw new Error("a ChainNetwork starts once");
    this.#state = "starting";
    const o = this.#options;
    const txTopic = this.#protocols.txTopic;
    const p2p = await P2PNode.create({
      gossipItemsOf: (topic, data) => (topic === txTopic ? cborArrayLength(data) : 1),
      ...o.p2p,
      dataDir: o.dataDir,
      host: o.host,
      port: o.port,
      bootstrap: o.bootstrap,
      mdns: o.mdns,
      protocolPrefix: this.#protocols.prefix,
      logger: this.#log,
    });
    if (this.#stopping !== undefined) {
      // stop() was called while the node was being built.
      await p2p.stop();
      return;
    }
    this.#p2p = p2p;
    const ids = this.#protocols;
    p2p.subscribe(
      ids.txTopic,
      (data, from) => this.#onGossipTx(data, from),
      WIRE_LIMITS.txGossipBytes,
    );
    p2p.subscribe(
      ids.blockTopic,
      (data, from) => this.#onGossipBlock(data, from),
      WIRE_LIMITS.blockGossipBytes,
    );
    p2p.subscribe(
      ids.compactBlockTopic,
      (data, from) => this.#onGossipCompactBlock(data, from),
      WIRE_LIMITS.compactBlockGossipBytes,
    );
    p2p.subscribe(
      ids.evidenceTopic,
      (data, from) => this.#onGossipEvidence(data, from),
      WIRE_LIMITS.evidenceGossipBytes,
    );
    p2p.handle(ids.status, (req, from) => this.#status.serve(req, from), {
      maxRequestBytes: WIRE_LIMITS.statusBytes,
      maxResponseBytes: WIRE_LIMITS.statusBytes,
      timeoutMs: WIRE_LIMITS.statusTimeoutMs,
    });
    const syncLimits = {
      maxRequestBytes: WIRE_LIMITS.syncRequestBytes,
      maxResponseBytes: WIRE_LIMITS.syncResponseBytes,
      timeoutMs: WIRE_LIMITS.syncTimeoutMs,
    };
    p2p.handle(
      ids.blocksByRange,
      (req, from) => this.#serve(from, () => onBlocksByRange(req, o.chain)),
      syncLimits,
    );
    p2p.handle(
      ids.blocksByHash,
      (req, from) => this.#serve(from, () => onBlocksByHash(req, o.chain)),
      syncLimits,
    );
    p2p.handle(ids.blockTxs, (req, from) => this.#serve(from, () => onBlockTxs(req, o.chain)), {
      maxRequestBytes: WIRE_LIMITS.blockTxsRequestBytes,
      maxResponseBytes: WIRE_LIMITS.syncResponseBytes,
      timeoutMs: WIRE_LIMITS.blockTxsTimeoutMs,
    });
    p2p.handle(
      ids.neighbours,
      async (req) =>
        onNeighbours(req, () =>
          this.peerChains().map(({ peerId, status }) => ({
            peerId,
            height: status.height,
            headHash: status.headHash,
          })),
        ),
      {
        maxRequestBytes: NEIGHBOURS_LIMITS.requestBytes,
        maxResponseBytes: NEIGHBOURS_LIMITS.responseBytes,
        timeoutMs: NEIGHBOURS_LIMITS.timeoutMs,
      },
    );
    p2p.on("peer:connect", (peerId) => this.#onConnect(peerId));
    p2p.on("peer:disconnect", (peerId) => this.#onDisconnect(peerId));
    try {
      await p2p.start();
    } catch (err) {
      this.#state = "stopped";
      await p2p.stop().catch(() => undefined);
      throw err;
    }
    if (this.#stopping !== undefined) return; // stop() ran meanwhile and stopped the p2p node
    this.#state = "running";
    this.#poll = setInterval(
      () => this.#pollPeers(),
      o.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS,
    );
    this.#poll.unref();
    this.#log.info(
      {
        chainId: o.genesis.chainId,
        genesis: o.chain.genesisHash,
        topics: [ids.txTopic, ids.blockTopic],
      },
      "chain network started",
    );
  }

  /** Stops sync, timers and the p2p node. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      // What was admitted but not yet announced still leaves, while the network runs.
      await this.#broadcaster.close();
      this.#state = "stopped";
      clearInterval(this.#poll);
      this.#future.clear();
      const idle = this.#syncer.stop();
      const statusIdle = this.#status.stop();
      await this.#p2p?.stop();
      await idle;
      await statusIdle;
    })();
    return this.#stopping;
  }

  listenAddresses(): string[] {
    return this.#p2p?.listenAddresses() ?? [];
  }

  peerCount(): number {
    return this.#running ? this.#p2p!.peers().length : 0;
  }

  /**
   * Whether verified blocks show this node behind a peer (a sync run moving our head). Cheap:
   * the block producer asks it often, and pauses only while it is true.
   */
  get syncing(): boolean {
    return this.#syncer.behind;
  }

  status(): NetworkStatus {
    const progress = this.#syncer.progress();
    return {
      peerId: this.#p2p?.peerId ?? null,
      listenAddresses: this.listenAddresses(),
      peers: this.#running
        ? this.#p2p!.peers().map((p) => ({
            peerId: p.peerId,
            addresses: p.addresses,
            score: p.score,
            direction: p.direction,
          }))
        : [],
      syncing: progress.syncing,
      syncTargetHeight: progress.targetHeight,
      syncBlocksPerSecond: progress.blocksPerSecond,
    };
  }

  /** What each connected peer last said of its chain. */
  peerChains(): { peerId: string; status: ChainStatus }[] {
    return this.#peers.all().map(({ peerId, status }) => ({ peerId, status }));
  }

  /** What the connected peers report of their own connections (asked again when old). */
  neighbourReports() {
    return this.#neighbours.reports();
  }

  /** Peers subscribed to our gossip topics (a publish reaches these). */
  gossipPeers(): { tx: string[]; block: string[] } {
    if (!this.#running) return { tx: [], block: [] };
    // Blocks go out compact: a peer counts once it takes both block topics.
    const compact = new Set(this.#p2p!.topicPeers(this.#protocols.compactBlockTopic));
    return {
      tx: this.#p2p!.topicPeers(this.#protocols.txTopic),
      block: this.#p2p!.topicPeers(this.#protocols.blockTopic).filter((p) => compact.has(p)),
    };
  }

  /**
   * What gossip brought, per topic (tx, block, ...): every copy received against the first
   * copies, in messages, items (transactions of a batch) and bytes; and of the transactions in
   * first copies, how many were pending here already (skipped undecoded).
   */
  gossipCounts(): {
    topics: Map<string, TopicCopies>;
    txItemsKnown: number;
    compact: { blocks: number; txsKnown: number; txsFetched: number; wholeBlocks: number };
  } {
    const topics = new Map<string, TopicCopies>();
    if (this.#p2p)
      for (const [topic, counts] of this.#p2p.gossipCopies())
        topics.set(topic.split("/").at(-2) ?? topic, counts);
    return { topics, txItemsKnown: this.#txItemsKnown, compact: { ...this.#compactFills } };
  }

  /** Current bans. */
  banned(): { peerId: string; until: number }[] {
    return this.#p2p?.banned() ?? [];
  }

  /**
   * Sends one of our blocks to the peers, compact (its transactions as ids: the peers have most
   * of them pending). Never throws: a node alone or stopping is fine.
   */
  async publishBlock(block: Block): Promise<void> {
    await this.#publish(this.#protocols.compactBlockTopic, encodeCompactBlock(block), {
      block: block.hashHex,
    });
  }

  /** Sends slashing evidence this node pooled to the peers. Never throws. */
  async publishEvidence(evidence: Evidence): Promise<void> {
    await this.#publish(this.#protocols.evidenceTopic, evidence.encoded, {
      evidence: evidence.id,
    });
  }

  /**
   * Queues a transaction this node admitted (through the API, or back from a reverted block) for
   * the next gossip batch. Never throws.
   */
  async publishTransaction(tx: Transaction): Promise<void> {
    if (!this.#running) return;
    await this.#broadcaster.add(tx);
  }

  /** Bans a peer for `ms` (it is disconnected); false when the id does not parse or we are not running. */
  ban(peerId: string, ms: number): boolean {
    if (!this.#running) return false;
    try {
      this.#p2p!.ban(peerId, ms, "banned by an admin");
      return true;
    } catch (err) {
      if (err instanceof NetError) return false;
      throw err;
    }
  }

  /** Lifts a ban; false when the peer was not banned. */
  unban(peerId: string): boolean {
    if (!this.#running) return false;
    if (!this.#p2p!.banned().some((b) => b.peerId === peerId)) return false;
    try {
      this.#p2p!.unban(peerId);
      this.#status.forget(peerId);
      return true;
    } catch (err) {
      if (err instanceof NetError) return false;
      throw err;
    }
  }

  get #syncTimeoutMs(): number {
    return this.#options.syncTimeoutMs ?? WIRE_LIMITS.syncTimeoutMs;
  }

  get #running(): boolean {
    return this.#state === "running" && this.#p2p !== undefined;
  }

  /** Publishes; resolves with the peers it reached (0 when stopped or failing). */
  async #publish(topic: string, data: Uint8Array, what: object): Promise<number> {
    if (!this.#running) return 0;
    try {
      const peers = await this.#p2p!.publish(topic, data);
      this.#log.debug({ ...what, peers }, "published");
      return peers;
    } catch (err) {
      this.#log.warn({ ...what, err }, "publishing failed");
      return 0;
    }
  }

  // ------------------------------------------------------------------ gossip

  async #onGossipTx(data: Uint8Array, from: string): Promise<"accept" | "ignore" | "reject"> {
    if (this.#status.isMismatched(from)) return "ignore";
    const { verdict, repack, known } = await validateTxBatch(data, {
      admitAll: (txs) => this.#options.onTransactions(txs),
      known: (id) => this.#options.knownTransaction?.(id) ?? false,
      onUndecodable: (code) => this.#options.onTransactionRejected?.(code),
      running: () => this.#running,
      log: this.#log.child({ from }),
    });
    this.#txItemsKnown += known;
    for (const tx of repack) void this.#broadcaster.add(tx);
    return verdict;
  }

  #onGossipBlock(data: Uint8Array, from: string): Promise<"accept" | "ignore" | "reject"> {
    if (this.#status.isMismatched(from)) return Promise.resolve("ignore");
    return validateGossipBlock(data, from, {
      ...this.#blockGossipDeps,
      known: (id) => this.#options.mempool.get(id),
    });
  }

  #onGossipCompactBlock(data: Uint8Array, from: string): Promise<"accept" | "ignore" | "reject"> {
    if (this.#status.isMismatched(from)) return Promise.resolve("ignore");
    return validateCompactBlock(data, from, this.#compactGossipDeps);
  }

  #onGossipEvidence(data: Uint8Array, from: string): "accept" | "ignore" | "reject" {
    if (this.#status.isMismatched(from)) return "ignore";
    const admit = this.#options.onEvidence;
    if (!admit) return "ignore";
    return validateGossipEvidence(data, { admit, log: this.#log.child({ from }) });
  }

  /** A block that came before its time, tried again now: relayed when it was stored. */
  async #retryFuture(block: Block, from: string): Promise<void> {
    if (!this.#running) return;
    const verdict = await importGossipBlock(block, from, this.#blockGossipDeps).catch(
      (err: unknown) => {
        this.#log.warn({ err, block: block.hashHex }, "retrying a future block failed");
        return "ignore" as const;
      },
    );
    if (verdict === "accept") await this.publishBlock(block);
  }

  // The metrics callbacks must not break an import that already happened.
  #imported(block: Block, source: "gossip" | "sync"): void {
    try {
      this.#options.onBlockImported(block, source);
    } catch (err) {
      this.#log.warn({ err }, "onBlockImported threw");
    }
  }

  #rejected(code: RejectCode): void {
    try {
      this.#options.onBlockRejected(code);
    } catch (err) {
      this.#log.warn({ err }, "onBlockRejected threw");
    }
  }

  // ------------------------------------------------------------------ status

  #ourStatus(): ChainStatus {
    const { chain, genesis } = this.#options;
    const head = chain.head;
    return {
      chainId: genesis.chainId,
      genesisHash: chain.genesisHash,
      height: head.height,
      headHash: head.hashHex,
      score: head.score,
      finalizedHeight: chain.finalizedHeight,
    };
  }

  #onConnect(peerId: string): void {
    if (!this.#running) return;
    this.#status
      .exchange(peerId)
      .catch((err: unknown) => this.#log.debug({ err, peerId }, "status exchange failed"));
  }

  #onDisconnect(peerId: string): void {
    this.#peers.delete(peerId);
    this.#neighbours.forget(peerId);
    // Checked again should it come back (its ban over, or lifted).
    this.#status.forget(peerId);
  }

  #pollPeers(): void {
    if (!this.#running) return;
    for (const peer of this.#p2p!.peers()) this.#onConnect(peer.peerId);
  }

  #recordStatus(peerId: string, status: ChainStatus): void {
    if (!this.#running) return;
    this.#peers.set(peerId, status);
    if (isBetterChain(status, this.#options.chain.head)) this.#syncer.kick();
  }

  #penalize(peerId: string, points: number, reason: string): void {
    if (!this.#running) return;
    try {
      this.#p2p!.penalize(peerId, points, reason);
    } catch (err) {
      this.#log.debug({ err, peerId }, "cannot penalise peer");
    }
  }

  // ------------------------------------------------------------------ sync protocols

  /**
   * Serves a sync request within the peer's and the node's budgets (see ServeBudget). A request
   * that does not decode (no honest node sends one) is answered INVALID_REQUEST and costs points.
   */
  async #serve(from: string, serve: () => Promise<Uint8Array>): Promise<Uint8Array> {
    try {
      return await this.#serveBudget.run(from, serve, (points, reason) =>
        this.#penalize(from, points, reason),
      );
    } catch (e) {
      if (e instanceof ResponseError && e.status === RespStatus.INVALID_REQUEST)
        this.#penalize(from, SYNC_PENALTY.badRequest, `bad sync request: ${e.message}`);
      throw e;
    }
  }

  async #fetchRange(peerId: string, from: number, count: number): Promise<Block[]> {
    if (!this.#running) throw new NetError("NotStarted", "the network is stopped");
    const response = await this.#p2p!.request(
      peerId,
      this.#protocols.blocksByRange,
      encodeRangeRequest({ from, count }),
      { maxResponseBytes: WIRE_LIMITS.syncResponseBytes, timeoutMs: this.#syncTimeoutMs },
    );
    return decodeBlockList(response, count);
  }

  async #fetchBlockTxs(
    peerId: string,
    hash: string,
    indexes: number[],
    ids: string[],
  ): Promise<Transaction[]> {
    if (!this.#running) throw new NetError("NotStarted", "the network is stopped");
    const response = await this.#p2p!.request(
      peerId,
      this.#protocols.blockTxs,
      encodeBlockTxsRequest(hash, indexes),
      { maxResponseBytes: WIRE_LIMITS.syncResponseBytes, timeoutMs: WIRE_LIMITS.blockTxsTimeoutMs },
    );
    try {
      return decodeBlockTxsResponse(response, ids);
    } catch (e) {
      this.#penalize(peerId, SYNC_PENALTY.badResponse, `bad block-txs response: ${e}`);
      throw e;
    }
  }

  async #fetchByHash(peerId: string, hashes: string[]): Promise<Block[]> {
    if (!this.#running) throw new NetError("NotStarted", "the network is stopped");
    const response = await this.#p2p!.request(
      peerId,
      this.#protocols.blocksByHash,
      encodeHashRequest(hashes),
      { maxResponseBytes: WIRE_LIMITS.syncResponseBytes, timeoutMs: this.#syncTimeoutMs },
    );
    const blocks = decodeBlockList(response, hashes.length);
    const asked = new Set(hashes);
    for (const block of blocks) {
      if (!asked.has(block.hashHex))
        throw new PeerFault(SYNC_PENALTY.badResponse, `sent block ${block.hashHex}, not asked for`);
    }
    return blocks;
  }
}
