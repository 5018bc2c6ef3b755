import { Mempool } from "../src/chain/mempool.js";
import { isValidationError } from "../src/core/errors.js";
import { type KeyPair, keyPairFromSeed } from "../src/core/keys.js";
import type { Account } from "../src/core/state.js";
import {
  signTransaction,
  type Transaction,
  verifyTransactionSignature,
} from "../src/core/transaction.js";
import { median, round } from "./raw.js";

/**
 * The mempool's own bookkeeping (admission of pre-verified transactions, eviction of senders'
 * tails when full, fee-priority selection of a block) per transaction, beside the Ed25519
 * verification every transaction costs anyway, on the same 4,096 transactions in the same run:
 * the pool should stay well under the signature's cost. (The test suite checks the behaviour of
 * the same scenario, test/chain/mempool.test.ts "bookkeeping under load"; durations live here.)
 */
const CHAIN = "lotchain-bench";

function transactions(): Transaction[] {
  const senders: KeyPair[] = Array.from({ length: 128 }, (_, i) =>
    keyPairFromSeed(new Uint8Array(32).fill(100 + i)),
  );
  const receiver = keyPairFromSeed(new Uint8Array(32).fill(7)).address;
  const txs: Transaction[] = [];
  for (let n = 0; n < 32; n++)
    for (const [i, s] of senders.entries())
      txs.push(
        signTransaction(
          {
            chainId: CHAIN,
            type: "TRANSFER",
            senderPublicKey: s.publicKey,
            receiver,
            amount: 1n,
            fee: BigInt(1 + ((i * 7 + n * 13) % 50)),
            nonce: n,
            timestamp: 1_764_000_000_000,
          },
          s.privateKey,
        ),
      );
  return txs;
}

function bookkeeping(txs: Transaction[]): number {
  const accounts = new Map<string, Account>();
  for (const t of txs) accounts.set(t.sender, { balance: 1_000_000n, stake: 0n, nonce: 0 });
  const pool = new Mempool({
    params: {
      chainId: CHAIN,
      minFee: 1n,
      blockReward: 0n,
      exchange: new Set(),
      keepPositiveStake: false,
      maxSupply: (1n << 64n) - 1n,
      unbondingSlots: undefined,
      slashing: undefined,
    },
    state: () => ({
      reader: { getAccount: (a) => accounts.get(a) },
      totalStake: 0n,
      supply: 0n,
      slot: undefined,
    }),
    limits: { maxCount: 2048 },
  });
  const started = performance.now();
  for (const t of txs) {
    try {
      pool.add(t, { verified: true });
    } catch (e) {
      if (!isValidationError(e) || (e.code !== "MempoolFull" && e.code !== "NonceGap")) throw e;
    }
  }
  const block = pool.selectForBlock(5_000);
  const ms = performance.now() - started;
  if (block.length !== 2048) throw new Error(`selected ${block.length}, expected 2048`);
  return ms;
}

function verifying(txs: Transaction[]): number {
  const started = performance.now();
  for (const t of txs) if (!verifyTransactionSignature(t)) throw new Error("bad signature");
  return performance.now() - started;
}

export async function run(): Promise<Record<string, number>> {
  const txs = transactions();
  bookkeeping(txs); // warm-up
  verifying(txs);
  const pool: number[] = [];
  const verify: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < 7; r++) {
    const v = verifying(txs);
    const p = bookkeeping(txs);
    verify.push(v);
    pool.push(p);
    ratios.push(p / v);
  }
  return {
    "mempool.transactions": txs.length,
    "mempool.bookkeepingUsPerTx": round((median(pool) * 1000) / txs.length, 2),
    "mempool.verifyUsPerTx": round((median(verify) * 1000) / txs.length, 2),
    "mempool.ratioBookkeepingToVerify": round(median(ratios), 3),
  };
}
