import { isValidationError, type RejectCode } from "../../src/core/errors.js";
import { type KeyPair, keyPairFromSeed } from "../../src/core/keys.js";
import type { LedgerParams } from "../../src/core/state.js";
import { signTransaction, type Transaction, type TxType } from "../../src/core/transaction.js";

/** Deterministic test keys: seed bytes all equal to n. */
export function testKey(n: number): KeyPair {
  return keyPairFromSeed(new Uint8Array(32).fill(n));
}

export const TEST_CHAIN = "lotchain-test";

export function testParams(overrides: Partial<LedgerParams> = {}): LedgerParams {
  return {
    chainId: TEST_CHAIN,
    minFee: 1n,
    blockReward: 0n,
    exchange: new Set<string>(),
    keepPositiveStake: false,
    maxSupply: (1n << 64n) - 1n,
    unbondingSlots: undefined,
    slashing: undefined,
    ...overrides,
  };
}

/**
 * The default transaction timestamp: this process's start, so that a transaction made for a node
 * is inside its admission window (src/core/tx-time.ts) and the same spec still makes the same
 * transaction within a test file.
 */
export const TEST_TX_TIMESTAMP = Date.now();

export interface TxSpec {
  type?: TxType;
  to?: string;
  amount?: bigint;
  fee?: bigint;
  nonce: number;
  chainId?: string;
  timestamp?: number;
}

export function makeTx(from: KeyPair, spec: TxSpec): Transaction {
  const type = spec.type ?? "TRANSFER";
  return signTransaction(
    {
      chainId: spec.chainId ?? TEST_CHAIN,
      type,
      senderPublicKey: from.publicKey,
      receiver: spec.to ?? from.address,
      amount: spec.amount ?? 1n,
      fee: spec.fee ?? 1n,
      nonce: spec.nonce,
      timestamp: spec.timestamp ?? TEST_TX_TIMESTAMP,
    },
    from.privateKey,
  );
}

/** The code of the ValidationError fn throws ("none" when it returns); other errors propagate. */
export function codeOf(fn: () => unknown): RejectCode | "none" {
  try {
    fn();
    return "none";
  } catch (e) {
    if (isValidationError(e)) return e.code;
    throw e;
  }
}
