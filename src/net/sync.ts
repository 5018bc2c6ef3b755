import type { Logger } from "pino";
import type { ImportResult } from "../chain/chain.js";
import type { Block, BlockHeader } from "../core/block.js";
import { equalBytes, toHex } from "../core/bytes.js";
import { isValidationError, type RejectCode } from "../core/errors.js";
import { BoundedMap } from "./bounded-map.js";
import { NetError } from "./errors.js";
import { blockVerdict, SYNC_PENALTY, WIRE_LIMITS } from "./protocols.js";
import { RespStatus } from "./req-resp.js";
import { isBetterChain, type PeerBook, type PeerChain } from "./status.js";

/** A peer broke the sync protocol or served invalid blocks: it costs `points`. */
export class PeerFault extends Error {
  override readonly name = "PeerFault";
  constructor(
    readonly points: number,
    message: string,
  ) {
    super(message);
  }
}

/** What sync needs of the chain: its head, which blocks it stores, and import. */
export interface SyncChain {
  readonly head: { height: number; hashHex: string; score: bigint };
  readonly finalizedHeight: number;
  getHeader(hash: string): BlockHeader | undefined;
  importBlock(block: Block): Promise<ImportResult>;
  /** Starts verifying the signatures of blocks about to be imported (the worker pool). */
  prefetchSignatures?(blocks: readonly Block[]): void;
}

export interface SyncDeps {
  chain: SyncChain;
  peers: PeerBook;
  log: Logger;
  /** Blocks of the peer's main chain from height `from`, at most `count` (decoded). */
  fetchRange(peerId: string, from: number, count: number): Promise<Block[]>;
  /** The blocks the peer has of `hashes` (decoded; each one of the hashes asked for). */
  fetchByHash(peerId: string, hashes: string[]): Promise<Block[]>;
  /** Asks the peer for its status again (which records it and may kick sync). */
  refreshStatus(peerId: string): Promise<void>;
  penalize(peerId: string, points: number, reason: string): void;
  onImported(block: Block): void;
  onRejected(code: RejectCode): void;
  /** The peer delivered blocks that verified here (it is worth keeping connected). */
  onDelivered?(peerId: string): void;
  /** The clock (ms), for cooldowns and progress; tests pass their own. */
  now?: () => number;
}

export interface SyncTuning {
  /** blocks per range request */
  batchBlocks: number;
  /** how long a peer that failed us is passed over; doubled for each failure in a row */
  cooldownMs: number;
  /** the longest a peer is passed over */
  maxCooldownMs: number;
  /**
   * The node counts as behind (and its producer pauses) while a sync run is on and it moved the
   * head with verified blocks within this long: a claim alone never pauses production.
   */
  behindGraceMs: number;
  /** how far back, at most, the parents of a gossiped orphan are fetched one by one */
  maxAncestorWalk: number;
  /** minimum time between two progress lines in the log */
  progressLogMs: number;
  /**
   * A peer that sync penalised this many times in a row (a stall, an unmet claim, bad data),
   * delivering no verified block in between, is not asked again: a staller cannot take a
   * share of the node's sync for ever (it may still be connected; an honest peer is forgiven
   * once a block it relays becomes our head, see credit()).
   */
  maxStrikes: number;
}

export const DEFAULT_SYNC_TUNING: SyncTuning = {
  batchBlocks: WIRE_LIMITS.maxRangeBlocks,
  cooldownMs: 15_000,
  maxCooldownMs: 5 * 60_000,
  behindGraceMs: 10_000,
  maxAncestorWalk: 32,
  progressLogMs: 2_000,
  maxStrikes: 3,
};

export interface SyncProgress {
  /** a sync run is on and has moved our head with verified blocks lately (see behindGraceMs) */
  syncing: boolean;
  targetHeight: number | null;
  blocksPerSecond: number | null;
}

/**
 * How a sync with one peer ended: "synced" (its chain imported as far as it served it),
 * "stale" (it had nothing where its status said it had blocks), "diverged" (its chain leaves
 * ours below our finalized height: we cannot switch), "moved" (its main chain changed under us),
 * "failed" (it timed out, was unreachable, or its blocks are not decidable yet).
 */
type Outcome = "synced" | "stale" | "diverged" | "moved" | "failed";

/** Ancestor walks (see onOrphan) one peer may have running at once. */
const MAX_WALKS_PER_PEER = 2;
/** Peers whose failures are remembered (the oldest forgotten past this). */
const MAX_COOLDOWNS = 1_024;
/** A peer whose connection closed during a sync attempt is passed over this long only... */
const LOST_CONNECTION_COOLDOWN_MS = 1_000;
/** ...this many times in a row; then the loss counts as a failure. */
const MAX_LOST_CONNECTIONS = 3;

type Settled = { blocks: Block[] } | { error: unknown };
const settle = (p: Promise<Block[]>): Promise<Settled> =>
  p.then(
    (blocks) => ({ blocks }),
    (error: unknown) => ({ error }),
  );

/**
 * Catches this node up with better chains its peers report.
 *
 * What a peer claims in its status is believed only as far as the blocks it delivers verify: a
 * claim alone picks whom to ask, never pauses the producer (see SyncProgress.syncing), and a
 * peer whose claim does not materialise (nothing served, junk, a stall, a chain that ends below
 * its claim) is passed over for a cooldown that doubles with each failure in a row, so the next
 * best peer gets its turn and a liar is asked less and less often.
 *
 * Range sync, one peer at a time, the best first: find where the peer's main chain meets ours
 * (probe its block at min(our height, its height); while neither that block nor its parent is
 * stored here, probe 1, 2, 4, … blocks lower, never below our finalized height), then import
 * its main chain upward in batches, the next batch in flight while the current one imports.
 * Every batch must be contiguous (heights and parent hashes) and start where the last ended;
 * the chain validates every block and moves to the better fork by its own fork-choice rule.
 * A peer that serves invalid or mismatching data is penalised; one that fails (timeout, not
 * reachable, nothing to serve) is passed over for a while and the next best peer is tried.
 *
 * The parents of a gossiped orphan are fetched by hash from the peer that relayed it (it
 * accepted the block, so it stores them), one after another up to maxAncestorWalk; a longer gap
 * is left to range sync.
 */
export class Syncer {
  readonly #deps: SyncDeps;
  readonly #tuning: SyncTuning;
  readonly #cooldown = new BoundedMap<string, { until: number; failures: number; lost: number }>(
    MAX_COOLDOWNS,
  );
  /** sync penalties in a row with nothing delivered: at maxStrikes the peer is not asked */
  readonly #strikes = new BoundedMap<string, number>(MAX_COOLDOWNS);
  /** peers whose blocks verified here (asked before unproven peers) */
  readonly #proven = new BoundedMap<string, true>(MAX_COOLDOWNS);
  /** peers penalised during the current attempt */
  readonly #struck = new Set<string>();
  readonly #now: () => number;
  readonly #walks = new Map<string, Promise<void>>();
  readonly #walksByPeer = new Map<string, number>();
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  // progress of the current sync run
  #target: number | null = null;
  #runStarted = 0;
  #runImported = 0;
  #lastProgressLog = 0;
  /** when a synced block last became our head */
  #lastAdvance = Number.NEGATIVE_INFINITY;

  constructor(deps: SyncDeps, tuning: Partial<SyncTuning> = {}) {
    this.#deps = deps;
    this.#tuning = { ...DEFAULT_SYNC_TUNING, ...tuning };
    this.#now = deps.now ?? Date.now;
  }

  /** Whether verified blocks show this node behind (the producer pauses only then). */
  get behind(): boolean {
    return this.#target !== null && this.#now() - this.#lastAdvance < this.#tuning.behindGraceMs;
  }

  /** Whether sync gave up on the peer (see SyncTuning.maxStrikes). */
  gaveUpOn(peerId: string): boolean {
    return (this.#strikes.get(peerId) ?? 0) >= this.#tuning.maxStrikes;
  }

  /**
   * The peer relayed a block that became our head: it serves real blocks. Its strikes are
   * forgiven, and it is asked before peers that never delivered.
   */
  credit(peerId: string): void {
    this.#strikes.delete(peerId);
    this.#proven.set(peerId, true);
  }

  /** How long a peer is passed over (0: eligible now). */
  cooldownOf(peerId: string): number {
    const entry = this.#cooldown.get(peerId);
    return entry === undefined ? 0 : Math.max(0, entry.until - this.#now());
  }

  progress(): SyncProgress {
    if (this.#target === null) return { syncing: false, targetHeight: null, blocksPerSecond: null };
    const seconds = (this.#now() - this.#runStarted) / 1000;
    return {
      syncing: this.behind,
      targetHeight: this.#target,
      blocksPerSecond: seconds > 0 ? Math.round((this.#runImported / seconds) * 10) / 10 : 0,
    };
  }

  /** Runs sync if a peer has a better chain; while running, makes it look again when done. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  /** Stops after the current step; resolves once the sync loop and ancestor walks are done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.#running, ...this.#walks.values()]);
  }

  /**
   * A gossiped block whose ancestor `missing` we lack, relayed by `peerId`: its ancestors are
   * fetched from that peer. Resolves true once the walk ended with the block stored (its branch
   * connected), so that gossip can relay it on; undefined when no walk runs for it (far behind:
   * range sync instead; or the peer has its share of walks running).
   */
  onOrphan(peerId: string, block: Block, missing: string): Promise<boolean> | undefined {
    if (this.#stopped) return undefined;
    const stored = () => this.#isStored(block.hashHex);
    const gap = block.header.height - this.#deps.chain.head.height;
    if (this.#target !== null || gap > this.#tuning.maxAncestorWalk) {
      // Far behind (or syncing already): range sync does it in batches.
      this.#refresh(peerId);
      return undefined;
    }
    const running = this.#walks.get(missing);
    if (running) return running.then(stored);
    // Orphans cost nothing to make (any key signs one): each peer gets a couple of walks at a
    // time, so one peer's orphans cannot have this node send it requests without limit.
    const walking = this.#walksByPeer.get(peerId) ?? 0;
    if (walking >= MAX_WALKS_PER_PEER) return undefined;
    this.#walksByPeer.set(peerId, walking + 1);
    const walk = this.#walkBack(peerId, missing)
      .catch((err: unknown) => {
        if (!this.#onPeerError(peerId, err, "fetching a missing parent"))
          this.#deps.log.error({ err, peerId }, "fetching a missing parent failed");
      })
      .finally(() => {
        this.#walks.delete(missing);
        const left = (this.#walksByPeer.get(peerId) ?? 1) - 1;
        if (left > 0) this.#walksByPeer.set(peerId, left);
        else this.#walksByPeer.delete(peerId);
      });
    this.#walks.set(missing, walk);
    return walk.then(stored);
  }

  async #walkBack(peerId: string, first: string): Promise<void> {
    const { chain, log } = this.#deps;
    let missing = first;
    for (let step = 0; step < this.#tuning.maxAncestorWalk; step++) {
      if (this.#stopped) return;
      const [parent] = await this.#deps.fetchByHash(peerId, [missing]);
      if (parent === undefined) {
        this.#deps.penalize(
          peerId,
          SYNC_PENALTY.missingParent,
          `did not serve ${missing}, the parent of a block it relayed`,
        );
        return;
      }
      const result = await this.#import(parent);
      if (result === undefined) return;
      if (result.status !== "orphan") {
        log.info(
          { peerId, fetched: step + 1, height: chain.head.height, head: chain.head.hashHex },
          "fetched the missing parents of a gossiped block",
        );
        return;
      }
      missing = result.missingParent!;
    }
    this.#refresh(peerId);
  }

  #refresh(peerId: string): void {
    this.#deps
      .refreshStatus(peerId)
      .catch((err: unknown) => this.#deps.log.debug({ err, peerId }, "status refresh failed"));
  }

  /** Imports one block; undefined when it is not decidable now (not the peer's fault). */
  async #import(block: Block): Promise<ImportResult | undefined> {
    try {
      const result = await this.#deps.chain.importBlock(block);
      if (result.status === "head" || result.status === "side") this.#deps.onImported(block);
      if (result.status === "head") this.#lastAdvance = this.#now();
      return result;
    } catch (e) {
      if (!isValidationError(e)) throw e;
      this.#deps.onRejected(e.code);
      // The codes a gossiped block is ignored for say nothing bad of the peer that served it.
      if (blockVerdict(e.code) === "ignore") {
        this.#deps.log.debug(
          { block: block.hashHex, code: e.code, reason: e.message },
          "fetched block not importable now",
        );
        return undefined;
      }
      throw new PeerFault(
        SYNC_PENALTY.invalidBlock,
        `invalid block ${block.hashHex} at height ${block.header.height}: ${e.code} (${e.message})`,
      );
    }
  }

  /**
   * We store the head the peer claims: it has nothing to give us. Its status may still look
   * better (status carries no slot, and a block that arrived after its slot never displaces an
   * equal head): our chain chose, and that is no fault of the peer's.
   */
  #holdsHeadOf(peerId: string): boolean {
    const claimed = this.#deps.peers.get(peerId)?.status.headHash;
    return claimed !== undefined && this.#isStored(claimed);
  }

  #eligible(peerId: string): boolean {
    if (this.gaveUpOn(peerId)) return false;
    const entry = this.#cooldown.get(peerId);
    return entry === undefined || entry.until <= this.#now();
  }

  /** Penalises through the deps, and notes the strike of the current attempt. */
  #penalize(peerId: string, points: number, reason: string): void {
    this.#struck.add(peerId);
    this.#deps.penalize(peerId, points, reason);
  }

  /** After an attempt: a strike if sync penalised the peer, none left if it delivered. */
  #tally(peerId: string, imported: number): void {
    if (imported > 0) {
      this.#strikes.delete(peerId);
      this.#proven.set(peerId, true);
      this.#deps.onDelivered?.(peerId);
    } else if (this.#struck.has(peerId)) {
      const strikes = (this.#strikes.get(peerId) ?? 0) + 1;
      this.#strikes.set(peerId, strikes);
      if (strikes >= this.#tuning.maxStrikes)
        this.#deps.log.warn(
          { peerId, strikes },
          "peer failed sync again and again without delivering: no longer asked",
        );
    }
    this.#struck.delete(peerId);
  }

  /** The best better chain among eligible peers, those that delivered before first. */
  #pick(): PeerChain | undefined {
    const { chain, peers } = this.#deps;
    const usable = (id: string) => this.#eligible(id) && !this.#holdsHeadOf(id);
    return (
      peers.best(chain.head, (id) => usable(id) && this.#proven.has(id)) ??
      peers.best(chain.head, usable)
    );
  }

  /** The peer failed us again: passed over for twice as long as last time (up to the max). */
  #coolDown(peerId: string, lostConnection = false): void {
    const entry = this.#cooldown.get(peerId) ?? { until: 0, failures: 0, lost: 0 };
    // The connection closed under the request (a duplicate closed, a restart): the peer is
    // asked again soon, as it reconnects, a few times before that counts as a failure.
    if (lostConnection && entry.lost < MAX_LOST_CONNECTIONS) {
      const ms = Math.min(LOST_CONNECTION_COOLDOWN_MS, this.#tuning.cooldownMs);
      this.#cooldown.set(peerId, { ...entry, until: this.#now() + ms, lost: entry.lost + 1 });
      this.#deps.log.debug({ peerId, ms }, "connection lost during sync: asked again soon");
      return;
    }
    const failures = entry.failures + 1;
    const ms = Math.min(
      this.#tuning.maxCooldownMs,
      this.#tuning.cooldownMs * 2 ** Math.min(failures - 1, 20),
    );
    this.#cooldown.set(peerId, { until: this.#now() + ms, failures, lost: 0 });
    this.#deps.log.debug({ peerId, failures, ms }, "peer passed over for sync");
  }

  async #loop(): Promise<void> {
    const { log } = this.#deps;
    try {
      while (!this.#stopped) {
        this.#again = false;
        const peer = this.#pick();
        if (peer === undefined) {
          if (this.#again) continue;
          break;
        }
        let outcome: Outcome;
        let imported = 0;
        let lostConnection = false;
        this.#struck.delete(peer.peerId);
        try {
          ({ outcome, imported } = await this.#syncWith(peer));
        } catch (err) {
          // Anything but the peer's doing (the chain closed, a store error) ends the loop.
          if (!this.#onPeerError(peer.peerId, err, "syncing")) throw err;
          outcome = "failed";
          lostConnection = err instanceof NetError && err.code === "Unreachable";
        }
        if (this.#stopped) break;
        const goOn = await this.#settleOutcome(peer, outcome, imported);
        this.#tally(peer.peerId, imported);
        if (goOn) {
          if (imported > 0) this.#cooldown.delete(peer.peerId);
          continue;
        }
        this.#coolDown(peer.peerId, lostConnection);
      }
    } catch (err) {
      if (!this.#stopped) log.error({ err }, "sync stopped by an error");
    } finally {
      this.#target = null;
    }
  }

  /** After a sync with `peer`: true to go on at once, false to pass the peer over for a while. */
  async #settleOutcome(peer: PeerChain, outcome: Outcome, imported: number): Promise<boolean> {
    const { chain, peers, log } = this.#deps;
    const { peerId, status: claimed } = peer;
    switch (outcome) {
      case "synced": {
        if (!isBetterChain(claimed, chain.head) || this.#isStored(claimed.headHash)) return true;
        // It served all it had and our head is still below its claim: its chain may have moved
        // since it told us (ask again); the same claim again did not materialise.
        await this.#deps.refreshStatus(peerId).catch(() => undefined);
        const now = peers.get(peerId)?.status;
        if (now !== undefined && now.headHash !== claimed.headHash && imported > 0) return true;
        if (now === undefined || now.headHash === claimed.headHash)
          this.#penalize(
            peerId,
            SYNC_PENALTY.emptyClaim,
            `claimed a chain of height ${claimed.height} but served nothing that reaches it`,
          );
        return false;
      }
      case "stale": {
        // Nothing where its status said it had blocks: a reorganisation to a shorter chain
        // (PoW: more work in fewer blocks) is honest, the same claim again is not.
        await this.#deps.refreshStatus(peerId).catch(() => undefined);
        const now = peers.get(peerId)?.status;
        if (now !== undefined && now.headHash === claimed.headHash)
          this.#penalize(
            peerId,
            SYNC_PENALTY.emptyClaim,
            `claimed a chain of height ${claimed.height} but served no block at our height`,
          );
        return false;
      }
      case "moved":
        await this.#deps.refreshStatus(peerId).catch(() => undefined);
        return imported > 0;
      case "diverged":
        log.warn(
          { peerId, height: claimed.height, finalized: chain.finalizedHeight },
          "peer's chain leaves ours below the finalized height; not following it",
        );
        return false;
      case "failed":
        return false;
    }
  }

  /** Penalises and logs what a peer did wrong; false when the error is not the peer's doing. */
  #onPeerError(peerId: string, err: unknown, doing: string): boolean {
    const { log } = this.#deps;
    if (err instanceof PeerFault) {
      log.warn({ peerId, reason: err.message }, `peer misbehaved while ${doing}`);
      this.#penalize(peerId, err.points, err.message);
      return true;
    }
    if (isValidationError(err)) {
      // A response that does not decode.
      log.warn({ peerId, reason: err.message }, `undecodable response while ${doing}`);
      this.#penalize(peerId, SYNC_PENALTY.badResponse, `bad response: ${err.message}`);
      return true;
    }
    if (err instanceof NetError) {
      // BUSY: the peer is serving others; not its fault, it is asked again after a cooldown.
      if (err.code === "RemoteError" && err.status === RespStatus.BUSY) {
        log.debug({ peerId, reason: err.message }, `peer busy while ${doing}`);
        return true;
      }
      if (err.code === "Timeout")
        this.#penalize(peerId, SYNC_PENALTY.timeout, `timed out while ${doing}`);
      log.debug({ peerId, code: err.code, reason: err.message }, `${doing} failed`);
      return true;
    }
    return false;
  }

  /** Blocks of the peer's main chain from `from`, checked to be contiguous from there. */
  async #range(peerId: string, from: number, count: number): Promise<Block[]> {
    const blocks = await this.#deps.fetchRange(peerId, from, count);
    if (blocks.length > count)
      throw new PeerFault(SYNC_PENALTY.badResponse, `sent ${blocks.length} blocks for ${count}`);
    blocks.forEach((block, i) => {
      if (block.header.height !== from + i)
        throw new PeerFault(
          SYNC_PENALTY.badResponse,
          `sent height ${block.header.height} where ${from + i} belongs`,
        );
      const previous = blocks[i - 1];
      if (previous && !equalBytes(block.header.previousHash, previous.hash))
        throw new PeerFault(
          SYNC_PENALTY.badResponse,
          `sent blocks that do not chain at ${from + i}`,
        );
    });
    return blocks;
  }

  #isStored(hash: string): boolean {
    return this.#deps.chain.getHeader(hash) !== undefined;
  }

  /**
   * The first batch to import: it starts at a block of the peer's main chain that we store, or
   * whose parent we store. Below the first guess, probes one block at a time.
   */
  async #findStart(
    peer: PeerChain,
  ): Promise<{ batch: Block[]; asked: number } | "stale" | "diverged" | "failed"> {
    const { chain } = this.#deps;
    let from = Math.min(chain.head.height, peer.status.height);
    let count = this.#tuning.batchBlocks;
    for (let step = 1; !this.#stopped; step *= 2) {
      const batch = await this.#range(peer.peerId, from, count);
      const first = batch[0];
      if (first === undefined) return "stale";
      if (this.#isStored(first.hashHex) || this.#isStored(toHex(first.header.previousHash)))
        return { batch, asked: count };
      const floor = chain.finalizedHeight;
      if (from <= floor || from === 0) return "diverged";
      from = Math.max(floor, from - step);
      count = 1;
    }
    return "failed";
  }

  async #syncWith(peer: PeerChain): Promise<{ outcome: Outcome; imported: number }> {
    const { chain, log } = this.#deps;
    const { peerId } = peer;
    this.#startRun(peer.status.height);
    log.info(
      { peerId, height: chain.head.height, target: peer.status.height },
      "syncing from a peer with a better chain",
    );
    let imported = 0;
    const started = this.#now();
    // Only this peer's verified blocks count: an earlier peer's do not cover this one's stall.
    this.#lastAdvance = Number.NEGATIVE_INFINITY;
    const found = await this.#findStart(peer);
    if (typeof found === "string") return { outcome: found, imported };
    let { batch, asked } = found;
    for (;;) {
      const last = batch[batch.length - 1]!;
      // Keep asking while the peer fills whole batches: its chain may have grown meanwhile.
      const next =
        batch.length === asked && !this.#stopped
          ? settle(this.#range(peerId, last.header.height + 1, this.#tuning.batchBlocks))
          : undefined;
      // Their signatures are verified in the worker pool while the first ones import.
      this.#deps.chain.prefetchSignatures?.(batch);
      for (const block of batch) {
        if (this.#stopped) return { outcome: "failed", imported };
        const result = await this.#import(block);
        if (result === undefined) return { outcome: "failed", imported };
        if (result.status === "orphan")
          throw new PeerFault(
            SYNC_PENALTY.badResponse,
            `served block ${block.hashHex} without the parent it builds on`,
          );
        if (result.status !== "known") {
          imported++;
          this.#runImported++;
        }
      }
      this.#logProgress(peerId);
      if (next === undefined) break;
      const settled = await next;
      if ("error" in settled) throw settled.error;
      batch = settled.blocks;
      asked = this.#tuning.batchBlocks;
      if (batch.length === 0) break;
      if (!equalBytes(batch[0]!.header.previousHash, last.hash)) {
        log.debug({ peerId, height: last.header.height }, "peer's main chain changed during sync");
        return { outcome: "moved", imported };
      }
    }
    const seconds = (this.#now() - started) / 1000;
    log.info(
      {
        peerId,
        imported,
        height: chain.head.height,
        head: chain.head.hashHex,
        seconds: Math.round(seconds * 100) / 100,
        blocksPerSecond: seconds > 0 ? Math.round(imported / seconds) : imported,
      },
      "sync finished",
    );
    return { outcome: "synced", imported };
  }

  #startRun(target: number): void {
    if (this.#target === null) {
      this.#runStarted = this.#now();
      this.#runImported = 0;
      this.#lastProgressLog = this.#runStarted;
    }
    this.#target = target;
  }

  #logProgress(peerId: string): void {
    const now = this.#now();
    if (now - this.#lastProgressLog < this.#tuning.progressLogMs) return;
    this.#lastProgressLog = now;
    const { targetHeight, blocksPerSecond } = this.progress();
    this.#deps.log.info(
      { peerId, height: this.#deps.chain.head.height, target: targetHeight, blocksPerSecond },
      "sync progress",
    );
  }
}
