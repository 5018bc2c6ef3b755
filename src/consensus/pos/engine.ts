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
import { posClockDriftMs, type SlotClock, slotClock, slotStart } from "./slots.js";

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
  private readonly chainId: string;

  constructor(genesis: Genesis) {
    if (genesis.consensus.type !== "pos") throw new Error("PosEngine needs a pos genesis");
    const config: PosConfig = genesis.consensus;
    this.chainId = genesis.chainId;
    this.finalityDepth = config.finalityDepth;
    this.clock = slotClock(genesis.timestamp, config);
    this.clockDriftMs = posClockDriftMs(config.slotMs);
  }

  verifySealStateless(block: Block): void {
    const seal = posSeal(block.header, "block");
    if (seal.randomness.length !== RANDOMNESS_BYTES)
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
    return epochContextOf(parent, slot);
  }

  // Cheapest checks first; the VRF proof (the only costly one) comes last.
  verifyHeader(header: BlockHeader, parent: BlockHeader, ctx: VerifyContext): EpochLink {
    this.verifyTiming(header, parent, ctx.now);
    const seal = posSeal(header, "block");
    const lottery = ctx.lottery;
    if (!lottery) throw new Error("a PoS header is verified against its epoch's lottery");
    const { epoch, validators } = lottery;
    if (epoch.epoch !== epochOf(seal.slot))
      throw new Error(`the lottery of epoch ${epoch.epoch} does not hold slot ${seal.slot}`);
    if (validators.total <= 0n) reject("WrongForger", "the epoch's snapshot has no validators");
    const winner = slotWinner(validators, epoch.nonce, seal.slot);
    if (addressFromPublicKey(header.forger) !== winner)
      reject("WrongForger", `slot ${seal.slot} was won by ${winner}`);
    const output = verifyRandomness(
      this.chainId,
      seal.slot,
      epoch.nonce,
      seal.randomness,
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

  /** Longest chain: every block weighs 1 (ties are broken by the chain, deterministically). */
  score(_header: BlockHeader, parentScore: bigint): bigint {
    return parentScore + 1n;
  }

  createProducer(deps: ProducerDeps): BlockProducer {
    return new PosForger(this.chainId, this.clock, deps);
  }
}
