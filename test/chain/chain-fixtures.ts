import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chain, type ChainOptions } from "../../src/chain/chain.js";
import type { Engine, EpochLink, EpochLottery } from "../../src/consensus/engine.js";
import {
  buildValidatorSet,
  childEpochLink,
  createEngine,
  expectedTarget,
  hashMeetsTarget,
  proveRandomness,
  randomnessOutput,
  slotStart,
  slotWinner,
} from "../../src/consensus/index.js";
import {
  type Block,
  type BlockHeader,
  blockSigningBytes,
  hashHeader,
  makeBlock,
  sealBlock,
} from "../../src/core/block.js";
import { bigIntToBytes, toHex } from "../../src/core/bytes.js";
import { isValidationError, type RejectCode } from "../../src/core/errors.js";
import type { Evidence } from "../../src/core/evidence.js";
import {
  type Genesis,
  genesisAccounts,
  genesisBlock,
  ledgerParams,
  parseGenesis,
} from "../../src/core/genesis.js";
import {
  type Address,
  type KeyPair,
  keyPairFromSeed,
  privateKeySeed,
  sign,
} from "../../src/core/keys.js";
import { smtRootOf } from "../../src/core/smt.js";
import {
  type Account,
  applyBlockTransactions,
  type BlockBody,
  type BlockEffects,
  encodeAccount,
  stateKey,
  totalStake,
  totalSupply,
} from "../../src/core/state.js";
import { signTransaction, type Transaction, type TxType } from "../../src/core/transaction.js";
import { type VrfSecretKey, vrfSecretKey } from "../../src/core/vrf.js";

/**
 * Shared fixtures of the chain tests, the crash test's child and the import benchmark: test
 * keys, test genesis files, and a reference model of the block tree that builds valid blocks
 * (sealed for PoS, mined for PoW) with the real engines and computes each block's state with
 * the core state transition alone, independently of the Chain under test.
 */

export const CHAIN_ID = "lotchain-chaintest";
/** 2025-01-01: slot starts up to now are valid, far-future ones are not. */
export const GENESIS_TIME = 1_735_689_600_000;

const key = (n: number) => keyPairFromSeed(new Uint8Array(32).fill(n));
export const KEYS = {
  forger: key(41),
  alice: key(42),
  bob: key(43),
  exchange: key(44),
  carol: key(45),
};

/** A PoW initial target that about one hash in 16 meets: mining in tests takes microseconds. */
export const EASY_TARGET = (1n << 252n) - 1n;

export interface GenesisOptions {
  finalityDepth?: number;
  blockReward?: number;
  /** Extra validators beside the forger (address → stake). */
  validators?: Record<string, string>;
}

export function testGenesis(type: "pos" | "pow", options: GenesisOptions = {}): Genesis {
  return parseGenesis({
    chainId: CHAIN_ID,
    timestamp: GENESIS_TIME,
    consensus:
      type === "pos"
        ? { type: "pos", slotMs: 1000, finalityDepth: options.finalityDepth ?? 8 }
        : {
            type: "pow",
            targetBlockMs: 1000,
            initialTarget: toHex(bigIntToBytes(EASY_TARGET, 32)),
          },
    alloc: {
      [KEYS.alice.address]: "1000000",
      [KEYS.bob.address]: "1000",
    },
    validators: type === "pos" ? { [KEYS.forger.address]: "100", ...options.validators } : {},
    exchange: [KEYS.exchange.address],
    blockReward: String(options.blockReward ?? 5),
    minFee: "1",
  });
}

export async function tempDir(
  prefix = "lotchain-chain-",
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface TxOptions {
  type?: TxType;
  to?: KeyPair | Address;
  amount?: bigint;
  fee?: bigint;
}

export function tx(from: KeyPair, nonce: number, options: TxOptions = {}): Transaction {
  const type = options.type ?? "TRANSFER";
  const to = options.to ?? from;
  return signTransaction(
    {
      chainId: CHAIN_ID,
      type,
      senderPublicKey: from.publicKey,
      receiver: typeof to === "string" ? to : to.address,
      amount: options.amount ?? 1n,
      fee: options.fee ?? 1n,
      nonce,
      timestamp: GENESIS_TIME + nonce,
    },
    from.privateKey,
  );
}

interface ModelEntry {
  block: Block;
  accounts: Map<Address, Account>;
  minted: bigint;
  /** PoS: the block's epoch link, derived with the engine's own functions. */
  link: EpochLink | undefined;
}

const vrfKeys = new Map<Address, VrfSecretKey>();

/** The VRF key of a test key (derived from its Ed25519 seed, as the forger does). */
export function vrfKeyOf(key: KeyPair): VrfSecretKey {
  let vrf = vrfKeys.get(key.address);
  if (!vrf) {
    vrf = vrfSecretKey(privateKeySeed(key.privateKey));
    vrfKeys.set(key.address, vrf);
  }
  return vrf;
}

export interface ChildOptions {
  /** PoS: the lowest slot to try (the first slot with a winner we hold at or after it is used). */
  minSlot?: number;
  /** PoW: milliseconds after the parent's timestamp (the solve time the retarget reads). */
  solveMs?: number;
  /** PoW: start of the nonce search, so that two otherwise equal blocks differ. */
  nonceStart?: bigint;
  /** Seal with this key even when it does not win the slot (to test WrongForger). */
  forgerOverride?: KeyPair;
  /** PoS: slashing evidence the block includes. */
  evidence?: Evidence[];
  /** A state root to carry instead of the right one (to test BadStateRoot). */
  stateRoot?: Uint8Array;
  /**
   * The block breaks a rule: the model keeps the parent's state for it (so that children can
   * still be built on it) instead of applying its body.
   */
  invalid?: boolean;
}

/**
 * The block tree as a reference model: every block with the state after it. `child` builds a
 * valid child of any block (the slot's lottery winner among the held keys seals it under PoS;
 * it is mined under PoW) and records the state the core computes for it. Under PoS the model
 * follows epochs with the engine's functions (epochContext, the VRF output of each block) and
 * draws each lottery from the state it recorded for the epoch's snapshot block.
 */
export class BlockTreeModel {
  readonly engine: Engine;
  readonly genesisBlock: Block;
  private readonly entries = new Map<string, ModelEntry>();
  private readonly keysByAddress = new Map<Address, KeyPair>();

  constructor(
    readonly genesis: Genesis,
    keys: KeyPair[] = Object.values(KEYS),
  ) {
    this.engine = createEngine(genesis);
    this.genesisBlock = genesisBlock(genesis);
    for (const k of keys) this.keysByAddress.set(k.address, k);
    this.entries.set(this.genesisBlock.hashHex, {
      block: this.genesisBlock,
      accounts: genesisAccounts(genesis),
      minted: 0n,
      link: this.engine.genesisLink(this.genesisBlock),
    });
  }

  /** The epoch link the model derived for a block (PoS). */
  linkOf(block: Block): EpochLink | undefined {
    return this.entry(block.hashHex).link;
  }

  /** The lottery of a child of `parent` in `slot`: its epoch and its snapshot's validators. */
  lottery(parent: Block, slot: number): EpochLottery {
    const epoch = this.engine.epochContext(
      { header: parent.header, hash: parent.hash, link: this.entry(parent.hashHex).link },
      slot,
    );
    if (!epoch) throw new Error("not a PoS chain");
    const snapshot = this.entry(toHex(epoch.snapshot));
    return { epoch, validators: buildValidatorSet(snapshot.accounts) };
  }

  /** The winner of `slot` on `parent`, by the model's lottery. */
  winner(parent: Block, slot: number): Address {
    const { epoch, validators } = this.lottery(parent, slot);
    return slotWinner(validators, epoch.nonce, slot);
  }

  private entry(hash: string): ModelEntry {
    const e = this.entries.get(hash);
    if (!e) throw new Error(`model has no block ${hash}`);
    return e;
  }

  stateAfter(block: Block): Map<Address, Account> {
    return this.entry(block.hashHex).accounts;
  }

  mintedAfter(block: Block): bigint {
    return this.entry(block.hashHex).minted;
  }

  getHeader(hashHex: string): BlockHeader | undefined {
    return this.entries.get(hashHex)?.block.header;
  }

  /** A chain of `count` children, each on the previous one. */
  extend(
    parent: Block,
    count: number,
    txs: (i: number) => Transaction[] = () => [],
    options: ChildOptions = {},
  ): Block[] {
    const out: Block[] = [];
    for (let i = 0; i < count; i++) {
      parent = this.child(parent, txs(i), options);
      out.push(parent);
    }
    return out;
  }

  child(parent: Block, transactions: Transaction[], options: ChildOptions = {}): Block {
    const parentEntry = this.entry(parent.hashHex);
    const block =
      this.genesis.consensus.type === "pos"
        ? this.forge(parent, transactions, options)
        : this.mine(parent, transactions, options);
    const link = this.childLink(parent, block);
    if (options.invalid) this.entries.set(block.hashHex, { ...parentEntry, block, link });
    else this.record(block, parentEntry, link);
    return block;
  }

  private childLink(parent: Block, block: Block): EpochLink | undefined {
    if (block.header.seal.type !== "pos") return undefined;
    const { epoch } = this.lottery(parent, block.header.seal.slot);
    const output = randomnessOutput(block.header.seal.vrfProof);
    if (!output) throw new Error("the block's randomness does not decode");
    return childEpochLink(epoch, output);
  }

  /** The accounts after a body on a parent's state, by the core's rules. */
  private applyOn(
    parent: ModelEntry,
    body: BlockBody,
    forger: Uint8Array,
    slot: number | undefined,
  ): { accounts: Map<Address, Account>; effects: BlockEffects } {
    const reader = { getAccount: (a: Address) => parent.accounts.get(a) };
    const effects = applyBlockTransactions(
      reader,
      body,
      {
        forger,
        slot,
        totals: {
          totalStake: totalStake(parent.accounts.values()),
          supply: totalSupply(parent.accounts.values()),
        },
      },
      ledgerParams(this.genesis),
      // The model signed these itself; the chain under test verifies every signature.
      () => true,
    );
    const accounts = new Map(parent.accounts);
    for (const [address, account] of effects.changes) accounts.set(address, account);
    return { accounts, effects };
  }

  /**
   * The state root a child would carry: the root of the state after its body, or, for a body
   * that breaks a rule (an invalid block), the parent's root.
   */
  private stateRootFor(
    parent: Block,
    body: BlockBody,
    forger: Uint8Array,
    slot: number | undefined,
    options: ChildOptions,
  ): Uint8Array {
    if (options.stateRoot) return options.stateRoot;
    try {
      const { accounts } = this.applyOn(this.entry(parent.hashHex), body, forger, slot);
      return stateRootOf(accounts);
    } catch (e) {
      if (isValidationError(e)) return parent.header.stateRoot;
      throw e;
    }
  }

  private record(block: Block, parent: ModelEntry, link: EpochLink | undefined): void {
    const { accounts, effects } = this.applyOn(
      parent,
      block,
      block.header.forger,
      block.header.seal.type === "pos" ? block.header.seal.slot : undefined,
    );
    this.entries.set(block.hashHex, {
      block,
      accounts,
      minted: parent.minted + effects.minted,
      link,
    });
  }

  private forge(parent: Block, txs: Transaction[], options: ChildOptions): Block {
    if (parent.header.seal.type !== "pos" || this.genesis.consensus.type !== "pos")
      throw new Error("not a PoS chain");
    const clock = {
      genesisTimestamp: this.genesis.timestamp,
      slotMs: this.genesis.consensus.slotMs,
    };
    let slot = Math.max(parent.header.seal.slot + 1, options.minSlot ?? 0);
    let forger = this.keysByAddress.get(this.winner(parent, slot));
    while (!forger && !options.forgerOverride) {
      slot++;
      forger = this.keysByAddress.get(this.winner(parent, slot));
    }
    const signer = options.forgerOverride ?? forger!;
    const { epoch } = this.lottery(parent, slot);
    const evidence = options.evidence ?? [];
    return sealBlock(
      {
        chainId: this.genesis.chainId,
        height: parent.header.height + 1,
        previousHash: parent.hash,
        timestamp: slotStart(clock, slot)!,
        forger: signer.publicKey,
        stateRoot: this.stateRootFor(
          parent,
          { transactions: txs, evidence },
          signer.publicKey,
          slot,
          options,
        ),
        seal: {
          type: "pos",
          slot,
          vrfProof: proveRandomness(this.genesis.chainId, slot, epoch.nonce, vrfKeyOf(signer)),
        },
      },
      txs,
      signer.privateKey,
      evidence,
    );
  }

  private mine(parent: Block, txs: Transaction[], options: ChildOptions): Block {
    if (this.genesis.consensus.type !== "pow") throw new Error("not a PoW chain");
    const miner = options.forgerOverride ?? KEYS.forger;
    const target = expectedTarget(parent.header, this, this.genesis.consensus);
    const stateRoot = this.stateRootFor(
      parent,
      { transactions: txs },
      miner.publicKey,
      undefined,
      options,
    );
    for (let nonce = options.nonceStart ?? 0n; ; nonce++) {
      const block = sealBlock(
        {
          chainId: this.genesis.chainId,
          height: parent.header.height + 1,
          previousHash: parent.hash,
          timestamp: parent.header.timestamp + (options.solveMs ?? 1000),
          forger: miner.publicKey,
          stateRoot,
          seal: { type: "pow", target, nonce },
        },
        txs,
        miner.privateKey,
      );
      if (hashMeetsTarget(block.hash, target)) return block;
    }
  }
}

/** The state root of a set of accounts, built from nothing (the reference the chain must match). */
export function stateRootOf(accounts: Map<Address, Account>): Uint8Array {
  return smtRootOf(
    [...accounts].map(([address, account]) => ({
      key: stateKey(address),
      value: encodeAccount(account),
    })),
  ).root;
}

/** Opens a Chain on a data directory with the real engine of the genesis. */
export function openChain(
  dataDir: string,
  genesis: Genesis,
  options: Partial<ChainOptions> = {},
): Promise<Chain> {
  return Chain.open({ dataDir, genesis, engine: createEngine(genesis), ...options });
}

/** A block with exactly this header (txRoot included), signed by `signer`. */
export function signedBlock(header: BlockHeader, txs: Transaction[], signer: KeyPair): Block {
  return makeBlock(header, sign(blockSigningBytes(hashHeader(header)), signer.privateKey), txs);
}

/** A copy of a block with some header fields changed, signed again by its forger's key. */
export function reseal(
  block: Block,
  changes: Partial<BlockHeader>,
  signer: KeyPair = KEYS.forger,
): Block {
  return signedBlock({ ...block.header, ...changes }, block.transactions, signer);
}

/** What a rejected import must leave untouched. */
export function snapshot(chain: Chain) {
  const accounts = Object.values(KEYS).map((k) => chain.getAccount(k.address) ?? null);
  return {
    head: chain.head.hashHex,
    height: chain.head.height,
    accounts,
    supply: chain.totalSupply(),
    expectedSupply: chain.expectedSupply(),
    orphans: chain.orphanCount,
  };
}

/** The code of the ValidationError a promise rejects with ("none" when it resolves). */
export async function rejectionCode(promise: Promise<unknown>): Promise<RejectCode | "none"> {
  try {
    await promise;
    return "none";
  } catch (e) {
    if (isValidationError(e)) return e.code;
    throw e;
  }
}
