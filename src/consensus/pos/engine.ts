import type { Block, BlockHeader } from "../../core/block.js";
import { reject } from "../../core/errors.js";
import type { Genesis, PosConfig } from "../../core/genesis.js";
import { addressFromPublicKey } from "../../core/keys.js";
import type {
  BlockProducer,
  Engine,
  EpochContext,
  EpochLink,
  LinkedHeader,
  ProducerDeps,
  Seal,
  VerifyContext,
} from "../engine.js";
import { childEpochLink, epochContextOf, epochOf, genesisEpochLink } from "./epochs.js";
import { PosForger } from "./forger.js";
import { slotWinner } from "./lottery.js";
import { RANDOMNESS_BYTES, verifyRandomness } from "./randomness.js";
import { posClockDriftMs, type SlotClock, slotClock, slotOf, slotStart } from "./slots.js";

export { slotWinner } from "./lottery.js";

type PosSeal = Extract<Seal, { type: "pos" }>;

function posSeal(header: BlockHeader, what: string): PosSeal {
  if (header.seal.type !== "pos")
    return reject("WrongConsensus", `${what} carries a ${header.seal.type} seal on a PoS chain`);
  return header.seal;
}

/** Proof of Stake by the "lot" lottery: one forger per slot, the chain with most blocks wins. */
export class PosEngine implements Engine {
  readonly type = "pos";
  readonly finalityDepth: number;
  readonly clockDriftMs: number;
  readonly clock: SlotClock;
  readonly epochSlots: number;
  private readonly chainId: string;

  constructor(genesis: Genesis) {
    if (genesis.consensus.type !== "pos") throw new Error("PosEngine needs a pos genesis");
    const config: PosConfig = genesis.consensus;
    this.chainId = genesis.chainId;
    this.finalityDepth = config.finalityDepth;
    this.epochSlots = config.epochSlots;
    this.clock = slotClock(genesis.timestamp, config);
    this.clockDriftMs = posClockDriftMs(config.slotMs);
  }

  verifySealStateless(block: Block): void {
    const seal = posSeal(block.header, "block");
    if (seal.vrfProof.length !== RANDOMNESS_BYTES)
      reject("BadRandomness", `randomness must be a ${RANDOMNESS_BYTES}-byte VRF proof`);
  }

  genesisLink(genesis: Block): EpochLink {
    return genesisEpochLink(genesis);
  }

  productionSlot(header: BlockHeader): number {
    return posSeal(header, "block").slot;
  }

  epochContext(parent: LinkedHeader, slot: number): EpochContext {
    posSeal(parent.header, "parent");
    return epochContextOf(parent, slot, this.epochSlots);
  }

  // Cheapest checks first; the VRF proof (the only costly one) comes last.
  verifyHeader(header: BlockHeader, parent: BlockHeader, ctx: VerifyContext): EpochLink {
    this.verifyTiming(header, parent, ctx.now);
    const seal = posSeal(header, "block");
    const lottery = ctx.lottery;
    if (!lottery) throw new Error("a PoS header is verified against its epoch's lottery");
    const { epoch, validators } = lottery;
    if (epoch.epoch !== epochOf(seal.slot, this.epochSlots))
      throw new Error(`the lottery of epoch ${epoch.epoch} does not hold slot ${seal.slot}`);
    if (validators.total <= 0n) reject("WrongForger", "the epoch's snapshot has no validators");
    const winner = slotWinner(validators, epoch.nonce, seal.slot);
    if (addressFromPublicKey(header.forger) !== winner)
      reject("WrongForger", `slot ${seal.slot} was won by ${winner}`);
    const output = verifyRandomness(
      this.chainId,
      seal.slot,
      epoch.nonce,
      seal.vrfProof,
      header.forger,
    );
    if (!output)
      reject("BadRandomness", "randomness is not the forger's VRF proof of the slot and epoch");
    return childEpochLink(epoch, output);
  }

  private verifyTiming(header: BlockHeader, parent: BlockHeader, now: number): void {
    const seal = posSeal(header, "block");
    const parentSeal = posSeal(parent, "parent");
    if (seal.slot <= parentSeal.slot)
      reject(
        "SlotNotAfterParent",
        `slot ${seal.slot} is not after the parent's ${parentSeal.slot}`,
      );
    const start = slotStart(this.clock, seal.slot);
    if (start === undefined || header.timestamp !== start)
      reject("BadTimestamp", `timestamp ${header.timestamp} is not the start of slot ${seal.slot}`);
    if (start > now + this.clockDriftMs)
      reject("FutureBlock", `slot ${seal.slot} starts at ${start}, after now (${now})`);
  }

  /** Longest chain: every block weighs 1 (ties: the earlier slot, then the lower hash). */
  score(_header: BlockHeader, parentScore: bigint): bigint {
    return parentScore + 1n;
  }

  /**
   * A block that arrives after its slot ended (plus the clock drift allowed between nodes) was
   * withheld or sent late on purpose: it may extend the chain, but never displace a head of the
   * same length, so that a winner of a later slot cannot orphan an honest block by timing.
   */
  slotAt(now: number): number {
    return slotOf(this.clock, now);
  }

  arrivedLate(header: BlockHeader, arrivalMs: number): boolean {
    const seal = posSeal(header, "block");
    const end = slotStart(this.clock, seal.slot + 1);
    return end !== undefined && arrivalMs > end + this.clockDriftMs;
  }

  createProducer(deps: ProducerDeps): BlockProducer {
    return new PosForger(this.chainId, this.clock, deps);
  }
}
