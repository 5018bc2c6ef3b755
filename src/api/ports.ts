import type { EventEmitter } from "node:events";
import type { Registry } from "prom-client";
import type { AccountProof } from "../chain/chain.js";
import type { EpochLottery, ValidatorSet } from "../consensus/engine.js";
import type { Block, BlockHeader } from "../core/block.js";
import type { ValidationError } from "../core/errors.js";
import type { Genesis } from "../core/genesis.js";
import type { Address } from "../core/keys.js";
import type { Account } from "../core/state.js";
import type { Transaction } from "../core/transaction.js";

/**
 * What the API needs from a node: read access to the chain and mempool, one way to submit a
 * transaction, the network's status and the node's events. The node implements it; the API never
 * reaches into the node's parts beyond this face.
 */
export interface ChainReader {
  readonly head: { hashHex: string; height: number };
  readonly finalizedHeight: number;
  readonly genesisHash: string;
  getBlock(id: number | string): Promise<Block | undefined>;
  getBlocks(from: number, limit: number): Promise<Block[]>;
  getTransaction(
    id: string,
  ): Promise<{ tx: Transaction; height: number; blockHash: string; index: number } | undefined>;
  getAccountTransactions(
    address: Address,
    limit: number,
    before?: { height: number; index?: number },
  ): Promise<{ tx: Transaction; height: number; blockHash: string; index: number }[]>;
  /** The account as the next block sees it (released unbonding stake in its balance). */
  accountNow(address: Address): Account | undefined;
  getBlockByHash(hash: string): Promise<Block | undefined>;
  getChildren(hash: string): Promise<string[]>;
  /** The lottery of a child of `parent` in `slot` (PoS); undefined under PoW. */
  lotteryAfter(
    parent: { header: BlockHeader; hash: Uint8Array; hashHex: string },
    slot: number,
  ): EpochLottery | undefined;
  /** A stored block's header (cached: no transactions decoded). */
  getHeader(hash: string): BlockHeader | undefined;
  validators(): ValidatorSet;
  /** Addresses that were ever slashed. */
  slashedAddresses(): ReadonlySet<Address>;
  /** An account and its state proof at a main-chain block (undefined: no such kept tree). */
  accountProof(address: Address, blockId: number | string): Promise<AccountProof | undefined>;
}

export interface MempoolReader {
  get(id: string): Transaction | undefined;
  all(): Transaction[];
  pendingNonce(address: Address): number;
  readonly size: number;
}

export interface PeerView {
  peerId: string;
  addresses: string[];
  score: number;
  direction: string;
}

export interface NetworkStatus {
  peerId: string | null;
  listenAddresses: string[];
  peers: PeerView[];
  syncing: boolean;
  syncTargetHeight: number | null;
  syncBlocksPerSecond: number | null;
}

/** A connected peer's head, as its last status message said. */
export interface PeerHead {
  peerId: string;
  height: number;
  headHash: string;
  finalizedHeight: number;
}

/** The peers a connected peer says it is connected to, with their heads when it knows them. */
export interface PeerNeighbours {
  peerId: string;
  neighbours: { peerId: string; height: number | null; headHash: string | null }[];
}

export interface ReorgEvent {
  depth: number;
  commonAncestor: { height: number; hash: string };
  oldHead: { height: number; hash: string };
  newHead: { height: number; hash: string };
  revertedTransactions: string[];
  addedTransactions: string[];
}

/** A validator was slashed by evidence a main-chain block included. */
export interface SlashingEvent {
  offender: string;
  /** The slot of the fault. */
  slot: number;
  /** Taken from the offender's stake and unbonding stake, base units as a decimal string. */
  amount: string;
  reporter: string;
  reward: string;
  burned: string;
  evidence: string;
  height: number;
  blockHash: string;
}

export interface NodeEvents {
  block: [Block];
  transaction: [Transaction];
  reorg: [ReorgEvent];
  slashing: [SlashingEvent];
}

export interface NodeApi {
  readonly genesis: Genesis;
  readonly chain: ChainReader;
  readonly mempool: MempoolReader;
  readonly events: EventEmitter<NodeEvents>;
  readonly metrics: Registry;
  /** Validates and admits a transaction (mempool, gossip); throws ValidationError. */
  submitTransaction(tx: Transaction): Promise<{ id: string }>;
  /**
   * Validates and admits transactions, each on its own (signatures verified together): the
   * error each one got, in order (undefined: admitted).
   */
  submitTransactions(txs: readonly Transaction[]): Promise<(ValidationError | undefined)[]>;
  network(): NetworkStatus;
  /** Heads of the connected peers (explorer's network view). */
  peerHeads(): PeerHead[];
  /** What the connected peers last reported of their own connections (explorer). */
  peerNeighbours(): Promise<PeerNeighbours[]>;
  /** Admin actions on peers (only reachable with the admin token); a malformed id throws. */
  banPeer(peerId: string, ms: number): boolean;
  unbanPeer(peerId: string): boolean;
}
