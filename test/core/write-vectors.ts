/**
 * Writes test/vectors/encoding.json (lotchain's canonical encodings) and
 * test/vectors/invalid.json (inputs every implementation must refuse, each with its reason) from
 * the current code. Run it only when an encoding changes on purpose (a header field is added,
 * say), then run the independent check, which must agree without being told the new values:
 *   npx tsc -p tsconfig.json && node dist/test/core/write-vectors.js
 *   python3 test/vectors/check_vectors.py
 * test/core/vectors.test.ts checks the files against this code, check_vectors.py against its own
 * implementation of the formats (docs/protocol.md).
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bech32, bech32m } from "@scure/base";
import { type Block, blockToJson, encodeHeader, sealBlock } from "../../src/core/block.js";
import { concatBytes, toHex } from "../../src/core/bytes.js";
import { encodeCanonical } from "../../src/core/encoding.js";
import { keyPairFromSeed, parseAddress } from "../../src/core/keys.js";
import { merkleRoot } from "../../src/core/merkle.js";
import {
  signTransaction,
  type Transaction,
  transactionSigningBytes,
  transactionToJson,
  type UnsignedTransaction,
} from "../../src/core/transaction.js";

const seed = (n: number) => new Uint8Array(32).fill(n);
const keys = [1, 2, 3].map((n) => keyPairFromSeed(seed(n)));
const MAX_U64 = (1n << 64n) - 1n;

const txInputs = [
  {
    chainId: "lotchain-vectors",
    type: "TRANSFER",
    key: 0,
    receiver: keys[1]!.address,
    amount: "1",
    fee: "0",
    nonce: 0,
    timestamp: 1735689600000,
  },
  {
    chainId: "lotchain-vectors",
    type: "STAKE",
    key: 1,
    receiver: keys[1]!.address,
    amount: "25",
    fee: "1",
    nonce: 7,
    timestamp: 1735689601234,
  },
  {
    chainId: "lotchain-vectors",
    type: "UNSTAKE",
    key: 1,
    receiver: keys[1]!.address,
    amount: MAX_U64.toString(),
    fee: MAX_U64.toString(),
    nonce: Number.MAX_SAFE_INTEGER,
    timestamp: 0,
  },
  {
    chainId: "x",
    type: "EXCHANGE",
    key: 2,
    receiver: keys[0]!.address,
    amount: "100",
    fee: "5",
    nonce: 1,
    timestamp: 1764000000000,
  },
] as const;

function unsigned(input: (typeof txInputs)[number]): UnsignedTransaction {
  return {
    chainId: input.chainId,
    type: input.type,
    senderPublicKey: keys[input.key]!.publicKey,
    receiver: input.receiver,
    amount: BigInt(input.amount),
    fee: BigInt(input.fee),
    nonce: input.nonce,
    timestamp: input.timestamp,
  };
}

const txs: Transaction[] = txInputs.map((input) =>
  signTransaction(unsigned(input), keys[input.key]!.privateKey),
);

function blocks(): { forgerSeed: number; block: Block }[] {
  const pos = sealBlock(
    {
      chainId: "lotchain-vectors",
      height: 1,
      previousHash: new Uint8Array(32).fill(0xab),
      timestamp: 1735689601000,
      forger: keys[0]!.publicKey,
      stateRoot: new Uint8Array(32).fill(0x5a),
      seal: { type: "pos", slot: 1, vrfProof: new Uint8Array(80).fill(7) },
    },
    [txs[0]!, txs[1]!],
    keys[0]!.privateKey,
  );
  const pow = sealBlock(
    {
      chainId: "lotchain-vectors",
      height: 2,
      previousHash: new Uint8Array(32).fill(0xcd),
      timestamp: 1735689602000,
      forger: keys[1]!.publicKey,
      stateRoot: new Uint8Array(32).fill(0x5b),
      seal: { type: "pow", target: (1n << 255n) - 1n, nonce: 123456789n },
    },
    [],
    keys[1]!.privateKey,
  );
  return [
    { forgerSeed: 1, block: pos },
    { forgerSeed: 2, block: pow },
  ];
}

function encodingVectors() {
  return {
    description:
      "lotchain canonical encoding vectors: Ed25519 keys from fixed seeds, addresses, transactions (signing bytes, signed encoding, id, JSON), Merkle roots and block headers. Any change of the encoding breaks test/core/vectors.test.ts.",
    keys: keys.map((k, i) => ({
      seed: toHex(seed(i + 1)),
      publicKey: toHex(k.publicKey),
      address: k.address,
    })),
    transactions: txs.map((tx, i) => ({
      input: txInputs[i],
      signingBytes: toHex(transactionSigningBytes(tx)),
      encoded: toHex(tx.encoded),
      json: transactionToJson(tx),
    })),
    merkle: [0, 1, 2, 3, 4].map((n) => {
      const ids = txs.slice(0, n).map((tx) => tx.id);
      return { ids, root: toHex(merkleRoot(ids)) };
    }),
    blocks: blocks().map(({ forgerSeed, block }) => ({
      forgerSeed: toHex(seed(forgerSeed)),
      header: toHex(encodeHeader(block.header)),
      encoded: toHex(block.encoded),
      json: blockToJson(block),
    })),
  };
}

// ------------------------------------------------------------------ invalid inputs

const hex = toHex;
const flipLast = (bytes: Uint8Array) => {
  const out = Uint8Array.from(bytes);
  out[out.length - 1]! ^= 1;
  return out;
};

/** The signed items of a transaction, to re-encode with one item changed. */
function txItems(tx: Transaction): unknown[] {
  return [
    "lotchain/tx/v1",
    tx.chainId,
    ["TRANSFER", "STAKE", "UNSTAKE", "EXCHANGE"].indexOf(tx.type),
    tx.senderPublicKey,
    addressBytes(tx.receiver),
    tx.amount,
    tx.fee,
    tx.nonce,
    tx.timestamp,
    tx.signature,
  ];
}

const addressBytes = (address: string) => parseAddress(address);

/** The same address data under a bech32 (BIP 173) checksum instead of bech32m. */
function bech32ToBech32(address: string): string {
  const { prefix, words } = bech32m.decode(address as `${string}1${string}`);
  return bech32.encode(prefix, words);
}

/** The transaction's encoding with item `index` replaced (by a value, or by raw CBOR bytes). */
function withItem(tx: Transaction, index: number, value: unknown, raw?: Uint8Array): Uint8Array {
  const items = txItems(tx);
  items[index] = value;
  const parts = items.map((item, i) => (i === index && raw ? raw : encodeCanonical(item as never)));
  return concatBytes(Uint8Array.of(0x80 + items.length), ...parts);
}

/** 2^64 as CBOR can write it: tag 2 (unsigned bignum) over 9 bytes. */
const TWO_TO_64 = Uint8Array.of(0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0);

function invalidVectors() {
  const t = txs[1]!; // a STAKE with nonce 7 and fee 1: small integers, one-byte heads
  const enc = t.encoded;
  // nonce 7 sits in the byte before the 9-byte timestamp and the 66-byte signature
  const nonceAt = enc.length - 66 - 9 - 1;
  if (enc[nonceAt] !== 0x07) throw new Error("unexpected transaction layout");
  const nonMinimal = concatBytes(
    enc.subarray(0, nonceAt),
    Uint8Array.of(0x18, 0x07),
    enc.subarray(nonceAt + 1),
  );
  const indefinite = concatBytes(Uint8Array.of(0x9f), enc.subarray(1), Uint8Array.of(0xff));
  const transactions = [
    {
      reason: "the valid transaction's encoding with one trailing byte",
      hex: hex(concatBytes(enc, Uint8Array.of(0))),
      code: "Malformed",
    },
    {
      reason: "an integer (the nonce) in a longer form than it needs: 0x1807 for 7",
      hex: hex(nonMinimal),
      code: "Malformed",
    },
    { reason: "an indefinite-length array", hex: hex(indefinite), code: "Malformed" },
    {
      reason: "9 items: the signature missing",
      hex: hex(transactionSigningBytes(t)),
      code: "Malformed",
    },
    {
      reason: "another domain string ('lotchain/tx/v2')",
      hex: hex(withItem(t, 0, "lotchain/tx/v2")),
      code: "Malformed",
    },
    {
      reason: "type index 4 (there are four types, 0 to 3)",
      hex: hex(withItem(t, 2, 4)),
      code: "Malformed",
    },
    {
      reason: "an amount of 2^64, above the u64 range",
      hex: hex(withItem(t, 5, 0, TWO_TO_64)),
      code: "Malformed",
    },
    {
      reason: "a receiver of 19 bytes",
      hex: hex(withItem(t, 4, new Uint8Array(19))),
      code: "Malformed",
    },
    {
      reason: "a sender key of 31 bytes",
      hex: hex(withItem(t, 3, new Uint8Array(31))),
      code: "Malformed",
    },
    {
      reason: "the chain id as bytes, not text",
      hex: hex(withItem(t, 1, new TextEncoder().encode(t.chainId))),
      code: "Malformed",
    },
  ];
  const badSignature = [
    {
      reason: "the last signature byte flipped: decodes, but the signature does not verify",
      hex: hex(flipLast(enc)),
    },
    {
      reason:
        "the amount changed after signing (26 instead of 25): decodes, the signature does not cover it",
      hex: hex(withItem(t, 5, 26n)),
    },
  ];
  const address = keys[0]!.address;
  const lastChar = address.at(-1)!;
  const addresses = [
    {
      reason: "the last checksum character changed",
      text: `${address.slice(0, -1)}${lastChar === "q" ? "p" : "q"}`,
    },
    { reason: "a bech32 (BIP 173) checksum instead of bech32m", text: bech32ToBech32(address) },
    {
      reason: "prefix 'lx' instead of 'lc'",
      text: bech32m.encode("lx", bech32m.toWords(addressBytes(address))),
    },
    {
      reason: "21 bytes of data instead of 20",
      text: bech32m.encode("lc", bech32m.toWords(new Uint8Array(21))),
    },
    { reason: "mixed case", text: `${address.slice(0, 5).toUpperCase()}${address.slice(5)}` },
    { reason: "no separator", text: address.replace("1", "") },
  ];
  return {
    description:
      "Inputs that every implementation must refuse, each with its reason, derived from the valid vectors of encoding.json by one change each. transactions: bytes that must not decode (code: the rejection code lotchain gives); badSignature: bytes that decode but whose signature must not verify; addresses: strings that are not lotchain addresses. Checked by test/core/vectors.test.ts and test/vectors/check_vectors.py.",
    transactions,
    badSignature,
    addresses,
  };
}

const root = fileURLToPath(new URL("../vectors/", import.meta.url)).replace(
  /\/dist\/test\//,
  "/test/",
);
for (const [name, data] of [
  ["encoding.json", encodingVectors()],
  ["invalid.json", invalidVectors()],
] as const) {
  writeFileSync(`${root}${name}`, `${JSON.stringify(data, null, 2)}\n`);
  console.log(`wrote ${root}${name}`);
}
