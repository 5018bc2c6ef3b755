import { addAmounts, MAX_AMOUNT } from "./amount.js";
import { reject } from "./errors.js";
import { type Address, addressFromPublicKey } from "./keys.js";
import { type Transaction, verifyTransactionSignature } from "./transaction.js";

export interface Account {
  balance: bigint;
  stake: bigint;
  /** The next nonce this account must use. */
  nonce: number;
}

export const EMPTY_ACCOUNT: Readonly<Account> = Object.freeze({ balance: 0n, stake: 0n, nonce: 0 });

/** Read access to account state; undefined means the account has never been touched. */
export interface AccountReader {
  getAccount(address: Address): Account | undefined;
}

/** The ledger rules of one network, read from its genesis file. */
export interface LedgerParams {
  chainId: string;
  minFee: bigint;
  blockReward: bigint;
  exchange: ReadonlySet<Address>;
  /** Under Proof of Stake the last stake may not leave: the lottery needs a positive total. */
  keepPositiveStake: boolean;
}

/**
 * Copy-on-write accounts over a base reader. Applying transactions writes here only; the
 * caller commits `changes` and keeps `undo` (the value before, or null when absent) to revert.
 */
export class StateOverlay implements AccountReader {
  readonly changes = new Map<Address, Account>();
  readonly undo = new Map<Address, Account | null>();

  constructor(
    private readonly base: AccountReader,
    /** Sum of all stakes, kept current as transactions apply. */
    public totalStake: bigint,
  ) {}

  getAccount(address: Address): Account | undefined {
    return this.changes.get(address) ?? this.base.getAccount(address);
  }

  /** The account as a fresh mutable copy (an absent account reads as empty). */
  load(address: Address): Account {
    const a = this.getAccount(address) ?? EMPTY_ACCOUNT;
    return { balance: a.balance, stake: a.stake, nonce: a.nonce };
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
  sender.balance -= debit;
  sender.nonce += 1;
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
      sender.balance = addAmounts(sender.balance, tx.amount);
      state.totalStake -= tx.amount;
      break;
  }
  state.store(tx.sender, sender);
  return tx.fee;
}

export interface BlockEffects {
  changes: Map<Address, Account>;
  undo: Map<Address, Account | null>;
  fees: bigint;
  /** New tokens: EXCHANGE amounts plus the block reward. */
  minted: bigint;
  /** Sum of all stakes after the block. */
  totalStake: bigint;
}

/**
 * The state transition of a block body: every transaction in order (each checked against the
 * state left by the earlier ones), then fees and reward to the forger. Pure: the base is not
 * touched. `verified(tx)` tells whether a transaction's stateless rules and signature were
 * already checked (a cache); the rest are checked here.
 */
export function applyBlockTransactions(
  base: AccountReader,
  transactions: readonly Transaction[],
  forgerPublicKey: Uint8Array,
  params: LedgerParams,
  totalStake: bigint,
  verified: (tx: Transaction) => boolean = () => false,
): BlockEffects {
  const state = new StateOverlay(base, totalStake);
  const seen = new Set<string>();
  let fees = 0n;
  let minted = 0n;
  for (const tx of transactions) {
    if (seen.has(tx.id)) reject("DuplicateTransaction", `transaction ${tx.id} appears twice`);
    seen.add(tx.id);
    if (verified(tx)) checkTransactionRules(tx, params);
    else checkTransaction(tx, params);
    fees += applyTransaction(state, tx, params);
    if (tx.type === "EXCHANGE") minted += tx.amount;
  }
  const reward = fees + params.blockReward;
  if (reward > 0n) {
    const forgerAddress = addressFromPublicKey(forgerPublicKey);
    const forger = state.load(forgerAddress);
    forger.balance = addAmounts(forger.balance, reward, "forger balance");
    state.store(forgerAddress, forger);
  }
  if (fees > MAX_AMOUNT) reject("BalanceOverflow", "fees exceed 2^64 - 1");
  return {
    changes: state.changes,
    undo: state.undo,
    fees,
    minted: minted + params.blockReward,
    totalStake: state.totalStake,
  };
}

/** Sum of every balance and stake: the quantity SPEC section 4 conserves. */
export function totalSupply(accounts: Iterable<Account>): bigint {
  let sum = 0n;
  for (const a of accounts) sum += a.balance + a.stake;
  return sum;
}

/** The sum of stakes; the lottery's denominator. */
export function totalStake(accounts: Iterable<Account>): bigint {
  let sum = 0n;
  for (const a of accounts) sum += a.stake;
  return sum;
}
