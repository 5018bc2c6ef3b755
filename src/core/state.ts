import { addAmounts, MAX_AMOUNT } from "./amount.js";
import { equalBytes } from "./bytes.js";
import { type Canonical, CborReader, decodeCanonical, encodeCanonical } from "./encoding.js";
import { reject } from "./errors.js";
import type { Evidence } from "./evidence.js";
import { taggedHash } from "./hash.js";
import { type Address, addressFromPublicKey, parseAddress } from "./keys.js";
import { type Transaction, verifyTransactionSignature } from "./transaction.js";

/** Stake on its way back to the balance: spendable from `releaseSlot` on, slashable before. */
export interface UnbondingEntry {
  amount: bigint;
  releaseSlot: number;
}

export interface Account {
  balance: bigint;
  stake: bigint;
  /** The next nonce this account must use. */
  nonce: number;
  /** PoS: unbonding stake, by release slot (ascending); absent or empty when there is none. */
  unbonding?: readonly UnbondingEntry[];
  /**
   * PoS: the slot of the latest fault this account was slashed for. Evidence of a fault at or
   * before it never applies again.
   */
  slashedSlot?: number;
}

export const EMPTY_ACCOUNT: Readonly<Account> = Object.freeze({ balance: 0n, stake: 0n, nonce: 0 });

/** Read access to account state; undefined means the account has never been touched. */
export interface AccountReader {
  getAccount(address: Address): Account | undefined;
}

/** Slashing under Proof of Stake (genesis consensus fields), in millionths. */
export interface SlashingParams {
  /** The share of a faulty validator's stake, bonded and unbonding, that is taken. */
  fractionMillionths: number;
  /** The share of what is taken that goes to the reporter (the forger including the evidence). */
  reporterMillionths: number;
  /** Evidence older than this many slots (against the including block's slot) is refused. */
  maxEvidenceAgeSlots: number;
}

/** The ledger rules of one network, read from its genesis file. */
export interface LedgerParams {
  chainId: string;
  minFee: bigint;
  blockReward: bigint;
  exchange: ReadonlySet<Address>;
  /** Under Proof of Stake the last stake may not leave: the lottery needs a positive total. */
  keepPositiveStake: boolean;
  /** Total supply never passes this (EXCHANGE mints and rewards stop at it): at most 2^64 - 1. */
  maxSupply: bigint;
  /** PoS: UNSTAKE unbonds for this many slots; undefined (PoW): UNSTAKE returns stake at once. */
  unbondingSlots: number | undefined;
  /** PoS: slashing rules; undefined (PoW): blocks carry no evidence. */
  slashing: SlashingParams | undefined;
}

/**
 * Supply accounting of a state: every balance, stake and unbonding amount sums to `supply`,
 * which is the genesis supply plus everything minted minus everything burned.
 */
export interface SupplyTotals {
  /** Sum of all bonded stakes (the lottery's denominator). */
  totalStake: bigint;
  /** Sum of every balance, stake and unbonding amount. */
  supply: bigint;
}

/**
 * An account's canonical encoding (the state tree's leaf value, the store's account value):
 * [balance, stake, nonce], and when it has unbonding stake or was ever slashed
 * [balance, stake, nonce, [[amount, releaseSlot], ...], slashedSlot or null].
 */
export function accountItems(a: Account): Canonical {
  const unbonding = a.unbonding ?? [];
  if (unbonding.length === 0 && a.slashedSlot === undefined) return [a.balance, a.stake, a.nonce];
  return [
    a.balance,
    a.stake,
    a.nonce,
    unbonding.map((e) => [e.amount, e.releaseSlot]),
    a.slashedSlot ?? null,
  ];
}

export function accountFromItems(items: unknown): Account {
  const extended = Array.isArray(items) && items.length === 5;
  const r = CborReader.of(items, "account", extended ? 5 : 3);
  const account: Account = { balance: r.u64(), stake: r.u64(), nonce: r.uint() };
  if (!extended) return account;
  const unbonding = r.array().map((entry): UnbondingEntry => {
    const e = CborReader.of(entry, "unbonding entry", 2);
    return { amount: e.u64(), releaseSlot: e.uint() };
  });
  if (unbonding.length > 0) account.unbonding = unbonding;
  const slashed = (items as unknown[])[4];
  if (slashed !== null) account.slashedSlot = r.uint();
  return account;
}

export function encodeAccount(a: Account): Uint8Array {
  return encodeCanonical(accountItems(a));
}

/** The state tree's key of an account: a tagged hash of its 20-byte id (keys spread evenly). */
export function stateKey(address: Address): Uint8Array {
  return taggedHash("lotchain/smt-key/v1", parseAddress(address));
}

/** Decodes an account strictly: only its canonical encoding is accepted (Malformed otherwise). */
export function decodeAccount(bytes: Uint8Array): Account {
  const account = accountFromItems(decodeCanonical(bytes, "account"));
  if (!equalBytes(encodeAccount(account), bytes))
    reject("Malformed", "account: not canonically encoded");
  return account;
}

/** An account's values in JSON (amounts as decimal strings), as the API shows them. */
export function accountToJson(a: Account) {
  return {
    balance: a.balance.toString(),
    stake: a.stake.toString(),
    nonce: a.nonce,
    // Stake on its way back (UNSTAKE): spendable from releaseSlot on, slashable until then.
    unbonding: (a.unbonding ?? []).map((e) => ({
      amount: e.amount.toString(),
      releaseSlot: e.releaseSlot,
    })),
    slashed: a.slashedSlot !== undefined,
  };
}

/** Whether two accounts hold the same values (absent unbonding equals none). */
export function accountsEqual(a: Account, b: Account): boolean {
  if (a.balance !== b.balance || a.stake !== b.stake || a.nonce !== b.nonce) return false;
  if (a.slashedSlot !== b.slashedSlot) return false;
  const ua = a.unbonding ?? [];
  const ub = b.unbonding ?? [];
  return (
    ua.length === ub.length &&
    ua.every((e, i) => e.amount === ub[i]!.amount && e.releaseSlot === ub[i]!.releaseSlot)
  );
}

/** The amounts of an account's unbonding entries. */
export function unbondingTotal(account: Account): bigint {
  let sum = 0n;
  for (const e of account.unbonding ?? []) sum += e.amount;
  return sum;
}

/**
 * The account as a block at `slot` sees it: unbonding entries whose release slot has come are
 * part of the balance. Returns the same object when nothing is released. Every read of an
 * account by the state transition goes through this, so a release needs no event of its own.
 */
export function settleAccount(account: Account, slot: number | undefined): Account {
  const unbonding = account.unbonding;
  if (slot === undefined || !unbonding || unbonding.length === 0) return account;
  if (unbonding[0]!.releaseSlot > slot) return account;
  let released = 0n;
  const rest: UnbondingEntry[] = [];
  for (const e of unbonding) {
    if (e.releaseSlot <= slot) released += e.amount;
    else rest.push(e);
  }
  // Cannot overflow: every amount is part of a supply below 2^64.
  const settled: Account = { ...account, balance: account.balance + released };
  if (rest.length > 0) settled.unbonding = rest;
  else delete settled.unbonding;
  return settled;
}

/**
 * Copy-on-write accounts over a base reader. Applying transactions writes here only; the
 * caller commits `changes` and keeps `undo` (the value before, or null when absent) to revert.
 * Accounts are read as of `slot` (settleAccount).
 */
export class StateOverlay implements AccountReader {
  readonly changes = new Map<Address, Account>();
  readonly undo = new Map<Address, Account | null>();

  constructor(
    private readonly base: AccountReader,
    /** Sum of all stakes, kept current as transactions apply. */
    public totalStake: bigint,
    /** Total supply, kept current as transactions mint. */
    public supply: bigint,
    /** PoS: the slot of the block being applied (or built); undefined under PoW. */
    readonly slot: number | undefined = undefined,
  ) {}

  getAccount(address: Address): Account | undefined {
    const account = this.changes.get(address) ?? this.base.getAccount(address);
    return account && settleAccount(account, this.slot);
  }

  /** The account as a fresh mutable copy (an absent account reads as empty). */
  load(address: Address): Account {
    const a = this.getAccount(address) ?? EMPTY_ACCOUNT;
    const copy: Account = { balance: a.balance, stake: a.stake, nonce: a.nonce };
    if (a.unbonding && a.unbonding.length > 0) copy.unbonding = a.unbonding;
    if (a.slashedSlot !== undefined) copy.slashedSlot = a.slashedSlot;
    return copy;
  }

  store(address: Address, account: Account): void {
    if (!this.undo.has(address)) {
      const before = this.base.getAccount(address);
      this.undo.set(address, before ? { ...before } : null);
    }
    this.changes.set(address, account);
  }
}

/** Checks that need no state: chain, amount, fee, receiver rules, exchange authority. */
export function checkTransactionRules(tx: Transaction, params: LedgerParams): void {
  if (tx.chainId !== params.chainId)
    reject("WrongChain", `transaction is for chain ${tx.chainId}, this is ${params.chainId}`);
  if (tx.amount <= 0n) reject("BadAmount", "amount must be positive");
  if (tx.fee < params.minFee) reject("FeeTooLow", `fee must be at least ${params.minFee}`);
  if ((tx.type === "STAKE" || tx.type === "UNSTAKE") && tx.receiver !== tx.sender)
    reject("ReceiverMustBeSender", `${tx.type} must name the sender as receiver`);
  if (tx.type === "EXCHANGE" && !params.exchange.has(tx.sender))
    reject(
      "NotExchangeAuthority",
      "EXCHANGE must be signed by an exchange authority of the genesis",
    );
  if (tx.type === "EXCHANGE" && tx.amount > params.maxSupply)
    reject("SupplyCapExceeded", `EXCHANGE amount passes the supply cap ${params.maxSupply}`);
}

/** The sender's signature over the transaction. */
export function checkSignature(tx: Transaction): void {
  if (!verifyTransactionSignature(tx)) reject("InvalidSignature", "signature does not verify");
}

/** Stateless checks plus the signature: everything but nonce and funds. */
export function checkTransaction(tx: Transaction, params: LedgerParams): void {
  checkTransactionRules(tx, params);
  checkSignature(tx);
}

/**
 * Applies one transaction to the overlay after checking nonce and funds against the state as
 * left by every earlier transaction. Returns the fee, which the caller credits to the forger.
 * Signature and stateless rules are checked by the caller (they are cached and batched).
 */
export function applyTransaction(
  state: StateOverlay,
  tx: Transaction,
  params: LedgerParams,
): bigint {
  const sender = state.load(tx.sender);
  if (tx.nonce < sender.nonce)
    reject("NonceTooLow", `nonce ${tx.nonce} already used; next is ${sender.nonce}`);
  if (tx.nonce > sender.nonce)
    reject("NonceGap", `nonce ${tx.nonce} is ahead; next is ${sender.nonce}`);
  const debit = tx.type === "EXCHANGE" || tx.type === "UNSTAKE" ? tx.fee : tx.amount + tx.fee;
  if (sender.balance < debit)
    reject("InsufficientFunds", `balance ${sender.balance} is below ${debit} (amount plus fee)`);
  if (tx.type === "EXCHANGE" && state.supply + tx.amount > params.maxSupply)
    reject(
      "SupplyCapExceeded",
      `minting ${tx.amount} would take the supply past its cap ${params.maxSupply} ` +
        `(${params.maxSupply - state.supply} left)`,
    );
  sender.balance -= debit;
  sender.nonce += 1;
  // Every sum below stays within the supply, which the cap keeps below 2^64: addAmounts only
  // guards the invariant.
  switch (tx.type) {
    case "TRANSFER":
    case "EXCHANGE": {
      if (tx.receiver === tx.sender) {
        sender.balance = addAmounts(sender.balance, tx.amount);
      } else {
        const receiver = state.load(tx.receiver);
        receiver.balance = addAmounts(receiver.balance, tx.amount);
        state.store(tx.receiver, receiver);
      }
      if (tx.type === "EXCHANGE") state.supply += tx.amount;
      break;
    }
    case "STAKE":
      sender.stake = addAmounts(sender.stake, tx.amount, "stake");
      state.totalStake += tx.amount;
      break;
    case "UNSTAKE":
      if (sender.stake < tx.amount)
        reject("InsufficientStake", `stake ${sender.stake} is below ${tx.amount}`);
      if (params.keepPositiveStake && state.totalStake - tx.amount <= 0n)
        reject("LastStake", "the last stake cannot leave: Proof of Stake needs a validator");
      sender.stake -= tx.amount;
      state.totalStake -= tx.amount;
      if (params.unbondingSlots === undefined || state.slot === undefined) {
        sender.balance = addAmounts(sender.balance, tx.amount);
      } else {
        const releaseSlot = state.slot + params.unbondingSlots;
        const entries = [...(sender.unbonding ?? [])];
        const last = entries[entries.length - 1];
        // One entry per release slot: a second UNSTAKE in the same block adds to it.
        if (last && last.releaseSlot === releaseSlot)
          entries[entries.length - 1] = { releaseSlot, amount: last.amount + tx.amount };
        else entries.push({ amount: tx.amount, releaseSlot });
        sender.unbonding = entries;
      }
      break;
  }
  state.store(tx.sender, sender);
  return tx.fee;
}

/** What one piece of evidence did: who lost what, who was paid, what was burned. */
export interface Slashing {
  evidenceId: string;
  offender: Address;
  /** The slot of the fault. */
  slot: number;
  /** Taken from the offender's bonded stake and unbonding entries together. */
  amount: bigint;
  /** The forger that included the evidence, and what it got (nothing when it is the offender). */
  reporter: Address;
  reward: bigint;
  /** amount - reward: gone from the supply. */
  burned: bigint;
}

function share(amount: bigint, millionths: number): bigint {
  return (amount * BigInt(millionths)) / 1_000_000n;
}

/**
 * Applies one piece of slashing evidence (its signatures were checked with the block's stateless
 * rules): takes the genesis fraction of the offender's bonded stake and of every unbonding entry
 * not yet released, pays the reporter its share and burns the rest. Refused when the fault is
 * later than the block, older than the evidence window, already punished, when there is nothing
 * to take, or when it would leave the chain without stake.
 */
export function applyEvidence(
  state: StateOverlay,
  evidence: Evidence,
  reporter: Address,
  params: LedgerParams,
): Slashing {
  const slashing = params.slashing;
  if (!slashing || state.slot === undefined)
    return reject("InvalidEvidence", "this network has no slashing");
  if (evidence.slot > state.slot)
    reject("FutureEvidence", `evidence of slot ${evidence.slot} is later than slot ${state.slot}`);
  if (state.slot - evidence.slot > slashing.maxEvidenceAgeSlots)
    reject(
      "EvidenceTooOld",
      `evidence of slot ${evidence.slot} is more than ${slashing.maxEvidenceAgeSlots} slots old`,
    );
  const offender = state.load(evidence.offender);
  if (offender.slashedSlot !== undefined && evidence.slot <= offender.slashedSlot)
    reject(
      "AlreadySlashed",
      `${evidence.offender} was slashed for slot ${offender.slashedSlot} already`,
    );
  const fromStake = share(offender.stake, slashing.fractionMillionths);
  let amount = fromStake;
  const unbonding = (offender.unbonding ?? []).map((e) => {
    const taken = share(e.amount, slashing.fractionMillionths);
    amount += taken;
    return { releaseSlot: e.releaseSlot, amount: e.amount - taken };
  });
  if (amount === 0n) reject("NothingToSlash", `${evidence.offender} has no stake to slash`);
  if (params.keepPositiveStake && state.totalStake - fromStake <= 0n)
    reject("LastStake", "slashing the last stake would leave the chain without a validator");
  offender.stake -= fromStake;
  const left = unbonding.filter((e) => e.amount > 0n);
  if (left.length > 0) offender.unbonding = left;
  else delete offender.unbonding;
  offender.slashedSlot = evidence.slot;
  state.store(evidence.offender, offender);
  state.totalStake -= fromStake;
  const reward = reporter === evidence.offender ? 0n : share(amount, slashing.reporterMillionths);
  if (reward > 0n) {
    const paid = state.load(reporter);
    paid.balance += reward;
    state.store(reporter, paid);
  }
  const burned = amount - reward;
  state.supply -= burned;
  return {
    evidenceId: evidence.id,
    offender: evidence.offender,
    slot: evidence.slot,
    amount,
    reporter,
    reward,
    burned,
  };
}

export interface BlockEffects {
  changes: Map<Address, Account>;
  undo: Map<Address, Account | null>;
  fees: bigint;
  /** New tokens: EXCHANGE amounts plus the block reward. */
  minted: bigint;
  /** Tokens slashed and not paid to a reporter. */
  burned: bigint;
  slashings: Slashing[];
  /** Sum of all stakes after the block. */
  totalStake: bigint;
}

/** What a block body is applied with, besides the state and the rules. */
export interface BlockContext {
  /** The forger's (miner's) public key: fees, the reward and evidence rewards go to it. */
  forger: Uint8Array;
  /** PoS: the block's slot (releases unbonding stake, dates UNSTAKE and evidence). */
  slot: number | undefined;
  /** Totals of the state the block applies to. */
  totals: SupplyTotals;
}

/** A block's body: its evidence (applied first) and its transactions. */
export interface BlockBody {
  transactions: readonly Transaction[];
  evidence?: readonly Evidence[];
}

/**
 * The state transition of a block body: its evidence, then every transaction in order (each
 * checked against the state left by the earlier ones), then fees and reward to the forger (the
 * reward stops at the supply cap). Pure: the base is not touched. `verified(tx)` tells whether a
 * transaction's stateless rules and signature were already checked (a cache); the rest are
 * checked here.
 */
export function applyBlockTransactions(
  base: AccountReader,
  body: BlockBody,
  context: BlockContext,
  params: LedgerParams,
  verified: (tx: Transaction) => boolean = () => false,
): BlockEffects {
  const state = new StateOverlay(
    base,
    context.totals.totalStake,
    context.totals.supply,
    context.slot,
  );
  const forgerAddress = addressFromPublicKey(context.forger);
  const slashings: Slashing[] = [];
  const seenEvidence = new Set<string>();
  for (const evidence of body.evidence ?? []) {
    if (seenEvidence.has(evidence.id))
      reject("DuplicateEvidence", `evidence ${evidence.id} appears twice`);
    seenEvidence.add(evidence.id);
    slashings.push(applyEvidence(state, evidence, forgerAddress, params));
  }
  const seen = new Set<string>();
  let fees = 0n;
  const supplyBefore = state.supply;
  for (const tx of body.transactions) {
    if (seen.has(tx.id)) reject("DuplicateTransaction", `transaction ${tx.id} appears twice`);
    seen.add(tx.id);
    if (verified(tx)) checkTransactionRules(tx, params);
    else checkTransaction(tx, params);
    fees += applyTransaction(state, tx, params);
  }
  const mintedByExchange = state.supply - supplyBefore;
  const blockReward = rewardWithinCap(params, state.supply);
  state.supply += blockReward;
  const credit = fees + blockReward;
  if (credit > 0n) {
    const forger = state.load(forgerAddress);
    forger.balance = addAmounts(forger.balance, credit, "forger balance");
    state.store(forgerAddress, forger);
  }
  let burned = 0n;
  for (const s of slashings) burned += s.burned;
  return {
    changes: state.changes,
    undo: state.undo,
    fees,
    minted: mintedByExchange + blockReward,
    burned,
    slashings,
    totalStake: state.totalStake,
  };
}

/** The block reward a block may mint at this supply: the genesis reward, stopping at the cap. */
export function rewardWithinCap(params: LedgerParams, supply: bigint): bigint {
  const room = params.maxSupply - supply;
  if (room <= 0n) return 0n;
  // bigint: no Math.min.
  if (params.blockReward > room) return room;
  return params.blockReward;
}

/** Sum of every balance, stake and unbonding amount: the quantity SPEC section 4 conserves. */
export function totalSupply(accounts: Iterable<Account>): bigint {
  let sum = 0n;
  for (const a of accounts) sum += a.balance + a.stake + unbondingTotal(a);
  return sum;
}

/** The sum of stakes; the lottery's denominator. */
export function totalStake(accounts: Iterable<Account>): bigint {
  let sum = 0n;
  for (const a of accounts) sum += a.stake;
  return sum;
}

export { MAX_AMOUNT };
