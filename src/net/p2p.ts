import { EventEmitter } from "node:events";
import type { Connection, PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "pino";
import { hostPortOf, listenAddress, parseBootstrapAddress, peerIdOf } from "./addresses.js";
import { BanList } from "./ban-list.js";
import { BootstrapDialer } from "./bootstrap-dialer.js";
import { BoundedMap } from "./bounded-map.js";
import { DiscoveryDialer } from "./discovery-dialer.js";
import { DuplicateConnectionGuard } from "./duplicate-connections.js";
import { NetError } from "./errors.js";
import { type GossipMetrics, type GossipValidator, topicValidator } from "./gossip.js";
import { GossipStats, type TopicCopies } from "./gossip-stats.js";
import { loadOrCreateIdentity } from "./identity.js";
import { buildLibp2p, type Libp2pNode, type TransportFactory } from "./libp2p-node.js";
import { PeerScores } from "./peer-scores.js";
import { peersToDrop, type SlotPeer } from "./peer-slots.js";
import {
  answerRequest,
  type HandlerLimits,
  type ReqRespHooks,
  type RequestHandler,
  type RequestOptions,
  sendRequest,
} from "./req-resp.js";

export { NetError, type NetErrorCode } from "./errors.js";
export type { GossipValidator, GossipVerdict } from "./gossip.js";
export { identityPath } from "./identity.js";
export type { HandlerLimits, RequestHandler, RequestOptions } from "./req-resp.js";

export interface ScoringOptions {
  /** a peer whose score falls to or below this is disconnected and banned */
  banThreshold: number;
  /** how long a score ban lasts */
  banMs: number;
  /** scores recover toward 0, halving every this many ms */
  halfLifeMs: number;
  /** points lost per gossip message a validator rejects */
  gossipRejectPenalty: number;
  /** points lost per broken size limit or framing (gossip or request/response) */
  violationPenalty: number;
}

export interface P2POptions {
  /** the identity lives in <dataDir>/p2p/identity.key, created 0600 when missing */
  dataDir: string;
  /** listen on /ip4|ip6/<host>/tcp/<port>; port 0 picks a free port */
  host: string;
  port: number;
  /** "host:port" (dialled without knowing the peer id) or a multiaddr, with or without /p2p/<id> */
  bootstrap: string[];
  /** discover peers on the LAN by multicast DNS */
  mdns?: boolean;
  /**
   * Peers beyond this are dropped, the least valuable first (see peer-slots.ts); libp2p admits
   * a few more connections than this so that a newcomer can take an idle peer's place (default
   * 100)
   */
  maxConnections?: number;
  /** discovered peers are dialled while the node has fewer connections than this (default 25) */
  targetPeers?: number;
  /** per network, e.g. "/lotchain/<chainId>": names the DHT protocol and the mDNS service */
  protocolPrefix: string;
  logger: Logger;
  scoring?: Partial<ScoringOptions>;
  /** largest gossipsub RPC frame from a peer (default 4 MiB); per-topic limits come on subscribe */
  maxGossipRpcBytes?: number;
  /** items a gossip message of a topic holds, for the copy counts (default: 1) */
  gossipItemsOf?: (topic: string, data: Uint8Array) => number;
  /** redial backoff for dropped bootstrap peers and failed discovered peers */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** A transport in place of TCP: simulations wrap TCP to delay every write (bench/sim). */
  transport?: TransportFactory;
  /** Gossipsub's metrics registry: simulations count duplicate deliveries with it. */
  gossipMetrics?: GossipMetrics;
}

export interface PeerSummary {
  peerId: string;
  /** remote addresses of the open connections */
  addresses: string[];
  /** lotchain's score of the peer: 0 is neutral, penalties make it negative */
  score: number;
  direction: "inbound" | "outbound";
}

export interface P2PEvents {
  "peer:connect": [peerId: string];
  "peer:disconnect": [peerId: string];
}

const DEFAULT_SCORING: ScoringOptions = {
  banThreshold: -100,
  banMs: 10 * 60_000,
  halfLifeMs: 5 * 60_000,
  gossipRejectPenalty: 10,
  violationPenalty: 20,
};
const MAINTENANCE_INTERVAL_MS = 5_000;
/** A peer stays protected from being dropped for this long after it proved useful. */
const USEFUL_MS = 30 * 60_000;
/** A peer dropped for room is not let in again (inbound) for this long. */
const DROPPED_REFUSE_MS = 2 * 60_000;
/** libp2p admits this many connections past maxConnections (a newcomer's way in). */
const slotHeadroom = (maxPeers: number) => Math.max(8, Math.ceil(maxPeers / 4));

function parsePeerId(peerId: string): PeerId {
  try {
    return peerIdFromString(peerId);
  } catch (err) {
    throw new NetError("InvalidPeerId", `invalid peer id "${peerId}"`, { cause: err });
  }
}

/**
 * lotchain's libp2p node, at the level of bytes: gossip topics with validators, request/response
 * protocols with limits, discovery, reconnection, peer scores and bans. It knows nothing of blocks
 * or transactions.
 */
export class P2PNode extends EventEmitter<P2PEvents> {
  readonly peerId: string;
  readonly #libp2p: Libp2pNode;
  readonly #log: Logger;
  readonly #scoring: ScoringOptions;
  readonly #scores: PeerScores;
  readonly #bans: BanList;
  readonly #bootstrapAddresses: Multiaddr[];
  readonly #discovery: DiscoveryDialer;
  readonly #duplicates: DuplicateConnectionGuard<Connection>;
  readonly #reconnect: { baseMs: number; maxMs: number };
  readonly #topicLimits = new Map<string, number>();
  readonly #protocols = new Set<string>();
  readonly #reqRespHooks: ReqRespHooks;
  readonly #maxPeers: number;
  /** peer id → when it last proved useful (see markUseful) */
  readonly #useful = new BoundedMap<string, number>(4_096);
  /** peer id → until when it is refused inbound, after it was dropped for room */
  readonly #dropped: BoundedMap<string, number>;
  readonly #gossipStats: GossipStats;
  #bootstrap: BootstrapDialer | undefined;
  #maintenance: NodeJS.Timeout | undefined;
  #state: "created" | "running" | "stopped" = "created";
  #stopped: Promise<void> | undefined;

  static async create(opts: P2POptions): Promise<P2PNode> {
    const log = opts.logger.child({ module: "p2p" });
    const scoring = { ...DEFAULT_SCORING, ...opts.scoring };
    const bootstrap = opts.bootstrap.map(parseBootstrapAddress);
    const listen = listenAddress(opts.host, opts.port);
    const privateKey = await loadOrCreateIdentity(opts.dataDir, log);
    const bans = new BanList();
    const scores = new PeerScores(scoring.halfLifeMs);
    const maxConnections = opts.maxConnections ?? 100;
    const dropped = new BoundedMap<string, number>(4_096);
    const gossipStats = new GossipStats(opts.gossipItemsOf);
    const libp2p = await buildLibp2p({
      refuseInbound: (peerId) => (dropped.get(peerId) ?? 0) > Date.now(),
      privateKey,
      listen,
      maxConnections: maxConnections + slotHeadroom(maxConnections),
      protocolPrefix: opts.protocolPrefix,
      mdns: opts.mdns === true,
      maxGossipRpcBytes: opts.maxGossipRpcBytes ?? 4 * 1024 * 1024,
      bans,
      scores,
      banThreshold: scoring.banThreshold,
      transport: opts.transport,
      gossipMetrics: opts.gossipMetrics,
      gossipStats,
    });
    return new P2PNode(libp2p, {
      log,
      gossipStats,
      scoring,
      scores,
      bans,
      bootstrap,
      maxPeers: maxConnections,
      dropped,
      targetPeers: Math.min(opts.targetPeers ?? 25, maxConnections),
      reconnect: { baseMs: opts.reconnectBaseMs ?? 1_000, maxMs: opts.reconnectMaxMs ?? 30_000 },
    });
  }

  private constructor(
    libp2p: Libp2pNode,
    parts: {
      log: Logger;
      gossipStats: GossipStats;
      scoring: ScoringOptions;
      scores: PeerScores;
      bans: BanList;
      bootstrap: Multiaddr[];
      maxPeers: number;
      dropped: BoundedMap<string, number>;
      targetPeers: number;
      reconnect: { baseMs: number; maxMs: number };
    },
  ) {
    super();
    this.#libp2p = libp2p;
    this.peerId = libp2p.peerId.toString();
    this.#log = parts.log;
    this.#gossipStats = parts.gossipStats;
    this.#scoring = parts.scoring;
    this.#scores = parts.scores;
    this.#bans = parts.bans;
    this.#bootstrapAddresses = parts.bootstrap;
    this.#reconnect = parts.reconnect;
    this.#maxPeers = parts.maxPeers;
    this.#dropped = parts.dropped;
    this.#reqRespHooks = {
      onViolation: (peerId, reason) =>
        this.penalize(peerId, this.#scoring.violationPenalty, reason),
      logger: this.#log,
    };
    this.#discovery = new DiscoveryDialer(
      {
        connectionCount: () => this.#libp2p.getConnections().length,
        isConnected: (peerId) => this.#isConnected(peerId),
        isBanned: (peerId) => this.#bans.isBanned(peerId),
        dial: async (peerId, signal) => {
          await this.#libp2p.dial(peerIdFromString(peerId), { signal });
        },
        knownPeers: async () =>
          (await this.#libp2p.peerStore.all())
            .filter((peer) => peer.addresses.length > 0)
            .map((peer) => peer.id.toString())
            .filter((peerId) => peerId !== this.peerId),
        logger: this.#log,
      },
      parts.targetPeers,
      parts.reconnect,
    );

    this.#duplicates = new DuplicateConnectionGuard<Connection>({
      localPeerId: this.peerId,
      connections: (peerId) => this.#libp2p.getConnections(peerIdFromString(peerId)),
      close: (connection) => {
        connection.close().catch((err: Error) => connection.abort(err));
      },
      reidentify: (connection) => this.#libp2p.services.identify.identify(connection),
      logger: this.#log,
    });

    libp2p.addEventListener("connection:open", (event) => {
      if (this.#state === "running") this.#duplicates.onOpen(event.detail.remotePeer.toString());
    });
    libp2p.addEventListener("connection:close", (event) => {
      if (this.#state === "running") this.#duplicates.onClose(event.detail.remotePeer.toString());
    });
    libp2p.addEventListener("peer:connect", (event) => {
      const peerId = event.detail.toString();
      this.#log.debug({ peerId }, "peer connected");
      this.#emitSafely("peer:connect", peerId);
      if (this.#state === "running") this.#keepSlots(peerId);
    });
    libp2p.addEventListener("peer:disconnect", (event) => {
      const peerId = event.detail.toString();
      this.#log.debug({ peerId }, "peer disconnected");
      this.#bootstrap?.onPeerDisconnect(peerId);
      this.#emitSafely("peer:disconnect", peerId);
    });
    libp2p.addEventListener("peer:discovery", (event) => {
      if (this.#state === "running") this.#discovery.onDiscovered(event.detail.id.toString());
    });
  }

  /** Listens, subscribes, and starts dialling the bootstrap peers. A node starts once. */
  async start(): Promise<void> {
    if (this.#state === "running") return;
    if (this.#state === "stopped")
      throw new Error("a stopped P2PNode cannot be restarted; create a new one");
    await this.#libp2p.start();
    this.#state = "running";
    for (const topic of this.#topicLimits.keys()) this.#libp2p.services.pubsub.subscribe(topic);

    const ownAddresses = new Set(this.#libp2p.getMultiaddrs().map(hostPortOf));
    const isSelf = (a: Multiaddr) => peerIdOf(a) === this.peerId || ownAddresses.has(hostPortOf(a));
    this.#bootstrap = new BootstrapDialer(
      this.#bootstrapAddresses.filter((a) => !isSelf(a)),
      {
        dial: async (address, signal) =>
          (await this.#libp2p.dial(address, { signal })).remotePeer.toString(),
        isConnected: (peerId) => this.#isConnected(peerId),
        banRemainingMs: (peerId) => this.#bans.remainingMs(peerId),
        logger: this.#log,
      },
      this.#reconnect,
    );
    this.#bootstrap.start();
    this.#maintenance = setInterval(() => this.#maintain(), MAINTENANCE_INTERVAL_MS);
    this.#maintenance.unref();
    this.#log.info({ peerId: this.peerId, listen: this.listenAddresses() }, "p2p node listening");
  }

  /** Closes every connection and listener and clears every timer. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#state = "stopped";
      clearInterval(this.#maintenance);
      this.#bootstrap?.stop();
      this.#discovery.stop();
      this.#duplicates.stop();
      await this.#libp2p.stop();
      this.#log.info("p2p node stopped");
    })();
    return this.#stopped;
  }

  /** Full multiaddrs, ending in /p2p/<peerId>. */
  listenAddresses(): string[] {
    return this.#libp2p.getMultiaddrs().map((a) => a.toString());
  }

  peers(): PeerSummary[] {
    const byPeer = new Map<string, PeerSummary>();
    for (const connection of this.#libp2p.getConnections()) {
      if (connection.status !== "open") continue;
      const peerId = connection.remotePeer.toString();
      const address = connection.remoteAddr.toString();
      const known = byPeer.get(peerId);
      if (known === undefined) {
        byPeer.set(peerId, {
          peerId,
          addresses: [address],
          score: this.#scores.get(peerId),
          direction: connection.direction,
        });
      } else if (!known.addresses.includes(address)) {
        known.addresses.push(address);
      }
    }
    return [...byPeer.values()];
  }

  /**
   * Joins a gossip topic. Every message from a peer goes through `validate` (see GossipValidator),
   * after a size check against `maxBytes`; rejected messages cost the relaying peer points.
   */
  subscribe(topic: string, validate: GossipValidator, maxBytes: number): void {
    if (this.#topicLimits.has(topic))
      throw new NetError("AlreadyRegistered", `already subscribed to ${topic}`);
    this.#topicLimits.set(topic, maxBytes);
    const pubsub = this.#libp2p.services.pubsub;
    pubsub.topicValidators.set(
      topic,
      topicValidator(
        topic,
        (data, from) => {
          this.#gossipStats.onFirstCopy(topic, data);
          return validate(data, from);
        },
        maxBytes,
        {
          onReject: (from, reason) =>
            this.penalize(from, this.#scoring.gossipRejectPenalty, reason),
          logger: this.#log,
        },
      ),
    );
    if (this.#state === "running") pubsub.subscribe(topic);
  }

  /**
   * Sends to the topic's peers; resolves with how many peers it went to. Zero peers is not an
   * error (a node alone must run), nor is publishing a payload already seen. After stop(), a no-op.
   */
  async publish(topic: string, data: Uint8Array): Promise<number> {
    if (this.#state === "created") throw new NetError("NotStarted", "publish before start()");
    if (this.#state === "stopped") return 0;
    const maxBytes = this.#topicLimits.get(topic);
    if (maxBytes !== undefined && data.length > maxBytes) {
      throw new NetError(
        "MessageTooLarge",
        `${data.length} bytes over the ${maxBytes}-byte limit of ${topic}`,
      );
    }
    this.#gossipStats.onPublish(topic, data);
    const { recipients } = await this.#libp2p.services.pubsub.publish(topic, data);
    return recipients.length;
  }

  /** Copies of gossip messages received, per topic (every copy against the first ones). */
  gossipCopies(): Map<string, TopicCopies> {
    return this.#gossipStats.snapshot();
  }

  /** Peers known to be subscribed to the topic (a publish reaches these). */
  topicPeers(topic: string): string[] {
    if (this.#state !== "running") return [];
    return this.#libp2p.services.pubsub.getSubscribers(topic).map((id) => id.toString());
  }

  /** Serves a request/response protocol (the full protocol id, e.g. "/lotchain/<chain>/blocks/1"). */
  handle(protocol: string, handler: RequestHandler, limits: HandlerLimits): void {
    if (this.#protocols.has(protocol))
      throw new NetError("AlreadyRegistered", `already handling ${protocol}`);
    this.#protocols.add(protocol);
    this.#libp2p
      .handle(protocol, (stream, connection) => {
        const from = connection.remotePeer.toString();
        answerRequest(stream, from, handler, limits, this.#reqRespHooks).catch((err: unknown) =>
          this.#log.error({ err, protocol, from }, "request handler crashed"),
        );
      })
      .catch((err: unknown) => this.#log.error({ err, protocol }, "cannot register protocol"));
  }

  /**
   * One request to a peer (dialled if need be). Throws NetError: Timeout, ResponseTooLarge
   * (the peer is penalised), BadResponse (penalised), RemoteError (the handler failed) or
   * Unreachable.
   */
  async request(
    peerId: string,
    protocol: string,
    req: Uint8Array,
    opts: RequestOptions,
  ): Promise<Uint8Array> {
    if (this.#state !== "running")
      throw new NetError("NotStarted", "request while the node is not running");
    const id = parsePeerId(peerId);
    return sendRequest(
      peerId,
      (signal) => this.#libp2p.dialProtocol(id, protocol, { signal }),
      req,
      opts,
      this.#reqRespHooks,
    );
  }

  /** Lowers the peer's score by `points`; at the threshold the peer is disconnected and banned. */
  penalize(peerId: string, points: number, reason: string): void {
    if (!(points > 0)) return;
    parsePeerId(peerId);
    const score = this.#scores.add(peerId, -points);
    this.#log.debug({ peerId, points, score, reason }, "peer penalised");
    if (score <= this.#scoring.banThreshold) {
      this.ban(peerId, this.#scoring.banMs, `score ${score.toFixed(1)} after: ${reason}`);
    }
  }

  /**
   * The peer did something only an honest, working peer does (a block it relayed became our
   * head, blocks it served verified): it keeps its connection when peers are dropped for room.
   */
  markUseful(peerId: string): void {
    this.#useful.set(peerId, Date.now());
  }

  /** Refuses the peer for `ms` and closes its connections. Its score starts over afterwards. */
  ban(peerId: string, ms: number, reason = "banned"): void {
    const id = parsePeerId(peerId);
    this.#bans.ban(peerId, ms);
    this.#scores.reset(peerId);
    this.#log.warn({ peerId, ms, reason }, "peer banned");
    if (this.#state === "running") {
      this.#libp2p
        .hangUp(id)
        .catch((err: unknown) => this.#log.debug({ err, peerId }, "hang up failed"));
    }
  }

  /** Lifts a ban and redials the peer if its address is known. */
  unban(peerId: string): void {
    const id = parsePeerId(peerId);
    if (!this.#bans.unban(peerId)) return;
    this.#log.info({ peerId }, "peer unbanned");
    if (this.#state === "running") {
      this.#libp2p
        .dial(id)
        .catch((err: unknown) => this.#log.debug({ err, peerId }, "redial after unban failed"));
    }
  }

  /** Current bans (for admin routes). */
  banned(): { peerId: string; until: number }[] {
    return this.#bans.list();
  }

  /**
   * Dials a peer now, by "host:port" or multiaddr (with or without /p2p/<id>), and resolves with
   * its peer id. For admin routes and tests; bootstrap peers are dialled on their own.
   */
  async connect(address: string, timeoutMs = 10_000): Promise<string> {
    if (this.#state !== "running")
      throw new NetError("NotStarted", "connect while the node is not running");
    const target = parseBootstrapAddress(address);
    try {
      const connection = await this.#libp2p.dial(target, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      return connection.remotePeer.toString();
    } catch (err) {
      throw new NetError("Unreachable", `cannot connect to ${address}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Closes the peer's connections without banning it (it may come back). */
  async disconnect(peerId: string): Promise<void> {
    if (this.#state !== "running") return;
    await this.#libp2p.hangUp(parsePeerId(peerId));
  }

  // A throwing listener must not unwind into libp2p's event dispatch.
  #emitSafely(event: keyof P2PEvents, peerId: string): void {
    try {
      this.emit(event, peerId);
    } catch (err) {
      this.#log.error({ err, event, peerId }, "peer event listener threw");
    }
  }

  /** More peers than slots (a newcomer came): drops the least valuable (see peer-slots.ts). */
  #keepSlots(newcomer: string): void {
    const byPeer = new Map<string, SlotPeer>();
    const now = Date.now();
    for (const connection of this.#libp2p.getConnections()) {
      if (connection.status !== "open") continue;
      const peerId = connection.remotePeer.toString();
      const known = byPeer.get(peerId);
      if (known) {
        known.outbound ||= connection.direction === "outbound";
        continue;
      }
      byPeer.set(peerId, {
        peerId,
        outbound: connection.direction === "outbound",
        useful: now - (this.#useful.get(peerId) ?? Number.NEGATIVE_INFINITY) < USEFUL_MS,
        score: this.#scores.get(peerId),
      });
    }
    for (const peerId of peersToDrop([...byPeer.values()], this.#maxPeers, newcomer)) {
      this.#dropped.set(peerId, now + DROPPED_REFUSE_MS);
      this.#log.info(
        { peerId, newcomer, peers: byPeer.size, max: this.#maxPeers },
        "peer slots full: dropped an unproven inbound peer",
      );
      this.#libp2p
        .hangUp(parsePeerId(peerId))
        .catch((err: unknown) => this.#log.debug({ err, peerId }, "hang up failed"));
    }
  }

  #isConnected(peerId: string): boolean {
    return this.#libp2p.getConnections(peerIdFromString(peerId)).length > 0;
  }

  #maintain(): void {
    if (this.#state !== "running") return;
    this.#scores.sweep();
    this.#bans.sweep();
    this.#bootstrap?.check();
    this.#discovery.topUp().catch((err: unknown) => this.#log.debug({ err }, "peer top-up failed"));
  }
}
