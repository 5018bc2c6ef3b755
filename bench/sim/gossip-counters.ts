import type { GossipMetrics } from "../../src/net/gossip.js";

type Labels = Record<string, string | number>;

/** Gossipsub's counters that the simulator reads (the rest of its metrics cost nothing here). */
const KEPT = new Set([
  "gossipsub_pre_validation_valid_total",
  "gossipsub_pre_validation_duplicate_total",
  "gossipsub_msg_received_prevalidation_total",
  "gossipsub_msg_forward_peers_total",
  "gossipsub_idontwant_rcv_msgids_total",
  // Gauges gossipsub sets when its metrics are collected (`collect()`), per topic string.
  "gossipsub_mesh_peer_count",
  "gossipsub_topic_peer_count",
]);

/**
 * A MetricsRegister for gossipsub's own metrics (the `metricsRegister` option), keeping a few
 * per-topic counters in memory: how many messages arrived first (valid) and how many again
 * (duplicate), which is the gossip amplification the simulator reports.
 */
export class GossipCounters {
  readonly values = new Map<string, number>();
  readonly metrics: GossipMetrics;
  readonly #collectors: (() => void)[] = [];

  constructor(topicLabels: Record<string, string>) {
    const values = this.values;
    const collectors = this.#collectors;
    const gauge = (config: { name: string }) => {
      const kept = KEPT.has(config.name);
      const key = (labels?: Labels) =>
        labels && "topic" in labels
          ? `${config.name}{${labels.topic}}`
          : labels && "topicStr" in labels
            ? `${config.name}{${labels.topicStr}}`
            : config.name;
      const add = (a?: Labels | number, b?: number, set = false) => {
        if (!kept) return;
        const labels = typeof a === "object" ? a : undefined;
        const value = typeof a === "number" ? a : (b ?? 1);
        const k = key(labels);
        values.set(k, set ? value : (values.get(k) ?? 0) + value);
      };
      return {
        inc: (a?: Labels | number, b?: number) => add(a, b),
        set: (a: Labels | number, b?: number) => add(a, b, true),
        addCollect: (collect: () => void) => collectors.push(collect),
      };
    };
    const histogram = () => ({ startTimer: () => () => {}, observe: () => {}, reset: () => {} });
    const avgMinMax = () => ({ set: () => {} });
    this.metrics = {
      register: { gauge, histogram, avgMinMax } as unknown as GossipMetrics["register"],
      topicLabels: new Map(Object.entries(topicLabels)),
    };
  }

  /** Has gossipsub set its gauges (mesh and topic peer counts among them) from its state now. */
  collect(): void {
    for (const c of this.#collectors) c();
  }

  /** A counter of a topic (by its label; gauges by topic string), 0 when never counted. */
  get(name: string, topic?: string): number {
    return this.values.get(topic === undefined ? name : `${name}{${topic}}`) ?? 0;
  }
}
