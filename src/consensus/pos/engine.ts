import type { Block, BlockHeader } from "../../core/block.js";
import { reject } from "../../core/errors.js";
import type { Genesis, PosConfig } from "../../core/genesis.js";
import { addressFromPublicKey, SIGNATURE_BYTES } from "../../core/keys.js";
import type { BlockProducer, Engine, ProducerDeps, Seal, VerifyContext } from "../engine.js";
import { PosForger } from "./forger.js";
import { slotWinner } from "./lottery.js";
import { verifyRandomness } from "./randomness.js";
import { POS_CLOCK_DRIFT_MS, type SlotClock, slotClock, slotStart } from "./slots.js";

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
  readonly clockDriftMs = POS_CLOCK_DRIFT_MS;
  readonly clock: SlotClock;
  private readonly chainId: string;

  constructor(genesis: Genesis) {
    if (genesis.consensus.type !== "pos") throw new Error("PosEngine needs a pos genesis");
    const config: PosConfig = genesis.consensus;
    this.chainId = genesis.chainId;
    this.finalityDepth = config.finalityDepth;
    this.clock = slotClock(genesis.timestamp, config);
  }

  verifySealStateless(block: Block): void {
    const seal = posSeal(block.header, "block");
    if (seal.randomness.length !== SIGNATURE_BYTES)
      reject("BadRandomness", "randomness must be a 64-byte signature");
  }

  // Cheapest checks first; the signature check (the only costly one) comes last.
  verifyHeader(header: BlockHeader, parent: BlockHeader, ctx: VerifyContext): void {
    this.verifyTiming(header, parent, ctx.now);
    const seal = posSeal(header, "block");
    if (ctx.validators.total <= 0n) reject("WrongForger", "the parent state has no validators");
    const winner = slotWinner(ctx.validators, parent, seal.slot);
    if (addressFromPublicKey(header.forger) !== winner)
      reject("WrongForger", `slot ${seal.slot} was won by ${winner}`);
    this.verifyRandomnessOf(header, parent);
  }

  verifyHeaderAgainstParent(
    header: BlockHeader,
    parent: BlockHeader,
    ctx: Omit<VerifyContext, "validators">,
  ): void {
    this.verifyTiming(header, parent, ctx.now);
    this.verifyRandomnessOf(header, parent);
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

  private verifyRandomnessOf(header: BlockHeader, parent: BlockHeader): void {
    const seal = posSeal(header, "block");
    const parentSeal = posSeal(parent, "parent");
    if (
      !verifyRandomness(
        this.chainId,
        seal.slot,
        parentSeal.randomness,
        seal.randomness,
        header.forger,
      )
    )
      reject("BadRandomness", "randomness is not the forger's signature of the slot");
  }

  /** Longest chain: every block weighs 1 (ties are broken by the chain, deterministically). */
  score(_header: BlockHeader, parentScore: bigint): bigint {
    return parentScore + 1n;
  }

  createProducer(deps: ProducerDeps): BlockProducer {
    return new PosForger(this.chainId, this.clock, deps);
  }
}
