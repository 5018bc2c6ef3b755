import { type Block, type BlockHeader, hashHeader } from "../../core/block.js";
import { toHex } from "../../core/bytes.js";
import { reject } from "../../core/errors.js";
import type { Genesis, PowConfig } from "../../core/genesis.js";
import type {
  BlockProducer,
  Engine,
  HeaderReader,
  ProducerDeps,
  Seal,
  VerifyContext,
} from "../engine.js";
import { POW_CLOCK_DRIFT_MS } from "./clock.js";
import { PowMiner } from "./miner.js";
import { nextTarget } from "./retarget.js";
import { hashMeetsTarget, workOfTarget } from "./target.js";

/**
 * Blocks this deep under the head never reorganise under PoW. Work makes deep reorganisations
 * unlikely, not impossible; this bound keeps a node from being dragged far back by a long secret
 * chain, at the price that a node split off for more than this many blocks needs an operator.
 */
export const POW_FINALITY_DEPTH = 100;

type PowSeal = Extract<Seal, { type: "pow" }>;

function powSeal(header: BlockHeader, what: string): PowSeal {
  if (header.seal.type !== "pow")
    return reject("WrongConsensus", `${what} carries a ${header.seal.type} seal on a PoW chain`);
  return header.seal;
}

/** The target a child of `parent` must carry, reading the grandparent from `headers`. */
export function expectedTarget(
  parent: BlockHeader,
  headers: HeaderReader,
  config: PowConfig,
): bigint {
  if (parent.height < 2) return nextTarget(parent, undefined, config);
  const grandparent = headers.getHeader(toHex(parent.previousHash));
  if (!grandparent) return reject("UnknownParent", `grandparent of height ${parent.height + 1}`);
  return nextTarget(parent, grandparent, config);
}

/** Proof of Work: the header hash under a retargeted target; the chain with most work wins. */
export class PowEngine implements Engine {
  readonly type = "pow";
  readonly finalityDepth = POW_FINALITY_DEPTH;
  readonly clockDriftMs = POW_CLOCK_DRIFT_MS;
  readonly config: PowConfig;
  private readonly chainId: string;

  constructor(genesis: Genesis) {
    if (genesis.consensus.type !== "pow") throw new Error("PowEngine needs a pow genesis");
    this.config = genesis.consensus;
    this.chainId = genesis.chainId;
  }

  /** Target within [1, initialTarget] and the block hash under it: junk costs one comparison. */
  verifySealStateless(block: Block): void {
    const seal = powSeal(block.header, "block");
    if (seal.target < 1n || seal.target > this.config.initialTarget)
      reject("BadTarget", "target is outside 1 .. the genesis initialTarget");
    if (!hashMeetsTarget(block.hash, seal.target))
      reject("InsufficientWork", "block hash is above its target");
  }

  verifyHeader(header: BlockHeader, parent: BlockHeader, ctx: VerifyContext): undefined {
    const seal = powSeal(header, "block");
    powSeal(parent, "parent");
    if (header.timestamp <= parent.timestamp)
      reject("BadTimestamp", `timestamp ${header.timestamp} is not after the parent's`);
    if (header.timestamp > ctx.now + this.clockDriftMs)
      reject("FutureBlock", `timestamp ${header.timestamp} is ahead of now (${ctx.now})`);
    const expected = expectedTarget(parent, ctx.headers, this.config);
    if (seal.target !== expected)
      reject("BadTarget", `target ${seal.target.toString(16)} is not ${expected.toString(16)}`);
    if (!hashMeetsTarget(hashHeader(header), seal.target))
      reject("InsufficientWork", "block hash is above its target");
    return undefined;
  }

  /** No epochs, slots or lottery under PoW: headers need no state. */
  genesisLink(): undefined {
    return undefined;
  }

  productionSlot(): undefined {
    return undefined;
  }

  epochContext(): undefined {
    return undefined;
  }

  /** Cumulative work: each block adds the expected number of hashes its target took. */
  score(header: BlockHeader, parentScore: bigint): bigint {
    return parentScore + workOfTarget(powSeal(header, "block").target);
  }

  /** Equal work is rare under PoW; ties go by the lower hash, whenever a block arrives. */
  arrivedLate(): boolean {
    return false;
  }

  slotAt(): undefined {
    return undefined;
  }

  createProducer(deps: ProducerDeps): BlockProducer {
    return new PowMiner(this.chainId, this.config, deps);
  }
}
