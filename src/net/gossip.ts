import { createHash } from "node:crypto";
import {
  type GossipsubOpts,
  type Message,
  StrictNoSign,
  type TopicValidatorFn,
  TopicValidatorResult,
} from "@libp2p/gossipsub";
import type { Logger } from "pino";
import type { GossipStats } from "./gossip-stats.js";

export type GossipVerdict = "accept" | "ignore" | "reject";

/**
 * Decides a gossip message: "accept" delivers it (the validator is the handler: do the work
 * here, e.g. add to the mempool or import the block) and relays it; "ignore" drops it without
 * blame (duplicate, stale, not yet decidable); "reject" drops it and lowers the score of the
 * peer that relayed it.
 */
export type GossipValidator = (
  data: Uint8Array,
  from: string,
) => Promise<GossipVerdict> | GossipVerdict;

const TO_GOSSIPSUB: Record<GossipVerdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
};

/** Gossip message id: SHA-256 of the payload. Equal payloads are one message network-wide. */
export function contentMessageId(message: Message): Uint8Array {
  return createHash("sha256").update(message.data).digest();
}

export interface GossipTuning {
  /** counts every copy of every message (see GossipStats) */
  stats?: GossipStats;
  /** largest gossipsub RPC frame accepted from a peer (it may batch several messages) */
  maxRpcBytes: number;
  /** lotchain's own score of a peer, folded into gossipsub's score (P5) */
  appScore: (peerId: string) => number;
  /** the app score at which lotchain bans a peer (ScoringOptions.banThreshold, default -100) */
  banThreshold?: number;
  /** gossipsub's own metrics, when someone reads them (a simulation counting duplicates) */
  metrics?: GossipMetrics;
}

/** Gossipsub's metrics registry, and the label each topic gets in it. */
export interface GossipMetrics {
  register: NonNullable<GossipsubOpts["metricsRegister"]>;
  topicLabels: Map<string, string>;
}

const GOSSIP_THRESHOLD = -10;
const PUBLISH_THRESHOLD = -50;

/**
 * Gossipsub as lotchain uses it:
 * - StrictNoSign + content-addressed ids, as Ethereum's consensus layer does: payloads are
 *   already signed transactions and blocks, and gossipsub's per-message signing costs about 4x
 *   in throughput while adding nothing.
 * - Small networks: floodPublish sends our own messages to every subscribed peer, so two or
 *   three nodes do not wait for a mesh; publishing with no peer is not an error (one node alone
 *   must run); republishing a known payload is a no-op.
 * - Scores: the app score counts with weight 1, so a peer at -10 gets no gossip and at -50 gets
 *   none of our messages. Gossipsub's graylist (RPCs dropped unread) sits below lotchain's ban
 *   threshold: a graylisted peer's messages are never validated and earn no penalty, so with
 *   the graylist above the ban (gossipsub's default -80 against -100) a peer sending one invalid
 *   message a second would stay connected for ever, its score stuck between the two. No
 *   per-topic score parameters: their delivery-rate penalties would punish honest peers on
 *   quiet topics (the tx topic of an idle chain).
 * - Loopback is whitelisted from the IP-colocation penalty: a devnet runs every node on 127.0.0.1.
 */
export function gossipsubOptions({
  maxRpcBytes,
  appScore,
  banThreshold = -100,
  metrics,
  stats,
}: GossipTuning): Partial<GossipsubOpts> {
  return {
    ...(metrics && {
      metricsRegister: metrics.register,
      metricsTopicStrToLabel: metrics.topicLabels,
    }),
    globalSignaturePolicy: StrictNoSign,
    // Called for every copy received (before the seen-cache drops a duplicate): what counts them.
    msgIdFn: stats
      ? (message) => {
          stats.onMessageId(message.topic, message.data);
          return contentMessageId(message);
        }
      : contentMessageId,
    fallbackToFloodsub: false,
    floodPublish: true,
    batchPublish: true,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    emitSelf: false,
    D: 6,
    Dlo: 4,
    Dhi: 12,
    Dout: 2,
    Dlazy: 6,
    heartbeatInterval: 700,
    maxInboundDataLength: maxRpcBytes,
    scoreThresholds: {
      gossipThreshold: GOSSIP_THRESHOLD,
      publishThreshold: PUBLISH_THRESHOLD,
      graylistThreshold: Math.min(2 * banThreshold, PUBLISH_THRESHOLD),
    },
    scoreParams: {
      appSpecificScore: appScore,
      appSpecificWeight: 1,
      IPColocationFactorWhitelist: new Set(["127.0.0.1", "::1"]),
    },
  };
}

export interface TopicValidatorHooks {
  /** called for every rejected message, with the peer that relayed it */
  onReject(from: string, reason: string): void;
  logger: Logger;
}

/**
 * Wraps lotchain's validator as gossipsub's: enforces the topic's size limit first, maps verdicts
 * to TopicValidatorResult (so gossipsub neither delivers nor relays what is not accepted), and
 * treats a throwing validator as a bug on our side (ignore, log), never as the peer's fault.
 */
export function topicValidator(
  topic: string,
  validate: GossipValidator,
  maxBytes: number,
  { onReject, logger }: TopicValidatorHooks,
): TopicValidatorFn {
  return async (peer, message) => {
    const from = peer.toString();
    if (message.data.length > maxBytes) {
      onReject(
        from,
        `${message.data.length}-byte message over the ${maxBytes}-byte limit of ${topic}`,
      );
      return TopicValidatorResult.Reject;
    }
    let verdict: GossipVerdict;
    try {
      verdict = await validate(message.data, from);
    } catch (err) {
      logger.error({ err, topic, from }, "gossip validator threw; message ignored");
      return TopicValidatorResult.Ignore;
    }
    const result = TO_GOSSIPSUB[verdict];
    if (result === undefined) {
      logger.error(
        { topic, verdict },
        "gossip validator returned an unknown verdict; message ignored",
      );
      return TopicValidatorResult.Ignore;
    }
    if (verdict === "reject") onReject(from, `message rejected on ${topic}`);
    return result;
  };
}
