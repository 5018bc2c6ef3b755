import { formatAmount, MAX_AMOUNT, parseAmount } from "./amount.js";
import { type Block, computeEvidenceRoot, HASH_BYTES, makeBlock, type Seal } from "./block.js";
import { bigIntToBytes, bytesToBigInt, parseHex, toHex } from "./bytes.js";
import { encodeCanonical } from "./encoding.js";
import { reject } from "./errors.js";
import { taggedHash } from "./hash.js";
import { type Address, parseAddress } from "./keys.js";
import { smtRootOf } from "./smt.js";
import { type Account, encodeAccount, type LedgerParams, stateKey } from "./state.js";
import { CHAIN_ID_RE } from "./transaction.js";

export interface PosConfig {
  type: "pos";
  /** Length of a slot in milliseconds; slot 0 starts at the genesis timestamp. */
  slotMs: number;
  /** Blocks this deep under the head are final: no reorganisation reaches them. */
  finalityDepth: number;
  /** Slots per epoch: the lottery of an epoch draws from one stake snapshot and one nonce. */
  epochSlots: number;
  /** Slots an UNSTAKE waits before its amount is spendable (slashable until then). */
  unbondingSlots: number;
  /** Share of a slashed validator's stake (bonded and unbonding) that is taken, in millionths. */
  slashMillionths: number;
  /** Share of a slashed amount paid to the forger that included the evidence, in millionths. */
  reporterMillionths: number;
}

/** Defaults of the PoS fields a genesis file may leave out. */
export const POS_DEFAULTS = {
  epochSlots: 8,
  slashMillionths: 1_000_000,
  reporterMillionths: 100_000,
} as const;

/** The default unbonding period: the finality window, and at least two epochs. */
export function defaultUnbondingSlots(finalityDepth: number, epochSlots: number): number {
  return Math.max(finalityDepth, 2 * epochSlots);
}

export interface PowConfig {
  type: "pow";
  /** The block interval the difficulty retargets toward. */
  targetBlockMs: number;
  /** Target of the first mined block: a header hash must be at most this number. */
  initialTarget: bigint;
}

export interface Genesis {
  chainId: string;
  timestamp: number;
  consensus: PosConfig | PowConfig;
  alloc: Map<Address, bigint>;
  validators: Map<Address, bigint>;
  exchange: Address[];
  blockReward: bigint;
  minFee: bigint;
  /** Total supply never passes this (genesis allocation, EXCHANGE mints and rewards). */
  maxSupply: bigint;
}

const GENESIS_FIELDS = new Set([
  "maxSupply",
  "chainId",
  "timestamp",
  "consensus",
  "alloc",
  "validators",
  "exchange",
  "blockReward",
  "minFee",
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function positiveInt(v: unknown, field: string, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max)
    return reject("Malformed", `genesis: ${field} must be an integer from ${min} to ${max}`);
  return v;
}

const POS_FIELDS = [
  "type",
  "slotMs",
  "finalityDepth",
  "epochSlots",
  "unbondingSlots",
  "slashMillionths",
  "reporterMillionths",
];

function addressMap(v: unknown, field: string): Map<Address, bigint> {
  if (v === undefined) return new Map();
  if (!isObject(v)) return reject("Malformed", `genesis: ${field} must map addresses to amounts`);
  const out = new Map<Address, bigint>();
  for (const [address, amount] of Object.entries(v)) {
    parseAddress(address);
    out.set(address, parseAmount(amount, `${field}[${address}]`));
  }
  return out;
}

function parseConsensus(v: unknown): PosConfig | PowConfig {
  if (!isObject(v)) return reject("Malformed", "genesis: consensus must be an object");
  if (v.type === "pos") {
    for (const k of Object.keys(v))
      if (!POS_FIELDS.includes(k))
        reject("Malformed", `genesis: unknown consensus field ${k.slice(0, 64)}`);
    const finalityDepth = positiveInt(v.finalityDepth, "consensus.finalityDepth", 1_000_000);
    const epochSlots =
      v.epochSlots === undefined
        ? POS_DEFAULTS.epochSlots
        : positiveInt(v.epochSlots, "consensus.epochSlots", 1_000_000);
    const unbondingSlots =
      v.unbondingSlots === undefined
        ? defaultUnbondingSlots(finalityDepth, epochSlots)
        : positiveInt(v.unbondingSlots, "consensus.unbondingSlots", 100_000_000, finalityDepth);
    const millionths = (value: unknown, field: string, fallback: number) =>
      value === undefined ? fallback : positiveInt(value, `consensus.${field}`, 1_000_000, 0);
    return {
      type: "pos",
      slotMs: positiveInt(v.slotMs, "consensus.slotMs", 3_600_000),
      finalityDepth,
      epochSlots,
      unbondingSlots,
      slashMillionths: millionths(
        v.slashMillionths,
        "slashMillionths",
        POS_DEFAULTS.slashMillionths,
      ),
      reporterMillionths: millionths(
        v.reporterMillionths,
        "reporterMillionths",
        POS_DEFAULTS.reporterMillionths,
      ),
    };
  }
  if (v.type === "pow") {
    for (const k of Object.keys(v))
      if (!["type", "targetBlockMs", "initialTarget"].includes(k))
        reject("Malformed", `genesis: unknown consensus field ${k}`);
    const target = parseHex(v.initialTarget, HASH_BYTES);
    if (!target)
      return reject("Malformed", "genesis: consensus.initialTarget must be 64 hex digits");
    const initialTarget = bytesToBigInt(target);
    if (initialTarget === 0n)
      return reject("Malformed", "genesis: consensus.initialTarget must be above 0");
    return {
      type: "pow",
      targetBlockMs: positiveInt(v.targetBlockMs, "consensus.targetBlockMs", 3_600_000),
      initialTarget,
    };
  }
  return reject("Malformed", 'genesis: consensus.type must be "pos" or "pow"');
}

/** Parses and validates a genesis file's JSON (SPEC section 5). */
export function parseGenesis(json: unknown): Genesis {
  if (!isObject(json)) return reject("Malformed", "genesis must be a JSON object");
  for (const k of Object.keys(json))
    if (!GENESIS_FIELDS.has(k)) reject("Malformed", `genesis: unknown field ${k.slice(0, 64)}`);
  if (typeof json.chainId !== "string" || !CHAIN_ID_RE.test(json.chainId))
    reject("Malformed", "genesis: chainId must be 1-64 characters of a-z, 0-9, '.', '_' or '-'");
  if (
    typeof json.timestamp !== "number" ||
    !Number.isSafeInteger(json.timestamp) ||
    json.timestamp < 0
  )
    reject("Malformed", "genesis: timestamp must be milliseconds since the epoch");
  const consensus = parseConsensus(json.consensus);
  const alloc = addressMap(json.alloc, "alloc");
  const validators = addressMap(json.validators, "validators");
  const exchangeRaw = json.exchange ?? [];
  if (!Array.isArray(exchangeRaw)) return reject("Malformed", "genesis: exchange must be an array");
  const exchange = exchangeRaw.map((a) => {
    parseAddress(a);
    return a as Address;
  });
  const genesis: Genesis = {
    chainId: json.chainId as string,
    timestamp: json.timestamp as number,
    consensus,
    alloc,
    validators,
    exchange: [...new Set(exchange)].sort(),
    blockReward: json.blockReward === undefined ? 0n : parseAmount(json.blockReward, "blockReward"),
    minFee: json.minFee === undefined ? 0n : parseAmount(json.minFee, "minFee"),
    maxSupply: json.maxSupply === undefined ? MAX_AMOUNT : parseAmount(json.maxSupply, "maxSupply"),
  };
  let stake = 0n;
  for (const s of validators.values()) stake += s;
  if (consensus.type === "pos" && stake === 0n)
    reject("Malformed", "genesis: Proof of Stake needs at least one validator with stake");
  let supply = stake;
  for (const a of alloc.values()) supply += a;
  if (supply > MAX_AMOUNT) reject("Malformed", "genesis: total supply must stay below 2^64");
  if (supply > genesis.maxSupply)
    reject("Malformed", `genesis: the allocated supply ${supply} passes maxSupply`);
  return genesis;
}

export function genesisToJson(g: Genesis): Record<string, unknown> {
  const sorted = (m: Map<Address, bigint>) =>
    Object.fromEntries(
      [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, formatAmount(v)]),
    );
  return {
    chainId: g.chainId,
    timestamp: g.timestamp,
    consensus:
      g.consensus.type === "pos"
        ? g.consensus
        : {
            type: "pow",
            targetBlockMs: g.consensus.targetBlockMs,
            initialTarget: toHex(bigIntToBytes(g.consensus.initialTarget, HASH_BYTES)),
          },
    alloc: sorted(g.alloc),
    validators: sorted(g.validators),
    exchange: g.exchange,
    blockReward: formatAmount(g.blockReward),
    minFee: formatAmount(g.minFee),
    maxSupply: formatAmount(g.maxSupply),
  };
}

/** Canonical encoding of everything in the genesis file; the genesis block commits to its hash. */
export function encodeGenesis(g: Genesis): Uint8Array {
  const entries = (m: Map<Address, bigint>) =>
    [...m.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([address, amount]) => [parseAddress(address), amount]);
  const c = g.consensus;
  const consensus =
    c.type === "pos"
      ? [
          "pos",
          c.slotMs,
          c.finalityDepth,
          c.epochSlots,
          c.unbondingSlots,
          c.slashMillionths,
          c.reporterMillionths,
        ]
      : ["pow", c.targetBlockMs, bigIntToBytes(c.initialTarget, HASH_BYTES)];
  return encodeCanonical([
    "lotchain/genesis/v1",
    g.chainId,
    g.timestamp,
    consensus,
    entries(g.alloc),
    entries(g.validators),
    g.exchange.map((a) => parseAddress(a)),
    g.blockReward,
    g.minFee,
    g.maxSupply,
  ]);
}

/**
 * The genesis block: height 0, no parent, no forger, no signature; its txRoot is the hash of the
 * genesis configuration, so two networks with different genesis files never share a block hash.
 */
export function genesisBlock(g: Genesis): Block {
  const configHash = taggedHash("lotchain/genesis/v1", encodeGenesis(g));
  const seal: Seal =
    g.consensus.type === "pos"
      ? {
          type: "pos",
          slot: 0,
          vrfProof: taggedHash("lotchain/genesis-randomness/v1", configHash),
        }
      : { type: "pow", target: g.consensus.initialTarget, nonce: 0n };
  return makeBlock(
    {
      chainId: g.chainId,
      height: 0,
      previousHash: new Uint8Array(HASH_BYTES),
      timestamp: g.timestamp,
      forger: new Uint8Array(32),
      txRoot: configHash,
      evidenceRoot: computeEvidenceRoot([]),
      stateRoot: genesisState(g).root,
      seal,
    },
    new Uint8Array(64),
    [],
  );
}

/** The state tree of the genesis accounts: its root and nodes (the chain stores them). */
export function genesisState(g: Genesis): ReturnType<typeof smtRootOf> {
  return smtRootOf(
    [...genesisAccounts(g)].map(([address, account]) => ({
      key: stateKey(address),
      value: encodeAccount(account),
    })),
  );
}

/** Accounts at height 0: alloc as balances, validators as stakes. */
export function genesisAccounts(g: Genesis): Map<Address, Account> {
  const accounts = new Map<Address, Account>();
  const get = (address: Address) => {
    let a = accounts.get(address);
    if (!a) {
      a = { balance: 0n, stake: 0n, nonce: 0 };
      accounts.set(address, a);
    }
    return a;
  };
  for (const [address, amount] of g.alloc) get(address).balance += amount;
  for (const [address, stake] of g.validators) get(address).stake += stake;
  return accounts;
}

export function genesisSupply(g: Genesis): bigint {
  let sum = 0n;
  for (const a of g.alloc.values()) sum += a;
  for (const s of g.validators.values()) sum += s;
  return sum;
}

export function ledgerParams(g: Genesis): LedgerParams {
  return {
    chainId: g.chainId,
    minFee: g.minFee,
    blockReward: g.blockReward,
    exchange: new Set(g.exchange),
    keepPositiveStake: g.consensus.type === "pos",
    maxSupply: g.maxSupply,
    unbondingSlots: g.consensus.type === "pos" ? g.consensus.unbondingSlots : undefined,
    slashing:
      g.consensus.type === "pos"
        ? {
            fractionMillionths: g.consensus.slashMillionths,
            reporterMillionths: g.consensus.reporterMillionths,
            maxEvidenceAgeSlots: g.consensus.unbondingSlots,
          }
        : undefined,
  };
}
