import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { readGauge } from "../util/gauge.js";

/** The node's Prometheus metrics; gauges read live values when scraped. */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly blocksImported: Counter<"source">;
  readonly blocksRejected: Counter<"reason">;
  readonly transactionsAccepted: Counter<"source">;
  readonly transactionsRejected: Counter<"reason">;
  readonly reorgs: Counter;
  readonly blockImportSeconds: Histogram;

  constructor(live: {
    height: () => number;
    finalizedHeight: () => number;
    peers: () => number;
    mempoolSize: () => number;
    totalSupply: () => bigint;
    syncing: () => boolean;
    /** Gossip copies received per topic (see ChainNetwork.gossipCounts). */
    gossip?: () => {
      topics: Map<
        string,
        { messages: number; firstCopies: number; items: number; firstItems: number; bytes: number }
      >;
      txItemsKnown: number;
      compact: { blocks: number; txsKnown: number; txsFetched: number; wholeBlocks: number };
    };
    /** Signature verification: in the pool's workers, on the event loop, cache hits. */
    signatures?: () => {
      worker: number;
      inline: number;
      batches: number;
      queued: number;
      cacheHits: number;
    };
  }) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: "lotchain_" });
    const gauge = (name: string, help: string, read: () => number) =>
      readGauge(registry, name, help, read);
    gauge("lotchain_head_height", "height of the head block", live.height);
    gauge("lotchain_finalized_height", "height of the last final block", live.finalizedHeight);
    gauge("lotchain_peers", "connected peers", live.peers);
    gauge("lotchain_mempool_transactions", "pending transactions", live.mempoolSize);
    gauge("lotchain_total_supply", "sum of balances and stakes", () => Number(live.totalSupply()));
    gauge("lotchain_syncing", "1 while catching up with peers", () => (live.syncing() ? 1 : 0));
    const gossip = live.gossip;
    if (gossip) {
      new Gauge({
        name: "lotchain_gossip_received",
        help:
          "gossip received since start, per topic: messages and items (transactions of a batch), " +
          "every copy (copy=all) and first copies (copy=first); bytes of every copy",
        labelNames: ["topic", "unit", "copy"],
        registers: [registry],
        collect() {
          for (const [topic, c] of gossip().topics) {
            this.set({ topic, unit: "messages", copy: "all" }, c.messages);
            this.set({ topic, unit: "messages", copy: "first" }, c.firstCopies);
            this.set({ topic, unit: "items", copy: "all" }, c.items);
            this.set({ topic, unit: "items", copy: "first" }, c.firstItems);
            this.set({ topic, unit: "bytes", copy: "all" }, c.bytes);
          }
        },
      });
      new Gauge({
        name: "lotchain_compact_blocks",
        help:
          "compact blocks received since start: blocks filled, their transactions found pending " +
          "here, fetched from the relaying peer, and blocks fetched whole instead",
        labelNames: ["what"],
        registers: [registry],
        collect() {
          const { compact } = gossip();
          this.set({ what: "blocks" }, compact.blocks);
          this.set({ what: "txs_known" }, compact.txsKnown);
          this.set({ what: "txs_fetched" }, compact.txsFetched);
          this.set({ what: "whole_blocks" }, compact.wholeBlocks);
        },
      });
      gauge(
        "lotchain_gossip_tx_items_known",
        "gossiped transactions in first copies that were pending here already (not decoded)",
        () => gossip().txItemsKnown,
      );
    }
    const signatures = live.signatures;
    if (signatures) {
      new Gauge({
        name: "lotchain_signature_checks",
        help:
          "Ed25519 signature checks of transactions since start: verified in the worker pool, " +
          "verified on the event loop (pool closed or a worker lost), answered by the cache",
        labelNames: ["by"],
        registers: [registry],
        collect() {
          const now = signatures();
          this.set({ by: "worker" }, now.worker);
          this.set({ by: "inline" }, now.inline);
          this.set({ by: "cache" }, now.cacheHits);
        },
      });
      gauge(
        "lotchain_signature_batches",
        "batches handed to the verification workers since start",
        () => signatures().batches,
      );
      gauge(
        "lotchain_signatures_queued",
        "signatures waiting for a verification worker",
        () => signatures().queued,
      );
    }
    this.blocksImported = new Counter({
      name: "lotchain_blocks_imported_total",
      help: "blocks imported, by source",
      labelNames: ["source"],
      registers: [registry],
    });
    this.blocksRejected = new Counter({
      name: "lotchain_blocks_rejected_total",
      help: "blocks rejected, by reason",
      labelNames: ["reason"],
      registers: [registry],
    });
    this.transactionsAccepted = new Counter({
      name: "lotchain_transactions_accepted_total",
      help: "transactions admitted to the mempool, by source",
      labelNames: ["source"],
      registers: [registry],
    });
    this.transactionsRejected = new Counter({
      name: "lotchain_transactions_rejected_total",
      help: "transactions rejected, by reason",
      labelNames: ["reason"],
      registers: [registry],
    });
    this.reorgs = new Counter({
      name: "lotchain_reorgs_total",
      help: "chain reorganisations",
      registers: [registry],
    });
    this.blockImportSeconds = new Histogram({
      name: "lotchain_block_import_seconds",
      help: "time to validate and store a block",
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2],
      registers: [registry],
    });
  }
}
