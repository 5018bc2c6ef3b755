import { createHash } from "node:crypto";
import { gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { PeerId, PrivateKey } from "@libp2p/interface";
import { kadDHT, passthroughMapper } from "@libp2p/kad-dht";
import { mdns } from "@libp2p/mdns";
import { noise } from "@libp2p/noise";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { getNetConfig, isLoopback, isNetworkAddress } from "@libp2p/utils";
import { yamux } from "@libp2p/yamux";
import type { Multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import type { BanList } from "./ban-list.js";
import { type GossipMetrics, gossipsubOptions } from "./gossip.js";
import type { GossipStats } from "./gossip-stats.js";
import { InboundGate } from "./inbound-gate.js";
import type { PeerScores } from "./peer-scores.js";

/** What the libp2p node is built from; the P2PNode owns the ban list and scores it consults. */
export interface Libp2pSettings {
  privateKey: PrivateKey;
  listen: Multiaddr;
  maxConnections: number;
  protocolPrefix: string;
  mdns: boolean;
  maxGossipRpcBytes: number;
  bans: BanList;
  scores: PeerScores;
  /** lotchain's ban threshold: gossipsub's graylist is set below it (see gossipsubOptions) */
  banThreshold: number;
  /** the transport in place of TCP (simulations: TCP that delays every write, see P2POptions) */
  transport?: TransportFactory;
  /** gossipsub's metrics (simulations count duplicate deliveries with it) */
  gossipMetrics?: GossipMetrics;
  /** inbound peers refused for now though not banned (e.g. dropped for room lately) */
  refuseInbound?: (peerId: string) => boolean;
  /** counts the copies of gossip messages */
  gossipStats?: GossipStats;
}

/** What libp2p's `transports` takes: a factory of a transport from libp2p's components. */
export type TransportFactory = ReturnType<typeof tcp>;

/**
 * Inbound connections in their upgrade at once, and per remote host (see InboundGate). On a
 * loopback devnet every peer is the same host, so that host gets a larger share.
 */
export const INBOUND_LIMITS = {
  upgradeTimeoutMs: 10_000,
  maxPending: 64,
  maxPendingPerHost: 4,
  maxPendingPerHostLoopback: 32,
} as const;

/** The libp2p node lotchain runs: TCP + noise + yamux, identify, ping, kad-dht, gossipsub. */
export function buildLibp2p(s: Libp2pSettings) {
  const networkTag = createHash("sha256").update(s.protocolPrefix).digest("hex").slice(0, 12);
  const isBanned = (peerId: PeerId) => s.bans.isBanned(peerId.toString());
  const gate = new InboundGate(
    isLoopback(s.listen)
      ? INBOUND_LIMITS.maxPendingPerHostLoopback
      : INBOUND_LIMITS.maxPendingPerHost,
    INBOUND_LIMITS.upgradeTimeoutMs + 1_000,
  );
  return createLibp2p({
    start: false,
    privateKey: s.privateKey,
    addresses: { listen: [s.listen.toString()] },
    transports: [s.transport ?? tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Banned peers are refused at every gate: no dial to them, and a handshake with them (inbound,
    // or outbound to a host:port that turns out to be them) is closed as soon as their id is known.
    connectionGater: {
      // A host's share of the handshakes in progress (before any peer id is known).
      denyInboundConnection: (maConn) => {
        if (!isNetworkAddress(maConn.remoteAddr)) return false;
        const key = maConn.remoteAddr.toString();
        if (!gate.admit(getNetConfig(maConn.remoteAddr).host, key)) return true;
        maConn.addEventListener("close", () => gate.done(key), { once: true });
        return false;
      },
      denyInboundUpgradedConnection: (_peerId, maConn) => {
        gate.done(maConn.remoteAddr.toString());
        return false;
      },
      denyDialPeer: isBanned,
      denyInboundEncryptedConnection: (peerId) =>
        isBanned(peerId) || s.refuseInbound?.(peerId.toString()) === true,
      denyOutboundEncryptedConnection: isBanned,
    },
    connectionManager: {
      maxConnections: s.maxConnections,
      // libp2p refuses more than 5 inbound connections a second from one host; on a loopback
      // devnet every peer is the same host, so a devnet starting at once would trip it.
      inboundConnectionThreshold: isLoopback(s.listen) ? 100 : 5,
      maxIncomingPendingConnections: INBOUND_LIMITS.maxPending,
      inboundUpgradeTimeout: INBOUND_LIMITS.upgradeTimeoutMs,
    },
    peerDiscovery: s.mdns ? [mdns({ serviceTag: `_lotchain-${networkTag}._udp.local` })] : [],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: `${s.protocolPrefix}/kad/1.0.0`,
        // Every lotchain node is a dialable full node: serve the DHT rather than wait for
        // libp2p to decide the node has a public address (it never does on a private devnet).
        clientMode: false,
        // The default mapper drops private and loopback addresses from DHT answers, which would
        // make discovery useless on a devnet or a LAN.
        peerInfoMapper: passthroughMapper,
        querySelfInterval: 60_000,
      }),
      pubsub: gossipsub(
        gossipsubOptions({
          maxRpcBytes: s.maxGossipRpcBytes,
          appScore: (peerId) => s.scores.get(peerId),
          banThreshold: s.banThreshold,
          metrics: s.gossipMetrics,
          stats: s.gossipStats,
        }),
      ),
    },
  });
}

export type Libp2pNode = Awaited<ReturnType<typeof buildLibp2p>>;
