import fc from "fast-check";
import { isValidationError } from "../../src/core/errors.js";
import { type KeyPair, keyPairFromSeed } from "../../src/core/keys.js";
import {
  makeTransaction,
  signTransaction,
  type Transaction,
  TX_TYPES,
  type TxType,
  type UnsignedTransaction,
} from "../../src/core/transaction.js";

/**
 * Structure-aware transactions: every field drawn from the values that sit on a rule's edge
 * (amounts and fees around 2^63 and 2^64, nonces just behind, at and past the next one,
 * timestamps at and past the admission window, other chains, self-transfers, exchange mints from
 * anyone), then signed properly, signed by another key, or changed after signing. Most are
 * invalid in one precise way; some are valid, and the ledger must take those exactly as the core
 * says.
 */
const U64_MAX = (1n << 64n) - 1n;
const HOUR = 3_600_000;

export const amountArb = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 1n << 63n, (1n << 63n) + 1n, U64_MAX - 5n, U64_MAX - 1n, U64_MAX),
  fc.bigInt({ min: 1n, max: 1_000n }),
  fc.bigInt({ min: 0n, max: U64_MAX }),
);

export interface TxSpecArb {
  from: number;
  type: TxType;
  to: number | "self" | "stranger";
  amount: bigint;
  fee: bigint;
  nonce: { kind: "next"; delta: number } | { kind: "fixed"; value: number };
  chain: "ours" | "other";
  time: "now" | "edge-old" | "edge-new" | "zero" | "max" | "2126" | "day-old" | "ahead";
  signing: "own" | "other-key" | "changed-after";
}

/** Every field at or past a rule's edge: almost always invalid, each in its own way. */
const edgeSpec: fc.Arbitrary<TxSpecArb> = fc.record({
  from: fc.nat(9),
  type: fc.constantFrom(...TX_TYPES),
  to: fc.oneof(fc.nat(9), fc.constantFrom("self" as const, "stranger" as const)),
  amount: amountArb,
  fee: fc.oneof(fc.constantFrom(0n, 1n, 2n, 10n), amountArb),
  nonce: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("next" as const),
        delta: fc.integer({ min: -2, max: 20 }),
      }),
    },
    fc.record({
      kind: fc.constant("fixed" as const),
      value: fc.constantFrom(0, 1, 2 ** 31, 2 ** 53 - 1),
    }),
  ),
  chain: fc.constantFrom("ours" as const, "other" as const),
  time: fc.constantFrom(
    "now" as const,
    "edge-old" as const,
    "edge-new" as const,
    "zero" as const,
    "max" as const,
    "2126" as const,
    "day-old" as const,
    "ahead" as const,
  ),
  signing: fc.constantFrom("own" as const, "other-key" as const, "changed-after" as const),
});

/** What a wallet would send: valid unless funds, stake or authority are missing. */
const plausibleSpec: fc.Arbitrary<TxSpecArb> = fc.record({
  from: fc.nat(9),
  type: fc.constantFrom(
    "TRANSFER" as const,
    "TRANSFER" as const,
    "TRANSFER" as const,
    "STAKE" as const,
    "UNSTAKE" as const,
    "EXCHANGE" as const,
  ),
  to: fc.oneof(fc.nat(9), fc.constant("stranger" as const)),
  amount: fc.oneof({ weight: 5, arbitrary: fc.bigInt({ min: 1n, max: 1_000n }) }, amountArb),
  fee: fc.oneof({ weight: 5, arbitrary: fc.bigInt({ min: 1n, max: 20n }) }, amountArb),
  nonce: fc.constant({ kind: "next" as const, delta: 0 }),
  chain: fc.constant("ours" as const),
  time: fc.constant("now" as const),
  signing: fc.constant("own" as const),
});

const FIELDS = ["type", "to", "amount", "fee", "nonce", "chain", "time", "signing"] as const;

/** Mostly plausible transactions, some with one field at an edge, some with every field there. */
export const txSpecArb: fc.Arbitrary<TxSpecArb> = fc.oneof(
  { weight: 3, arbitrary: plausibleSpec },
  {
    weight: 2,
    arbitrary: fc
      .tuple(plausibleSpec, edgeSpec, fc.constantFrom(...FIELDS))
      .map(([plausible, edge, field]) => ({ ...plausible, [field]: edge[field] })),
  },
  { weight: 1, arbitrary: edgeSpec },
);

export interface TxContext {
  chainId: string;
  /** The keys transactions come from (index = spec.from modulo their number). */
  keys: KeyPair[];
  /** The next nonce of an address as the receiver of the transaction sees it. */
  nextNonce(address: string): number;
  now: number;
}

const stranger = keyPairFromSeed(new Uint8Array(32).fill(250));

function timestampOf(time: TxSpecArb["time"], now: number): number {
  switch (time) {
    case "now":
      return now;
    case "edge-old":
      return now - 24 * HOUR - 60_000;
    case "edge-new":
      return now + 11 * 60_000;
    case "zero":
      return 0;
    case "max":
      return Number.MAX_SAFE_INTEGER;
    case "2126":
      return Date.UTC(2126, 0, 1);
    case "day-old":
      return now - 23 * HOUR;
    case "ahead":
      return now + 5 * 60_000;
  }
}

/** The transaction a spec describes, or undefined when its fields cannot even be encoded. */
export function buildTx(spec: TxSpecArb, ctx: TxContext): Transaction | undefined {
  const from = ctx.keys[spec.from % ctx.keys.length]!;
  const to =
    spec.to === "self"
      ? from
      : spec.to === "stranger"
        ? stranger
        : ctx.keys[spec.to % ctx.keys.length]!;
  const nonce =
    spec.nonce.kind === "next"
      ? Math.max(0, ctx.nextNonce(from.address) + spec.nonce.delta)
      : spec.nonce.value;
  const unsigned: UnsignedTransaction = {
    chainId: spec.chain === "ours" ? ctx.chainId : `${ctx.chainId}-other`,
    type: spec.type,
    senderPublicKey: from.publicKey,
    receiver: spec.type === "STAKE" || spec.type === "UNSTAKE" ? from.address : to.address,
    amount: spec.amount,
    fee: spec.fee,
    nonce,
    timestamp: timestampOf(spec.time, ctx.now),
  };
  try {
    if (spec.signing === "own") return signTransaction(unsigned, from.privateKey);
    if (spec.signing === "other-key") {
      const other = signTransaction({ ...unsigned, senderPublicKey: to.publicKey }, to.privateKey);
      return makeTransaction(unsigned, other.signature);
    }
    const signed = signTransaction(unsigned, from.privateKey);
    return makeTransaction({ ...unsigned, amount: unsigned.amount ^ 1n }, signed.signature);
  } catch (e) {
    if (isValidationError(e)) return undefined;
    throw e;
  }
}
