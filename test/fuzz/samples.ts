import { createCipheriv, randomBytes, scryptSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { KEYSTORE_VERSION, type Keystore } from "../../src/cli/keystore.js";
import { type Block, blockToJson } from "../../src/core/block.js";
import { type Evidence, makeEvidence } from "../../src/core/evidence.js";
import { genesisToJson } from "../../src/core/genesis.js";
import { signedHeader } from "../../src/core/header.js";
import { type KeyPair, privateKeyToPem } from "../../src/core/keys.js";
import { type Transaction, transactionToJson } from "../../src/core/transaction.js";
import { encodeNeighbours } from "../../src/net/neighbours.js";
import {
  encodeBlockList,
  encodeHashRequest,
  encodeRangeRequest,
  encodeStatus,
  encodeTxBatch,
} from "../../src/net/wire.js";
import { BlockTreeModel, KEYS, testGenesis, tx } from "../chain/chain-fixtures.js";
import { REPO } from "../helpers/node-process.js";

/**
 * Valid messages of every kind, built with the real code (the chain fixtures' model forges PoS
 * blocks and mines PoW ones): the seeds that structure-aware and byte-level mutations start from.
 */
export interface Samples {
  transactions: Transaction[];
  blocks: Block[];
  evidence: Evidence[];
  encodings: {
    transaction: Uint8Array[];
    block: Uint8Array[];
    evidence: Uint8Array[];
    txBatch: Uint8Array[];
    status: Uint8Array[];
    rangeRequest: Uint8Array[];
    hashRequest: Uint8Array[];
    blockList: Uint8Array[];
    neighbours: Uint8Array[];
  };
  json: { transaction: unknown[]; block: unknown[]; genesis: unknown[] };
  pem: string[];
  /** Keystores of cheap scrypt parameters (n = 16), so that decrypting a mutant costs little. */
  keystores: Keystore[];
}

export const KEYSTORE_PASSPHRASE = "fuzz passphrase";

/**
 * A keystore in the format of src/cli/keystore.ts, written independently of it (scrypt, then
 * AES-256-GCM over the key's PKCS#8 DER with the version, address and public key as associated
 * data), with a tiny scrypt cost.
 */
export function cheapKeystore(key: KeyPair, passphrase = KEYSTORE_PASSPHRASE): Keystore {
  const kdfparams = { n: 16, r: 1, p: 1, dklen: 32, salt: randomBytes(32).toString("hex") };
  const derived = scryptSync(passphrase, Buffer.from(kdfparams.salt, "hex"), 32, {
    N: kdfparams.n,
    r: kdfparams.r,
    p: kdfparams.p,
  });
  const iv = randomBytes(12);
  const publicKey = Buffer.from(key.publicKey).toString("hex");
  const cipher = createCipheriv("aes-256-gcm", derived, iv);
  cipher.setAAD(Buffer.from(`${KEYSTORE_VERSION}\n${key.address}\n${publicKey}`));
  const plain = key.privateKey.export({ format: "der", type: "pkcs8" });
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    version: KEYSTORE_VERSION,
    id: "00000000-0000-4000-8000-000000000000",
    address: key.address,
    publicKey,
    crypto: {
      kdf: "scrypt",
      kdfparams,
      cipher: "aes-256-gcm",
      cipherparams: { iv: iv.toString("hex"), tag: cipher.getAuthTag().toString("hex") },
      ciphertext: ciphertext.toString("hex"),
    },
  };
}

export function buildSamples(): Samples {
  const { alice, bob, exchange, carol } = KEYS;
  const transactions = [
    tx(alice, 0, { to: bob, amount: 5n }),
    tx(alice, 1, { type: "STAKE", amount: 100n }),
    tx(alice, 2, { type: "UNSTAKE", amount: 10n }),
    tx(exchange, 0, { type: "EXCHANGE", to: carol, amount: 1_000n }),
    tx(bob, 0, { to: alice, amount: 18_446_744_073_709_551_000n, fee: 615n }),
  ];
  const pos = new BlockTreeModel(testGenesis("pos"));
  const [b1, b2] = pos.extend(pos.genesisBlock, 2, (i) =>
    i === 0 ? transactions.slice(0, 2) : [],
  );
  // Two blocks of one forger for one slot: the evidence that slashes it.
  const twin = pos.child(b2!, [transactions[2]!], { minSlot: 40 });
  const twin2 = pos.child(b2!, [], { minSlot: 40 });
  const evidence =
    twin.header.seal.type === "pos" &&
    twin2.header.seal.type === "pos" &&
    twin.header.seal.slot === twin2.header.seal.slot
      ? [
          makeEvidence(
            signedHeader(twin.header, twin.signature),
            signedHeader(twin2.header, twin2.signature),
          ),
        ]
      : [];
  const pow = new BlockTreeModel(testGenesis("pow"));
  const [p1] = pow.extend(pow.genesisBlock, 1, () => [transactions[0]!]);
  const blocks = [pos.genesisBlock, b1!, b2!, twin, p1!];
  const devnet = JSON.parse(readFileSync(`${REPO}/devnet/genesis.json`, "utf8"));
  const hash = b1!.hashHex;
  return {
    transactions,
    blocks,
    evidence,
    encodings: {
      transaction: transactions.map((t) => t.encoded),
      block: blocks.map((b) => b.encoded),
      evidence: evidence.map((e) => e.encoded),
      txBatch: [encodeTxBatch(transactions), encodeTxBatch(transactions.slice(0, 1))],
      status: [
        encodeStatus({
          chainId: "lotchain-chaintest",
          genesisHash: pos.genesisBlock.hashHex,
          height: 2,
          headHash: b2!.hashHex,
          score: 123_456_789n,
          finalizedHeight: 1,
        }),
      ],
      rangeRequest: [encodeRangeRequest({ from: 0, count: 64 })],
      hashRequest: [encodeHashRequest([hash, b2!.hashHex])],
      blockList: [encodeBlockList(blocks.slice(1, 3), 1 << 20)],
      neighbours: [
        encodeNeighbours([
          {
            peerId: "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf",
            height: 7,
            headHash: hash,
          },
        ]),
      ],
    },
    json: {
      transaction: transactions.map(transactionToJson),
      block: blocks.map(blockToJson),
      genesis: [devnet, genesisToJson(testGenesis("pos")), genesisToJson(testGenesis("pow"))],
    },
    pem: [privateKeyToPem(alice.privateKey), privateKeyToPem(bob.privateKey)],
    keystores: [cheapKeystore(alice), cheapKeystore(bob)],
  };
}
