import { MAX_BLOCK_BYTES, MAX_BLOCK_TRANSACTIONS } from "../core/block.js";
import { type RejectCode, STATELESS_TX_REJECTIONS } from "../core/errors.js";
import { MAX_EVIDENCE_BYTES } from "../core/evidence.js";
import { MAX_TX_BYTES } from "../core/transaction.js";
import { MAX_COMPACT_BLOCK_BYTES } from "./compact-block.js";
import type { GossipVerdict } from "./p2p.js";

/**
 * The names lotchain speaks on libp2p, per network. Gossip topics and sync protocols carry the
 * chain id, so two networks never mix their messages; the status protocol does not, so a peer
 * of another network can still be told why it is refused.
 */
export interface ChainProtocols {
  /** libp2p's protocol prefix (DHT protocol, mDNS service) */
  prefix: string;
  txTopic: string;
  blockTopic: string;
  /** blocks as header, signature, evidence and transaction ids (compact-block.ts) */
  compactBlockTopic: string;
  /** slashing evidence: two headers one forger signed for one slot */
  evidenceTopic: string;
  status: string;
  blocksByRange: string;
  blocksByHash: string;
  /** who a peer is connected to, and their heads (neighbours.ts) */
  neighbours: string;
  /** the transactions of a block, by index: what a compact block's receiver lacks */
  blockTxs: string;
}

export function chainProtocols(chainId: string): ChainProtocols {
  const prefix = `/lotchain/${chainId}`;
  return {
    prefix,
    txTopic: `${prefix}/tx/1`,
    blockTopic: `${prefix}/block/1`,
    compactBlockTopic: `${prefix}/cblock/1`,
    evidenceTopic: `${prefix}/evidence/1`,
    status: "/lotchain/status/1",
    blocksByRange: `${prefix}/blocks-by-range/1`,
    blocksByHash: `${prefix}/blocks-by-hash/1`,
    neighbours: `${prefix}/neighbours/1`,
    blockTxs: `${prefix}/block-txs/1`,
  };
}

/** Transactions in one gossip message, and how long a node gathers them before sending. */
export const MAX_TX_BATCH = 256;
export const TX_BATCH_MS = 25;

/** Sizes and timeouts of the wire protocols. */
export const WIRE_LIMITS = {
  /**
   * gossip payloads: a batch of canonical transactions (CBOR heads: up to 3 bytes for the array,
   * 2 per transaction byte string), or one canonical block
   */
  txGossipBytes: 3 + MAX_TX_BATCH * (MAX_TX_BYTES + 3),
  blockGossipBytes: MAX_BLOCK_BYTES,
  /** one piece of slashing evidence, canonically encoded */
  evidenceGossipBytes: MAX_EVIDENCE_BYTES,
  /** a compact block: header, signature, evidence and the ids of up to a full block */
  compactBlockGossipBytes: MAX_COMPACT_BLOCK_BYTES,
  /** a status message (chain id, two hashes, heights, a decimal score) */
  statusBytes: 512,
  statusTimeoutMs: 5_000,
  /** blocks a blocks-by-range request may ask for */
  maxRangeBlocks: 64,
  /** hashes a blocks-by-hash request may name */
  maxHashes: 16,
  /** a sync request: a range or up to maxHashes hashes */
  syncRequestBytes: 1_024,
  /**
   * A sync response holds whole blocks up to this many bytes (at least one block, whatever its
   * size): five blocks of the largest size fit, or 64 ordinary ones.
   */
  syncResponseBytes: 8 * 1024 * 1024,
  syncTimeoutMs: 15_000,
  /** a block-txs request (a hash and up to a block's indexes) and how long its answer may take */
  blockTxsRequestBytes: 64 + MAX_BLOCK_TRANSACTIONS * 3,
  blockTxsTimeoutMs: 5_000,
} as const;

/**
 * Transactions: only failures every node would agree on without looking at state condemn the
 * relaying peer. Nonce, funds and stake depend on the head and on what is pending, which differ
 * between honest nodes (another head, a reorg, a transaction of ours not yet seen), and a full
 * pool or a duplicate is our condition, not the sender's fault: those are ignored.
 */
const TX_REJECT = STATELESS_TX_REJECTIONS;

export function txVerdict(code: RejectCode): GossipVerdict {
  return TX_REJECT.has(code) ? "reject" : "ignore";
}

/**
 * Blocks: a block is judged against its own parent, the same on every node, so a rule broken is
 * a reject; but a block that is not decidable yet (its slot not begun on our clock, its parent
 * unknown) or not wanted (it branches below our finalized height) is ignored.
 */
const BLOCK_IGNORE = new Set<RejectCode>(["FutureBlock", "UnknownParent", "BelowFinality"]);

export function blockVerdict(code: RejectCode): GossipVerdict {
  return BLOCK_IGNORE.has(code) ? "ignore" : "reject";
}

/**
 * Slashing evidence: its signatures and shape are the same for every node, so a forged or
 * malformed piece condemns its relayer; whether it still applies (the fault punished already,
 * the evidence too old, nothing left to take) depends on the head, and is ignored.
 */
const EVIDENCE_REJECT = new Set<RejectCode>([
  "Malformed",
  "TooLarge",
  "WrongChain",
  "InvalidEvidence",
]);

export function evidenceVerdict(code: RejectCode): GossipVerdict {
  return EVIDENCE_REJECT.has(code) ? "reject" : "ignore";
}

/** Penalties of the sync protocols (the p2p layer bans at -100, see ScoringOptions). */
export const SYNC_PENALTY = {
  /** a block that breaks a rule, served as part of the peer's main chain: no honest node has one */
  invalidBlock: 100,
  /** a response that does not match the request: not contiguous, wrong hashes, undecodable */
  badResponse: 20,
  /** a status message that does not decode */
  badStatus: 20,
  /** a blocks-by-range or blocks-by-hash request that does not decode */
  badRequest: 20,
  /** claimed a better chain and then did not serve it (four unmet claims in a row: banned) */
  emptyClaim: 25,
  /** a sync request timed out */
  timeout: 5,
  /** did not serve the parent of a block it relayed */
  missingParent: 5,
} as const;
