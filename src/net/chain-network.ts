import type { Logger } from "pino";
import type { NetworkStatus } from "../api/ports.js";
import type { Chain } from "../chain/chain.js";
import type { Mempool } from "../chain/mempool.js";
import { type Block, decodeBlock } from "../core/block.js";
import { isValidationError, type RejectCode } from "../core/errors.js";
import type { Genesis } from "../core/genesis.js";
import { decodeTransaction, type Transaction } from "../core/transaction.js";
import { readBlocksWithin } from "../util/block-pages.js";
import { type GossipVerdict, NetError, P2PNode, type P2POptions } from "./p2p.js";
import {
  blockVerdict,
  type ChainProtocols,
  chainProtocols,
  MAX_TX_BATCH,
  SYNC_PENALTY,
  TX_BATCH_MS,
  txVerdict,
  WIRE_LIMITS,
} from "./protocols.js";
import { isBetterChain, isMismatchReason, PeerBook, statusMismatch } from "./status.js";
import { PeerFault, Syncer, type SyncTuning } from "./sync.js";
import {
  type ChainStatus,
  decodeBlockList,
  decodeHashRequest,
  decodeRangeRequest,
  decodeStatus,
  decodeTxBatch,
  encodeBlockList,
  encodeHashRequest,
  encodeRangeRequest,
  encodeStatus,
  encodeTxBatch,
} from "./wire.js";

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
  /** Admits a gossiped transaction (mempool and events); throws ValidationError when invalid. */
  onTransaction(tx: Transaction): void;
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
/** Lets the error answer reach a mismatched peer before the ban closes the connection. */
const MISMATCH_BAN_DELAY_MS = 500;
/** Gossiped transactions admitted between two yields to the event loop. */
const TX_ADMIT_SLICE = 16;

/** Sync requests served to one peer at once (a syncing peer has two in flight). */
const MAX_SERVED_PER_PEER = 4;

/**
 * lotchain's network: the blocks-and-transactions layer over the bytes-level P2PNode.
 *
 * - Gossip: /lotchain/<chainId>/tx/1 and /block/1 carry canonical encodings; each topic's
 *   validator decodes with size limits and hands the item to the mempool (through the node) or
 *   the chain, and its verdict (accept relays; ignore drops; reject drops and costs the relaying
 *   peer points) follows the item's rejection code (see protocols.ts).
 * - Status: on every connection and then every few seconds, each side sends its chain status
 *   (chain id, genesis hash, head, score) on /lotchain/status/1 and gets the peer's back. A peer
 *   of another network is answered with the mismatch, logged and banned (so it is neither kept
 *   nor redialled); a peer with a better chain starts sync.
 * - Sync: blocks-by-range and blocks-by-hash (see Syncer).
 */
export class ChainNetwork {
  readonly #options: ChainNetworkOptions;
  readonly #log: Logger;
  readonly #protocols: ChainProtocols;
  readonly #peers = new PeerBook();
  readonly #syncer: Syncer;
  /** peers found on another network: their gossip is ignored until the ban takes them away */
  readonly #mismatched = new Set<string>();
  readonly #statusInFlight = new Map<string, Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** sync requests being served, per peer */
  readonly #serving = new Map<string, number>();
  #p2p: P2PNode | undefined;
  #poll: NodeJS.Timeout | undefined;
  #state: "created" | "starting" | "running" | "stopped" = "created";
  #stopping: Promise<void> | undefined;
  /** Admitted transactions waiting to leave in the next gossip batch. */
  #txQueue: Transaction[] = [];
  #txFlush: NodeJS.Timeout | undefined;

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
        refreshStatus: (peerId) => this.#exchangeStatus(peerId),
        penalize: (peerId, points, reason) => this.#penalize(peerId, points, reason),
        onImported: (block) => this.#imported(block, "sync"),
        onRejected: (code) => this.#rejected(code),
      },
      options.sync,
    );
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
    const p2p = await P2PNode.create({
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
    p2p.handle(ids.status, (req, from) => this.#serveStatus(req, from), {
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
      (req, from) => this.#serveLimited(from, () => this.#serveRange(req)),
      syncLimits,
    );
    p2p.handle(
      ids.blocksByHash,
      (req, from) => this.#serveLimited(from, () => this.#serveByHash(req)),
      syncLimits,
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
      await this.#flushTransactions();
      this.#state = "stopped";
      clearInterval(this.#poll);
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      const idle = this.#syncer.stop();
      await this.#p2p?.stop();
      await idle;
      await Promise.allSettled(this.#statusInFlight.values());
    })();
    return this.#stopping;
  }

  listenAddresses(): string[] {
    return this.#p2p?.listenAddresses() ?? [];
  }

  peerCount(): number {
    return this.#running ? this.#p2p!.peers().length : 0;
  }

  /** Whether sync is catching up with a better peer. Cheap: the block producer asks it often. */
  get syncing(): boolean {
    return this.#syncer.progress().syncing;
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

  /** Peers subscribed to our gossip topics (a publish reaches these). */
  gossipPeers(): { tx: string[]; block: string[] } {
    if (!this.#running) return { tx: [], block: [] };
    return {
      tx: this.#p2p!.topicPeers(this.#protocols.txTopic),
      block: this.#p2p!.topicPeers(this.#protocols.blockTopic),
    };
  }

  /** Current bans. */
  banned(): { peerId: string; until: number }[] {
    return this.#p2p?.banned() ?? [];
  }

  /** Sends one of our blocks to the peers. Never throws: a node alone or stopping is fine. */
  async publishBlock(block: Block): Promise<void> {
    await this.#publish(this.#protocols.blockTopic, block.encoded, { block: block.hashHex });
  }

  /**
   * Queues a transaction this node admitted (through the API, or back from a reverted block) for
   * the next gossip batch: batches leave every TX_BATCH_MS, or at once when full. Never throws.
   */
  async publishTransaction(tx: Transaction): Promise<void> {
    if (!this.#running) return;
    this.#txQueue.push(tx);
    if (this.#txQueue.length >= MAX_TX_BATCH) await this.#flushTransactions();
    else this.#txFlush ??= setTimeout(() => void this.#flushTransactions(), TX_BATCH_MS);
  }

  async #flushTransactions(): Promise<void> {
    clearTimeout(this.#txFlush);
    this.#txFlush = undefined;
    while (this.#txQueue.length > 0) {
      const batch = this.#txQueue.splice(0, MAX_TX_BATCH);
      await this.#publish(this.#protocols.txTopic, encodeTxBatch(batch), { txs: batch.length });
    }
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
      this.#mismatched.delete(peerId);
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

  async #publish(topic: string, data: Uint8Array, what: object): Promise<void> {
    if (!this.#running) return;
    try {
      const peers = await this.#p2p!.publish(topic, data);
      this.#log.debug({ ...what, peers }, "published");
    } catch (err) {
      this.#log.warn({ ...what, err }, "publishing failed");
    }
  }

  // ------------------------------------------------------------------ gossip

  /**
   * A batch of transactions: each goes to the mempool. Any transaction no honest node would send
   * (malformed, a bad signature, another chain) condemns the batch and its relayer; otherwise the
   * batch is relayed when at least one transaction was new here, and ignored when none was.
   */
  async #onGossipTx(data: Uint8Array, from: string): Promise<GossipVerdict> {
    if (this.#mismatched.has(from)) return "ignore";
    let items: Uint8Array[];
    try {
      items = decodeTxBatch(data);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      this.#options.onTransactionRejected?.(e.code);
      return "reject";
    }
    let accepted = 0;
    for (let i = 0; i < items.length; i++) {
      // Admission verifies a signature: let timers and I/O run between slices of a batch.
      if (i > 0 && i % TX_ADMIT_SLICE === 0) await new Promise((r) => setImmediate(r));
      if (!this.#running) return "ignore";
      let tx: Transaction;
      try {
        try {
          tx = decodeTransaction(items[i]!);
        } catch (e) {
          if (isValidationError(e)) this.#options.onTransactionRejected?.(e.code);
          throw e;
        }
        this.#options.onTransaction(tx);
        accepted++;
      } catch (e) {
        if (!isValidationError(e)) throw e;
        if (txVerdict(e.code) === "reject") {
          this.#log.debug({ from, code: e.code, reason: e.message }, "gossiped tx rejected");
          return "reject";
        }
      }
    }
    return accepted > 0 ? "accept" : "ignore";
  }

  async #onGossipBlock(data: Uint8Array, from: string): Promise<GossipVerdict> {
    if (this.#mismatched.has(from)) return "ignore";
    const { chain } = this.#options;
    let block: Block;
    try {
      block = decodeBlock(data);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      this.#rejected(e.code);
      this.#log.debug({ from, code: e.code, reason: e.message }, "undecodable gossiped block");
      return "reject";
    }
    try {
      const result = await chain.importBlock(block);
      switch (result.status) {
        case "head":
          this.#peers.noteHead(from, chain.head);
          this.#imported(block, "gossip");
          return "accept";
        case "side":
          this.#imported(block, "gossip");
          return "accept";
        case "known":
          return "ignore";
        case "orphan":
          this.#syncer.onOrphan(from, block, result.missingParent!);
          return "ignore";
      }
    } catch (e) {
      if (!isValidationError(e)) throw e;
      this.#rejected(e.code);
      const verdict = blockVerdict(e.code);
      this.#log[verdict === "reject" ? "info" : "debug"](
        {
          from,
          block: block.hashHex,
          height: block.header.height,
          code: e.code,
          reason: e.message,
        },
        verdict === "reject" ? "gossiped block rejected" : "gossiped block ignored",
      );
      return verdict;
    }
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
    this.#exchangeStatus(peerId).catch((err: unknown) =>
      this.#log.debug({ err, peerId }, "status exchange failed"),
    );
  }

  #onDisconnect(peerId: string): void {
    this.#peers.delete(peerId);
    // Checked again should it come back (its ban over, or lifted).
    this.#mismatched.delete(peerId);
  }

  #pollPeers(): void {
    if (!this.#running) return;
    for (const peer of this.#p2p!.peers()) this.#onConnect(peer.peerId);
  }

  /** Sends our status, records the peer's. One exchange per peer at a time. */
  #exchangeStatus(peerId: string): Promise<void> {
    const running = this.#statusInFlight.get(peerId);
    if (running) return running;
    const exchange = this.#requestStatus(peerId).finally(() => this.#statusInFlight.delete(peerId));
    this.#statusInFlight.set(peerId, exchange);
    return exchange;
  }

  async #requestStatus(peerId: string): Promise<void> {
    if (!this.#running || this.#mismatched.has(peerId)) return;
    let response: Uint8Array;
    try {
      response = await this.#p2p!.request(
        peerId,
        this.#protocols.status,
        encodeStatus(this.#ourStatus()),
        {
          maxResponseBytes: WIRE_LIMITS.statusBytes,
          timeoutMs: WIRE_LIMITS.statusTimeoutMs,
        },
      );
    } catch (err) {
      if (err instanceof NetError && err.code === "RemoteError" && isMismatchReason(err.message)) {
        this.#refuse(peerId, `peer refused us: ${err.message}`, 0);
        return;
      }
      if (err instanceof NetError) {
        this.#log.debug({ peerId, code: err.code, reason: err.message }, "status request failed");
        return;
      }
      throw err;
    }
    let theirs: ChainStatus;
    try {
      theirs = decodeStatus(response);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      this.#penalize(peerId, SYNC_PENALTY.badStatus, `bad status: ${e.message}`);
      return;
    }
    const mismatch = statusMismatch(this.#ourStatus(), theirs);
    if (mismatch !== undefined) {
      this.#refuse(peerId, mismatch, 0);
      return;
    }
    this.#recordStatus(peerId, theirs);
  }

  async #serveStatus(request: Uint8Array, from: string): Promise<Uint8Array> {
    let theirs: ChainStatus;
    try {
      theirs = decodeStatus(request);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      this.#penalize(from, SYNC_PENALTY.badStatus, `bad status: ${e.message}`);
      throw e;
    }
    const ours = this.#ourStatus();
    const mismatch = statusMismatch(ours, theirs);
    if (mismatch !== undefined) {
      // Answer first (the thrown message goes back to the peer), ban a moment later.
      this.#refuse(from, mismatch, MISMATCH_BAN_DELAY_MS);
      throw new Error(mismatch);
    }
    this.#recordStatus(from, theirs);
    return encodeStatus(ours);
  }

  #recordStatus(peerId: string, status: ChainStatus): void {
    if (!this.#running) return;
    this.#peers.set(peerId, status);
    if (isBetterChain(status, this.#options.chain.head)) this.#syncer.kick();
  }

  /** A peer on another network: logged, its gossip ignored, and banned after `delayMs`. */
  #refuse(peerId: string, reason: string, delayMs: number): void {
    if (this.#mismatched.has(peerId)) return;
    this.#mismatched.add(peerId);
    this.#peers.delete(peerId);
    this.#log.warn({ peerId, reason }, "peer is on another network; disconnecting and banning it");
    const ban = () => {
      if (!this.#running) return;
      this.#p2p!.ban(peerId, this.#options.mismatchBanMs ?? DEFAULT_MISMATCH_BAN_MS, reason);
    };
    if (delayMs <= 0) {
      ban();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      ban();
    }, delayMs);
    timer.unref();
    this.#timers.add(timer);
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
   * At most a few sync requests of one peer are served at a time; more are refused. A request
   * that does not decode (no honest node sends one) is answered with the reason and costs points.
   */
  async #serveLimited(from: string, serve: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const active = this.#serving.get(from) ?? 0;
    if (active >= MAX_SERVED_PER_PEER) throw new Error("busy: too many sync requests at once");
    this.#serving.set(from, active + 1);
    try {
      return await serve();
    } catch (e) {
      if (isValidationError(e))
        this.#penalize(from, SYNC_PENALTY.badRequest, `bad sync request: ${e.message}`);
      throw e;
    } finally {
      const left = (this.#serving.get(from) ?? 1) - 1;
      if (left === 0) this.#serving.delete(from);
      else this.#serving.set(from, left);
    }
  }

  async #serveRange(request: Uint8Array): Promise<Uint8Array> {
    const { from, count } = decodeRangeRequest(request, WIRE_LIMITS.maxRangeBlocks);
    const { chain } = this.#options;
    const blocks = await readBlocksWithin(
      (start, limit) => chain.getBlocks(start, limit),
      from,
      count,
      WIRE_LIMITS.syncResponseBytes,
    );
    return encodeBlockList(blocks, WIRE_LIMITS.syncResponseBytes);
  }

  async #serveByHash(request: Uint8Array): Promise<Uint8Array> {
    const hashes = decodeHashRequest(request, WIRE_LIMITS.maxHashes);
    const found = await Promise.all(hashes.map((h) => this.#options.chain.getBlockByHash(h)));
    return encodeBlockList(
      found.filter((b): b is Block => b !== undefined),
      WIRE_LIMITS.syncResponseBytes,
    );
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
