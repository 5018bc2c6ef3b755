import { MAX_BLOCK_EVIDENCE, MAX_BLOCK_TRANSACTIONS, sealBlock } from "../../core/block.js";
import { equalBytes, toHex } from "../../core/bytes.js";
import { type Address, addressFromPublicKey, privateKeySeed } from "../../core/keys.js";
import { type VrfSecretKey, vrfSecretKey } from "../../core/vrf.js";
import { evidenceBytes, transactionsThatFit } from "../block-space.js";
import type {
  BlockProducer,
  EpochLottery,
  HeadInfo,
  ProducerDeps,
  ProducerStats,
} from "../engine.js";
import { slotWinner } from "./lottery.js";
import { proveRandomness } from "./randomness.js";
import { type SlotClock, slotOf, slotStart } from "./slots.js";

/** Longest single wait; a far-away first slot (genesis in the future) is re-aimed after it. */
const MAX_TIMER_MS = 60_000;

/**
 * The PoS block producer. A timer wakes it at every slot boundary; new transactions and new heads
 * wake it too, so a winner with an empty mempool still forges when a transaction arrives later in
 * its slot. It forges a slot when its key wins that slot's lottery on the current head and it has
 * transactions (or forgeEmptyBlocks), at most once per slot whatever the head does. A key that is
 * not running simply leaves its slots empty; later slots draw their own winners. The block's
 * randomness is the key's VRF proof for the slot, with the VRF key derived from the same seed.
 */
export class PosForger implements BlockProducer {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly address: Address;
  /** The last slot forged: a slot is never forged twice, even on a different head. */
  private lastForgedSlot = Number.NEGATIVE_INFINITY;
  /** The last lottery drawn, so repeated wake-ups within a slot cost nothing. */
  private lastDraw: { head: string; slot: number; won: EpochLottery | undefined } | undefined;
  private readonly vrfKey: VrfSecretKey;
  private lastCheckedSlot = Number.NEGATIVE_INFINITY;
  private lastWonSlot = Number.NEGATIVE_INFINITY;
  private lastIdleSlot = Number.NEGATIVE_INFINITY;
  private readonly counts = { produced: 0, slotsChecked: 0, slotsWon: 0 };

  constructor(
    private readonly chainId: string,
    private readonly clock: SlotClock,
    private readonly deps: ProducerDeps,
  ) {
    this.address = addressFromPublicKey(deps.publicKey);
    this.vrfKey = vrfSecretKey(privateKeySeed(deps.privateKey));
    if (!equalBytes(this.vrfKey.publicKey, deps.publicKey))
      throw new Error("the forger's private key does not match its public key");
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.deps.log.info({ forger: this.address, slotMs: this.clock.slotMs }, "forger started");
    this.onSlotBoundary();
  }

  onNewHead(): void {
    if (this.running) this.forgeSafely();
  }

  onTransactions(): void {
    if (this.running) this.forgeSafely();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  stats(): ProducerStats {
    return { running: this.running, ...this.counts, hashes: 0 };
  }

  private readonly onSlotBoundary = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    this.forgeSafely();
    this.scheduleNextSlot();
  };

  private scheduleNextSlot(): void {
    const now = this.deps.now();
    const next = slotStart(this.clock, slotOf(this.clock, now) + 1);
    const delay =
      next === undefined ? MAX_TIMER_MS : Math.min(Math.max(next - now, 0), MAX_TIMER_MS);
    this.timer = setTimeout(this.onSlotBoundary, delay);
  }

  /** Runs from timers and event handlers: a failure is logged, never thrown into them. */
  private forgeSafely(): void {
    try {
      this.forge();
    } catch (e) {
      this.deps.log.warn({ err: e instanceof Error ? e.message : String(e) }, "forging failed");
    }
  }

  private forge(): void {
    const slot = slotOf(this.clock, this.deps.now());
    if (slot <= this.lastForgedSlot) return;
    const head = this.deps.head();
    const parent = head.header;
    if (parent.seal.type !== "pos" || slot <= parent.seal.slot) return;
    if (this.deps.paused?.()) return;
    const lottery = this.wins(head, slot);
    if (!lottery) return;
    const body = this.deps.selectBody(MAX_BLOCK_TRANSACTIONS, slot, slotStart(this.clock, slot)!);
    const evidence = body.evidence.slice(0, MAX_BLOCK_EVIDENCE);
    const transactions = transactionsThatFit(body.transactions, evidenceBytes(evidence));
    // Evidence is worth a block of its own: a fault is punished before the stake can leave.
    if (transactions.length === 0 && evidence.length === 0 && !this.deps.forgeEmptyBlocks) {
      if (this.lastIdleSlot !== slot)
        this.deps.log.debug({ slot }, "won the slot; no transactions to forge yet");
      this.lastIdleSlot = slot;
      return;
    }
    this.lastForgedSlot = slot;
    const block = sealBlock(
      {
        chainId: this.chainId,
        height: parent.height + 1,
        previousHash: head.hash,
        timestamp: slotStart(this.clock, slot)!,
        forger: this.deps.publicKey,
        stateRoot: this.deps.stateRoot({ transactions, evidence }, slot),
        seal: {
          type: "pos",
          slot,
          vrfProof: proveRandomness(this.chainId, slot, lottery.epoch.nonce, this.vrfKey),
        },
      },
      transactions,
      this.deps.privateKey,
      evidence,
    );
    this.counts.produced++;
    const where = { height: block.header.height, slot, hash: block.hashHex };
    this.deps.log.info(
      { ...where, transactions: transactions.length, evidence: evidence.length },
      "forged block",
    );
    this.deps.submit(block).catch((e: unknown) => {
      const reason = e instanceof Error ? e.message : String(e);
      this.deps.log.warn({ ...where, reason }, "forged block was not imported");
    });
  }

  /** The lottery of `slot` on `head` when this key wins it; drawn once per (head, slot). */
  private wins(head: HeadInfo, slot: number): EpochLottery | undefined {
    const headHex = toHex(head.hash);
    if (this.lastDraw?.head === headHex && this.lastDraw.slot === slot) return this.lastDraw.won;
    if (head.header.seal.type !== "pos") return undefined;
    const lottery = head.lottery(slot);
    const winner =
      lottery && lottery.validators.total > 0n
        ? slotWinner(lottery.validators, lottery.epoch.nonce, slot)
        : undefined;
    const won = winner === this.address ? lottery : undefined;
    this.lastDraw = { head: headHex, slot, won };
    if (slot !== this.lastCheckedSlot) this.counts.slotsChecked++;
    this.lastCheckedSlot = slot;
    if (won && slot !== this.lastWonSlot) this.counts.slotsWon++;
    if (won) this.lastWonSlot = slot;
    else if (!lottery) this.deps.log.warn({ slot }, "the lottery of the slot is not known here");
    else this.deps.log.debug({ slot, winner }, "slot won by another validator");
    return won;
  }
}
