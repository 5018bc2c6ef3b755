import { isValidationError, reject, ValidationError } from "../core/errors.js";
import type { Evidence } from "../core/evidence.js";
import type { Address } from "../core/keys.js";
import {
  type Account,
  type AccountReader,
  applyEvidence,
  applyTransaction,
  checkSignature,
  checkTransactionRules,
  EMPTY_ACCOUNT,
  type LedgerParams,
  StateOverlay,
} from "../core/state.js";
import type { Transaction } from "../core/transaction.js";
import { BLOCK_WINDOW, checkTimestamp } from "../core/tx-time.js";
import { IndexedHeap } from "./mempool/heap.js";
import { type Entry, SenderQueue } from "./mempool/sender-queue.js";
import { SignatureCache, type VerifiedSignatures } from "./signatures.js";

/**
 * The mempool: pending transactions, validated against the head state with the core rules.
 *
 * Per sender the pool keeps a run (consecutive nonces from the account nonce, each applied with
 * core `applyTransaction` to the state left by the ones before it, so the run is executable in
 * order) and held transactions (future nonces past a gap, at most `maxNonceGap` ahead of the run,
 * checked only against the funds left after the run). A transaction that fills the gap joins the
 * run and promotes the held ones after it; a held one that no longer applies is dropped.
 *
 * Re-checking after the head moves is eager for the senders a block touched (`removeIncluded`)
 * and for everyone after a reorg (`reinject`). Every other sender is re-checked lazily: each
 * queue remembers the head account it was validated against and is rebuilt on its next `add`
 * when that account differs (a block can only credit such a sender, so nothing is lost).
 * `selectForBlock` and the queries never change the pool; selection applies every transaction it
 * picks to an overlay of the head state and skips what does not apply, so a block built from
 * the pool always applies, even from a stale pool. (A lazy re-check can still drop something, e.g.
 * an UNSTAKE that the total stake no longer allows; such ids come back in `add`'s `evicted`.)
 *
 * Replace-by-fee: a transaction with the sender and nonce of a pending one replaces it only with
 * a strictly higher fee, and only if the sender's later run still applies after it.
 * Limits: when full (count or bytes), room is made by evicting senders' tails (never a run's
 * middle, so no gap), lowest rank first: held transactions rank below executable ones, then by
 * fee (ties: the newest goes). The newcomer must outrank every victim, else MempoolFull; a held
 * newcomer never evicts an executable transaction. Expiry (`prune`) is by arrival time.
 *
 * Cost per transaction: hash map and heap steps, O(log n), plus per-sender steps bounded by
 * `maxPerSender`; the signature check dominates.
 */

export interface HeadState {
  /** Accounts of the head state, read as of `slot` (unbonding stake released by then counts). */
  reader: AccountReader;
  /** Sum of all stakes at the head (the core needs it for UNSTAKE under Proof of Stake). */
  totalStake: bigint;
  /** Total supply at the head (EXCHANGE may not take it past the cap). */
  supply: bigint;
  /** PoS: the slot a block forged now would have; undefined under PoW. */
  slot: number | undefined;
}

/** What a block body is selected for, beyond the head: the forger, its slot, its evidence. */
export interface BodyRequest {
  maxCount: number;
  maxBytes?: number;
  /** PoS: the block's slot (default: the head state's). */
  slot?: number | undefined;
  /** The block's timestamp: transactions signed outside its window (BLOCK_WINDOW) are left out. */
  timestamp?: number;
  /** The block's forger, credited by evidence (the reporter's reward). */
  forger?: Address;
  /** Evidence candidates, applied before the transactions; those that do not apply are left out. */
  evidence?: readonly Evidence[];
}

export interface MempoolLimits {
  /** Transactions in the pool, held ones included. */
  maxCount: number;
  /** Transactions of one sender, held ones included. */
  maxPerSender: number;
  /** Sum of `tx.encoded.length` over the pool. */
  maxBytes: number;
  /** How far a held nonce may be ahead of the sender's pending nonce. */
  maxNonceGap: number;
  /** Transactions older than this (ms since arrival) are removed by `prune`. */
  maxAgeMs: number;
}

export const DEFAULT_MEMPOOL_LIMITS: Readonly<MempoolLimits> = Object.freeze({
  maxCount: 4096,
  maxPerSender: 64,
  maxBytes: 8 * 1024 * 1024,
  maxNonceGap: 16,
  maxAgeMs: 60 * 60 * 1000,
});

export interface MempoolOptions {
  params: LedgerParams;
  /** The current head state; called on every operation, so it must be cheap. */
  state: () => HeadState;
  limits?: Partial<MempoolLimits>;
  /** Wall clock in ms (default Date.now), for arrival times and expiry. */
  now?: () => number;
  /** Whether the chain already includes this id: turns NonceTooLow into AlreadyIncluded. */
  isIncluded?: (id: string) => boolean;
  /**
   * The node's signature cache, shared with block import and gossip: a transaction verified
   * there is not verified again here, and one verified here is not again on import (default: a
   * cache of its own).
   */
  signatures?: VerifiedSignatures;
}

export interface AddResult {
  id: string;
  status: "added" | "replaced";
  /** True when held behind a nonce gap (not executable yet). */
  queued: boolean;
  /** The id of the transaction it replaced (same sender and nonce, lower fee). */
  replaced?: string;
  /** Ids that left the pool because of this add: evicted for room, or no longer valid. */
  evicted: string[];
}

export interface RemoveResult {
  /** Ids removed because the block included them. */
  included: string[];
  /** Ids removed because they no longer apply to the new head. */
  dropped: string[];
}

export interface ReinjectResult {
  /** Reverted transactions now back in the pool. */
  added: string[];
  /** Reverted transactions not taken back: invalid under the new head, or already pending. */
  skipped: string[];
  /** Pool transactions removed: invalid under the new head, replaced or evicted. */
  dropped: string[];
}

export interface MempoolStats {
  count: number;
  bytes: number;
  senders: number;
  /** Transactions held behind a nonce gap. */
  queued: number;
}

export class Mempool {
  readonly params: LedgerParams;
  readonly limits: Readonly<MempoolLimits>;
  private readonly state: () => HeadState;
  private readonly now: () => number;
  private readonly isIncluded: ((id: string) => boolean) | undefined;
  private readonly signatures: VerifiedSignatures;

  /** Every pending entry by id, in arrival order (Map order), which makes expiry O(expired). */
  private readonly byId = new Map<string, Entry>();
  private readonly senders = new Map<Address, SenderQueue>();
  /** Senders by the eviction rank of their tail: held before executable, then lowest fee. */
  private readonly evictionOrder = new IndexedHeap<SenderQueue>(evictsBefore);
  private totalBytes = 0;
  /** Sum of the amounts of pending EXCHANGE transactions: they share the room under the cap. */
  private pendingMint = 0n;
  private seq = 0;
  private lastArrival = Number.NEGATIVE_INFINITY;

  constructor(options: MempoolOptions) {
    this.params = options.params;
    this.state = options.state;
    this.limits = Object.freeze({ ...DEFAULT_MEMPOOL_LIMITS, ...options.limits });
    this.now = options.now ?? Date.now;
    this.isIncluded = options.isIncluded;
    this.signatures = options.signatures ?? new SignatureCache();
  }

  get size(): number {
    return this.byId.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): Transaction | undefined {
    return this.byId.get(id)?.tx;
  }

  /** Every pending transaction, by sender address then nonce. */
  all(): Transaction[] {
    const out: Transaction[] = [];
    for (const address of [...this.senders.keys()].sort()) {
      for (const e of this.senders.get(address)!.entries) out.push(e.tx);
    }
    return out;
  }

  /** The sender's pending transactions (held ones included), by nonce. */
  bySender(address: Address): Transaction[] {
    return this.senders.get(address)?.entries.map((e) => e.tx) ?? [];
  }

  stats(): MempoolStats {
    let queued = 0;
    for (const q of this.senders.values()) queued += q.entries.length - q.runLength;
    return { count: this.byId.size, bytes: this.totalBytes, senders: this.senders.size, queued };
  }

  /**
   * The nonce a wallet should use next: the account nonce at the head plus the sender's
   * consecutive pending run (held transactions past a gap do not count).
   */
  pendingNonce(address: Address): number {
    const head = this.state();
    const account = head.reader.getAccount(address) ?? EMPTY_ACCOUNT;
    const q = this.senders.get(address);
    if (!q) return account.nonce;
    if (sameAccount(q.base, account)) return q.pendingNonce;
    // Stale queue (the head moved without removeIncluded): count the run from the head nonce.
    let nonce = account.nonce;
    let i = q.find(nonce);
    while (i >= 0 && i < q.runLength && q.entries[i]!.tx.nonce === nonce) {
      nonce++;
      i++;
    }
    return nonce;
  }

  /**
   * Adds a transaction after full validation against the head state and the sender's pending
   * transactions, or throws ValidationError. Order of checks: cheap ones first, the signature
   * last (skipped when the shared signature cache has it, or when `verified`: the caller checked
   * it; the stateless rules always run), so spam costs little. Nothing changes before every
   * check passed, but for the lazy re-check of the sender against a moved head (see the file
   * comment).
   */
  add(tx: Transaction, opts: { verified?: boolean } = {}): AddResult {
    const plan = this.plan(tx);
    if (!opts.verified && !this.signatures.isVerified(tx)) {
      checkSignature(tx);
      this.signatures.markVerified(tx);
    }
    return this.commit(tx, plan);
  }

  /**
   * Every check `add` makes but the signature, without adding: what a node asks before it
   * spends a verification (in the worker pool) on a transaction. Throws ValidationError.
   * Returns the ids the lazy re-check of the sender dropped (they left the pool).
   */
  check(tx: Transaction): string[] {
    return this.plan(tx).evicted;
  }

  /** The checks of `add` (all but the signature) and what committing the transaction takes. */
  private plan(tx: Transaction): AdmissionPlan {
    if (this.byId.has(tx.id)) reject("Duplicate", `transaction ${tx.id} is already pending`);
    checkTransactionRules(tx, this.params);
    const head = this.state();
    const evicted: string[] = [];
    let q = this.senders.get(tx.sender);
    if (q) {
      this.refresh(q, head, false, evicted, tx);
      q = this.senders.get(tx.sender);
    }
    const account = q ? q.base : (head.reader.getAccount(tx.sender) ?? EMPTY_ACCOUNT);
    if (tx.nonce < account.nonce) {
      if (this.isIncluded?.(tx.id))
        reject("AlreadyIncluded", `transaction ${tx.id} is in the chain`);
      reject("NonceTooLow", `nonce ${tx.nonce} already used; next is ${account.nonce}`);
    }
    const pending = q ? q.pendingNonce : account.nonce;
    const index = q ? q.find(tx.nonce) : -1;
    const existing = index >= 0 ? q!.entries[index] : undefined;
    /** New run states from `index` on, when the transaction joins (or replaces in) the run. */
    let runStates: Applied[] | undefined;
    if (existing) {
      if (tx.fee <= existing.tx.fee)
        reject(
          "ReplacementUnderpriced",
          `nonce ${tx.nonce} is already pending with fee ${existing.tx.fee}; ` +
            "a replacement needs a higher fee",
        );
      if (index < q!.runLength) runStates = this.replayWith(q!, index, tx, head);
      else this.checkHeld(q!, tx, head);
    } else {
      if (tx.nonce - pending > this.limits.maxNonceGap)
        reject(
          "NonceGap",
          `nonce ${tx.nonce} is too far ahead; next is ${pending} ` +
            `(at most ${this.limits.maxNonceGap} ahead)`,
        );
      if (q && q.entries.length >= this.limits.maxPerSender)
        reject("SenderLimit", `sender has ${q.entries.length} pending transactions already`);
      if (tx.nonce === pending) {
        const from = q ? q.runEnd : account;
        const stake = q ? q.runTotalStake : head.totalStake;
        runStates = [this.applyOne(head.reader, from, stake, tx)];
      } else {
        this.checkHeld(q, tx, head, account);
      }
    }
    if (tx.type === "EXCHANGE") {
      const others =
        this.pendingMint - (existing?.tx.type === "EXCHANGE" ? existing.tx.amount : 0n);
      if (head.supply + others + tx.amount > this.params.maxSupply)
        reject(
          "SupplyCapExceeded",
          `minting ${tx.amount} would take the supply past its cap ${this.params.maxSupply} ` +
            `(supply ${head.supply}, ${others} pending)`,
        );
    }
    const queued = runStates === undefined;
    const victims = this.planEvictions(tx, queued, existing, q);
    return { head, account, index, existing, runStates, queued, victims, evicted };
  }

  /** Adds a transaction whose plan (and signature) passed. */
  private commit(tx: Transaction, plan: AdmissionPlan): AddResult {
    const { head, account, index, existing, runStates, queued, victims, evicted } = plan;
    for (const victim of victims) {
      const vq = this.senders.get(victim.tx.sender)!;
      vq.removeAt(vq.find(victim.tx.nonce));
      this.unindex(victim);
      evicted.push(victim.tx.id);
      this.reposition(vq);
    }
    // Evicting the sender's own held tail may have emptied (and forgotten) its queue.
    let q = this.senders.get(tx.sender);
    if (!q) {
      q = new SenderQueue(tx.sender, { ...account }, head.totalStake);
      this.senders.set(tx.sender, q);
    }
    const entry: Entry = {
      tx,
      size: tx.encoded.length,
      arrival: this.arrivalTime(),
      seq: this.seq++,
      after: undefined,
      stakeAfter: 0n,
    };
    this.index(entry);
    if (existing) {
      q.entries[index] = entry;
      this.unindex(existing);
      if (runStates) {
        for (let j = 0; j < runStates.length && index + j < q.runLength; j++) {
          const e = q.entries[index + j]!;
          e.after = runStates[j]!.after;
          e.stakeAfter = runStates[j]!.stakeAfter;
        }
      }
    } else {
      const at = -q.find(tx.nonce) - 1;
      q.entries.splice(at, 0, entry);
      if (runStates) {
        entry.after = runStates[0]!.after;
        entry.stakeAfter = runStates[0]!.stakeAfter;
        q.runLength++;
        this.extendRun(q, head, evicted);
      }
    }
    this.reposition(q);
    const result: AddResult = {
      id: tx.id,
      status: existing ? "replaced" : "added",
      queued,
      evicted,
    };
    if (existing) result.replaced = existing.tx.id;
    return result;
  }

  /**
   * Up to `maxCount` executable transactions (and at most `maxBytes` of their encodings) for a
   * block on the current head: highest fee first across senders (ties: earliest arrival), each
   * sender's in nonce order. Each one is applied to an overlay of the head state as it is picked
   * and skipped with the rest of its sender's run when it does not apply, so the result always
   * applies in order. Does not change the pool.
   */
  selectForBlock(maxCount: number, maxBytes = Number.POSITIVE_INFINITY): Transaction[] {
    return this.selectBody({ maxCount, maxBytes }).transactions;
  }

  /**
   * A block body: the evidence that applies (first, as the block will apply it), then
   * transactions as selectForBlock picks them, all on one overlay of the head state at the
   * block's slot. With the supply cap, no credit (fees, reward, reporter's share) can overflow,
   * so a body chosen here always imports.
   */
  selectBody(request: BodyRequest): { transactions: Transaction[]; evidence: Evidence[] } {
    const { maxCount } = request;
    const maxBytes = request.maxBytes ?? Number.POSITIVE_INFINITY;
    const head = this.state();
    const overlay = new StateOverlay(
      head.reader,
      head.totalStake,
      head.supply,
      request.slot ?? head.slot,
    );
    const evidence: Evidence[] = [];
    for (const candidate of request.evidence ?? []) {
      if (!request.forger) break;
      try {
        applyEvidence(overlay, candidate, request.forger, this.params);
        evidence.push(candidate);
      } catch (e) {
        if (!isValidationError(e)) throw e;
      }
    }
    const cursors = new IndexedHeap<Cursor>(selectsBefore);
    for (const q of this.senders.values()) {
      const account = head.reader.getAccount(q.address) ?? EMPTY_ACCOUNT;
      const first = q.find(account.nonce);
      if (first >= 0 && first < q.runLength)
        cursors.push({ heapIndex: -1, queue: q, index: first, entry: q.entries[first]! });
    }
    const out: Transaction[] = [];
    let bytes = 0;
    while (out.length < maxCount) {
      const cursor = cursors.pop();
      if (!cursor) break;
      const { entry, queue } = cursor;
      if (bytes + entry.size > maxBytes) continue;
      try {
        if (request.timestamp !== undefined)
          checkTimestamp(entry.tx.timestamp, request.timestamp, BLOCK_WINDOW);
        applyTransaction(overlay, entry.tx, this.params);
      } catch (e) {
        if (isValidationError(e)) continue;
        throw e;
      }
      out.push(entry.tx);
      bytes += entry.size;
      const next = cursor.index + 1;
      if (next < queue.runLength) {
        cursor.index = next;
        cursor.entry = queue.entries[next]!;
        cursors.push(cursor);
      }
    }
    return { transactions: out, evidence };
  }

  /**
   * After the head moved forward by a block (call it once the head state is the new one):
   * removes the block's transactions and re-checks, eagerly, every sender the block names as a
   * sender; what no longer applies (a used nonce, missing funds) is dropped.
   */
  removeIncluded(txs: readonly Transaction[]): RemoveResult {
    const head = this.state();
    const included: string[] = [];
    const dropped: string[] = [];
    const touched = new Set<SenderQueue>();
    for (const tx of txs) {
      const q = this.senders.get(tx.sender);
      if (!q) continue;
      touched.add(q);
      const entry = this.byId.get(tx.id);
      if (entry) {
        q.removeAt(q.find(tx.nonce));
        this.unindex(entry);
        included.push(tx.id);
      }
    }
    for (const q of touched) this.refresh(q, head, true, dropped);
    return { included, dropped };
  }

  /**
   * After a reorg (call it once the head state is the new head): re-validates the whole pool
   * against the new head, then takes back the transactions of the reverted blocks, skipping
   * those invalid under the new head (e.g. included in the new branch) and duplicates. Their
   * signatures were verified when their block was imported, so they are not verified again.
   */
  reinject(txs: readonly Transaction[]): ReinjectResult {
    const dropped = this.revalidate();
    const added: string[] = [];
    const skipped: string[] = [];
    const ordered = [...txs].sort((a, b) =>
      a.sender < b.sender ? -1 : a.sender > b.sender ? 1 : a.nonce - b.nonce,
    );
    for (const tx of ordered) {
      if (this.byId.has(tx.id)) {
        skipped.push(tx.id);
        continue;
      }
      try {
        const r = this.add(tx, { verified: true });
        added.push(tx.id);
        dropped.push(...r.evicted);
        if (r.replaced) dropped.push(r.replaced);
      } catch (e) {
        if (!isValidationError(e)) throw e;
        skipped.push(tx.id);
      }
    }
    // An id added early may have been evicted by a later one.
    return { added: added.filter((id) => this.byId.has(id)), skipped, dropped };
  }

  /** Re-checks every sender against the head state; returns the ids dropped. */
  revalidate(): string[] {
    const head = this.state();
    const dropped: string[] = [];
    for (const q of [...this.senders.values()]) this.refresh(q, head, true, dropped);
    return dropped;
  }

  /**
   * Removes transactions older than `maxAgeMs` by arrival. A sender's later transactions stay,
   * held behind the gap (resending the expired nonce brings them back into the run).
   * Returns the ids removed.
   */
  prune(now: number = this.now()): string[] {
    const removed: string[] = [];
    const touched = new Set<SenderQueue>();
    for (const entry of this.byId.values()) {
      if (now - entry.arrival <= this.limits.maxAgeMs) break;
      const q = this.senders.get(entry.tx.sender)!;
      q.removeAt(q.find(entry.tx.nonce));
      this.unindex(entry);
      removed.push(entry.tx.id);
      touched.add(q);
    }
    if (touched.size > 0) {
      const head = this.state();
      for (const q of touched) this.refresh(q, head, false, removed);
    }
    return removed;
  }

  /**
   * Executable transactions that have waited at least `ageMs` since they arrived, oldest first,
   * at most `limit`: what a node announces again, in case its first announcement reached nobody
   * (no peer subscribed yet, a partition) — Bitcoin's wallet rebroadcast, for the whole pool.
   */
  waitingSince(ageMs: number, limit: number, now: number = this.now()): Transaction[] {
    const out: Transaction[] = [];
    for (const entry of this.byId.values()) {
      if (now - entry.arrival < ageMs || out.length >= limit) break;
      if (entry.after !== undefined) out.push(entry.tx);
    }
    return out;
  }

  // --- internals ---------------------------------------------------------------------------

  /** Applies `tx` with the core rules to `sender` (the sender's account) over the head state. */
  private applyOne(
    reader: AccountReader,
    sender: Account,
    totalStake: bigint,
    tx: Transaction,
  ): Applied {
    const view: AccountReader = {
      getAccount: (address) => (address === tx.sender ? sender : reader.getAccount(address)),
    };
    const head = this.state();
    const overlay = new StateOverlay(view, totalStake, head.supply, head.slot);
    applyTransaction(overlay, tx, this.params);
    return { after: overlay.getAccount(tx.sender)!, stakeAfter: overlay.totalStake };
  }

  /** The run states from `index` on with `tx` in place of the run entry there; throws if any fails. */
  private replayWith(q: SenderQueue, index: number, tx: Transaction, head: HeadState): Applied[] {
    const prev = index > 0 ? q.entries[index - 1]! : undefined;
    let state = prev ? prev.after! : q.base;
    let stake = prev ? prev.stakeAfter : q.baseTotalStake;
    const out: Applied[] = [];
    for (let j = index; j < q.runLength; j++) {
      const next = j === index ? tx : q.entries[j]!.tx;
      let applied: Applied;
      try {
        applied = this.applyOne(head.reader, state, stake, next);
      } catch (e) {
        if (!isValidationError(e) || j === index) throw e;
        throw new ValidationError(
          e.code,
          `the replacement would invalidate pending nonce ${next.nonce}: ${e.message}`,
        );
      }
      out.push(applied);
      state = applied.after;
      stake = applied.stakeAfter;
    }
    return out;
  }

  /**
   * A held transaction cannot be applied yet; check it as if the gap were filled at no cost:
   * against the funds left after the sender's run, with the nonce taken as next.
   */
  private checkHeld(
    q: SenderQueue | undefined,
    tx: Transaction,
    head: HeadState,
    account?: Account,
  ): void {
    const end = q ? q.runEnd : account!;
    const stake = q ? q.runTotalStake : head.totalStake;
    this.applyOne(head.reader, { ...end, nonce: tx.nonce }, stake, tx);
  }

  /**
   * Chooses the entries to evict so that `tx` fits, without changing anything; throws
   * MempoolFull when the room would cost a transaction that ranks at or above `tx`. Ranks:
   * held transactions below executable ones, then by fee. Only senders' tails are candidates,
   * so no run gets a gap, and none of the new transaction's own sender at or below its nonce.
   */
  private planEvictions(
    tx: Transaction,
    queued: boolean,
    existing: Entry | undefined,
    own: SenderQueue | undefined,
  ): Entry[] {
    const size = tx.encoded.length;
    let needCount = existing ? 0 : this.byId.size + 1 - this.limits.maxCount;
    let needBytes = this.totalBytes + size - (existing?.size ?? 0) - this.limits.maxBytes;
    if (needCount <= 0 && needBytes <= 0) return [];
    const victims: Entry[] = [];
    const touched = new Set<SenderQueue>();
    if (own) {
      own.floorNonce = tx.nonce;
      this.evictionOrder.update(own);
      touched.add(own);
    }
    try {
      while (needCount > 0 || needBytes > 0) {
        const q = this.evictionOrder.peek();
        const candidate = q?.evictionCandidate();
        if (!q || !candidate || !outranks(queued, tx.fee, q.evictionCandidateHeld(), candidate))
          reject(
            "MempoolFull",
            `mempool is full (${this.byId.size} transactions, ${this.totalBytes} bytes); ` +
              `a fee above ${candidate?.tx.fee ?? "the lowest pending"} is needed`,
          );
        victims.push(candidate);
        needCount--;
        needBytes -= candidate.size;
        q.virtualRemoved++;
        this.evictionOrder.update(q);
        touched.add(q);
      }
    } finally {
      for (const q of touched) {
        q.virtualRemoved = 0;
        q.floorNonce = -1;
        this.evictionOrder.update(q);
      }
    }
    return victims;
  }

  /**
   * Brings a sender's queue in line with the head: when the head account differs from the one
   * the run was built on (or `force`), drops used nonces and rebuilds the run with the core
   * rules, dropping a transaction that no longer applies (the ones after it stay, held).
   * `incoming`: a transaction about to join the queue, which may make it depend on the stake.
   */
  private refresh(
    q: SenderQueue,
    head: HeadState,
    force: boolean,
    dropped: string[],
    incoming?: Transaction,
  ): void {
    const account = head.reader.getAccount(q.address) ?? EMPTY_ACCOUNT;
    const stale =
      force ||
      !sameAccount(q.base, account) ||
      (q.baseTotalStake !== head.totalStake && this.stakeSensitive(q, incoming));
    if (stale) {
      let used = 0;
      while (used < q.entries.length && q.entries[used]!.tx.nonce < account.nonce) used++;
      for (const e of q.entries.splice(0, used)) {
        this.unindex(e);
        dropped.push(e.tx.id);
      }
      q.base = { balance: account.balance, stake: account.stake, nonce: account.nonce };
      q.baseTotalStake = head.totalStake;
      q.runLength = 0;
      this.extendRun(q, head, dropped);
    }
    this.reposition(q);
  }

  /**
   * Whether the run's validity depends on the total stake (UNSTAKE under keepPositiveStake),
   * counting a transaction about to join it: a new UNSTAKE is checked against the run's stake
   * total, which must then be the head's.
   */
  private stakeSensitive(q: SenderQueue, incoming?: Transaction): boolean {
    if (!this.params.keepPositiveStake) return false;
    return incoming?.type === "UNSTAKE" || q.entries.some((e) => e.tx.type === "UNSTAKE");
  }

  /** Moves held entries into the run while their nonces follow on and they apply. */
  private extendRun(q: SenderQueue, head: HeadState, dropped: string[]): void {
    let state = q.runEnd;
    let stake = q.runTotalStake;
    while (q.runLength < q.entries.length) {
      const e = q.entries[q.runLength]!;
      if (e.tx.nonce !== state.nonce) break;
      let applied: Applied;
      try {
        applied = this.applyOne(head.reader, state, stake, e.tx);
      } catch (err) {
        if (!isValidationError(err)) throw err;
        q.removeAt(q.runLength);
        this.unindex(e);
        dropped.push(e.tx.id);
        break;
      }
      e.after = applied.after;
      e.stakeAfter = applied.stakeAfter;
      state = applied.after;
      stake = applied.stakeAfter;
      q.runLength++;
    }
  }

  /** Updates the sender's place in the eviction order, or forgets an empty sender. */
  private reposition(q: SenderQueue): void {
    if (q.entries.length === 0) {
      this.evictionOrder.remove(q);
      if (this.senders.get(q.address) === q) this.senders.delete(q.address);
    } else {
      this.evictionOrder.update(q);
    }
  }

  private index(e: Entry): void {
    this.byId.set(e.tx.id, e);
    this.totalBytes += e.size;
    if (e.tx.type === "EXCHANGE") this.pendingMint += e.tx.amount;
  }

  private unindex(e: Entry): void {
    if (!this.byId.delete(e.tx.id)) return;
    this.totalBytes -= e.size;
    if (e.tx.type === "EXCHANGE") this.pendingMint -= e.tx.amount;
  }

  /** Arrival times never go backwards, so Map order is arrival order and expiry can stop early. */
  private arrivalTime(): number {
    const t = this.now();
    if (t > this.lastArrival) this.lastArrival = t;
    return this.lastArrival;
  }
}

interface Applied {
  after: Account;
  stakeAfter: bigint;
}

/** What `add` found while checking a transaction, for its commit. */
interface AdmissionPlan {
  head: HeadState;
  account: Account;
  /** Its nonce's place in the sender's queue (negative: not there). */
  index: number;
  /** The pending transaction it replaces. */
  existing: Entry | undefined;
  runStates: Applied[] | undefined;
  queued: boolean;
  victims: Entry[];
  /** Ids the lazy re-check of the sender dropped. */
  evicted: string[];
}

interface Cursor {
  heapIndex: number;
  queue: SenderQueue;
  index: number;
  entry: Entry;
}

function sameAccount(a: Account, b: Account): boolean {
  return a.nonce === b.nonce && a.balance === b.balance && a.stake === b.stake;
}

/** Selection order: highest fee first, then earliest arrival. */
function selectsBefore(a: Cursor, b: Cursor): boolean {
  if (a.entry.tx.fee !== b.entry.tx.fee) return a.entry.tx.fee > b.entry.tx.fee;
  return a.entry.seq < b.entry.seq;
}

/** Eviction order of senders by their tail: held first, then lowest fee, then newest. */
function evictsBefore(a: SenderQueue, b: SenderQueue): boolean {
  const ea = a.evictionCandidate();
  const eb = b.evictionCandidate();
  if (!ea) return false;
  if (!eb) return true;
  const ha = a.evictionCandidateHeld();
  const hb = b.evictionCandidateHeld();
  if (ha !== hb) return ha;
  if (ea.tx.fee !== eb.tx.fee) return ea.tx.fee < eb.tx.fee;
  return ea.seq > eb.seq;
}

/** Whether a new transaction (held or not, with `fee`) may evict `victim`. */
function outranks(queued: boolean, fee: bigint, victimHeld: boolean, victim: Entry): boolean {
  if (victimHeld !== queued) return victimHeld;
  return victim.tx.fee < fee;
}
