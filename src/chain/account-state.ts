import type { ValidatorSet } from "../consensus/engine.js";
import { buildValidatorSet } from "../consensus/validators.js";
import type { Address } from "../core/keys.js";
import type { Account, AccountReader, BlockEffects, SupplyTotals } from "../core/state.js";
import type { UndoData } from "../store/codec.js";

/**
 * The head state, in memory: every account, the sum of stakes, the minted and burned counters and the
 * validators. It always equals the store's account table; it changes only by `commit`, after
 * the batch that wrote the same change resolved. Account objects are never mutated in place,
 * so readers (the mempool) may keep references.
 */
export class HeadState implements AccountReader {
  /** Accounts with stake > 0: the validators, kept apart so that a rebuild is O(validators). */
  private readonly stakers = new Map<Address, bigint>();
  private validatorCache: ValidatorSet | undefined;

  /** Accounts that were ever slashed (their stake may be gone): shown with the validators. */
  private readonly slashedAccounts = new Set<Address>();

  constructor(
    private readonly accounts: Map<Address, Account>,
    public totalStake: bigint,
    /** Tokens minted since genesis on the main chain. */
    public minted: bigint,
    /** Tokens burned by slashing since genesis on the main chain. */
    public burned: bigint,
    /** The genesis supply: supply = genesisSupply + minted - burned. */
    private readonly genesisSupply: bigint,
  ) {
    for (const [address, account] of accounts) {
      if (account.stake > 0n) this.stakers.set(address, account.stake);
      if (account.slashedSlot !== undefined) this.slashedAccounts.add(address);
    }
  }

  /** The supply counter: every balance, stake and unbonding amount sums to it. */
  get supply(): bigint {
    return this.genesisSupply + this.minted - this.burned;
  }

  get totals(): SupplyTotals {
    return { totalStake: this.totalStake, supply: this.supply };
  }

  /** Addresses that were ever slashed. */
  slashed(): ReadonlySet<Address> {
    return this.slashedAccounts;
  }

  getAccount(address: Address): Account | undefined {
    return this.accounts.get(address);
  }

  get size(): number {
    return this.accounts.size;
  }

  entries(): IterableIterator<[Address, Account]> {
    return this.accounts.entries();
  }

  values(): IterableIterator<Account> {
    return this.accounts.values();
  }

  stakeOf(address: Address): bigint {
    return this.stakers.get(address) ?? 0n;
  }

  stakerEntries(): IterableIterator<[Address, bigint]> {
    return this.stakers.entries();
  }

  /** The validators of the head state; rebuilt only after a commit changed a stake. */
  validators(): ValidatorSet {
    this.validatorCache ??= buildValidatorSet(this.stakers);
    return this.validatorCache;
  }

  /** Makes a delta (already written to the store) the head state. */
  commit(delta: StateDelta): void {
    for (const [address, account] of delta.changes) {
      if (account) this.accounts.set(address, account);
      else this.accounts.delete(address);
      if (account?.slashedSlot !== undefined) this.slashedAccounts.add(address);
      else this.slashedAccounts.delete(address);
      const stake = account?.stake ?? 0n;
      if (stake !== this.stakeOf(address)) {
        this.validatorCache = undefined;
        if (stake > 0n) this.stakers.set(address, stake);
        else this.stakers.delete(address);
      }
    }
    this.totalStake = delta.totalStake;
    this.minted = delta.minted;
    this.burned = delta.burned;
  }
}

/**
 * A copy-on-write state over the head: the head with some blocks reverted (through their undo
 * data) and others applied. A reorganisation walks it from the head to the new tip; nothing
 * touches the head state until the batch is written.
 */
export class StateDelta implements AccountReader {
  /** Account after the path; null when the account does not exist there. */
  readonly changes = new Map<Address, Account | null>();
  totalStake: bigint;
  minted: bigint;
  burned: bigint;
  /** Addresses whose stake differs from the head's. */
  private readonly stakeChanged = new Set<Address>();
  private validatorCache: ValidatorSet | undefined;

  constructor(private readonly base: HeadState) {
    this.totalStake = base.totalStake;
    this.minted = base.minted;
    this.burned = base.burned;
  }

  get totals(): SupplyTotals {
    return {
      totalStake: this.totalStake,
      supply: this.base.supply + this.minted - this.base.minted - (this.burned - this.base.burned),
    };
  }

  getAccount(address: Address): Account | undefined {
    if (this.changes.has(address)) return this.changes.get(address) ?? undefined;
    return this.base.getAccount(address);
  }

  private set(address: Address, account: Account | null): void {
    const stake = account?.stake ?? 0n;
    if (stake !== (this.getAccount(address)?.stake ?? 0n)) this.validatorCache = undefined;
    if (stake !== this.base.stakeOf(address)) this.stakeChanged.add(address);
    else this.stakeChanged.delete(address);
    this.changes.set(address, account);
  }

  /** Undoes a block: every account it touched back to its value before the block. */
  revert(undo: UndoData): void {
    for (const [address, before] of undo.accounts) {
      this.totalStake += (before?.stake ?? 0n) - (this.getAccount(address)?.stake ?? 0n);
      this.set(address, before);
    }
    this.minted -= undo.minted;
    this.burned -= undo.burned;
  }

  apply(effects: BlockEffects): void {
    for (const [address, account] of effects.changes) this.set(address, account);
    this.totalStake = effects.totalStake;
    this.minted += effects.minted;
    this.burned += effects.burned;
  }

  /** Validators of this state: the head's when no stake differs, else rebuilt once per change. */
  validators(): ValidatorSet {
    if (this.stakeChanged.size === 0) return this.base.validators();
    if (!this.validatorCache) {
      const stakes = new Map(this.base.stakerEntries());
      for (const address of this.stakeChanged) {
        const stake = this.getAccount(address)?.stake ?? 0n;
        if (stake > 0n) stakes.set(address, stake);
        else stakes.delete(address);
      }
      this.validatorCache = buildValidatorSet(stakes);
    }
    return this.validatorCache;
  }
}
