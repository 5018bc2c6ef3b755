import { toHex } from "../src/core/bytes.js";
import { taggedHash } from "../src/core/hash.js";
import {
  EMPTY_HASH,
  proveSmt,
  type SmtNode,
  smtRootOf,
  updateSmt,
  verifySmtProof,
} from "../src/core/smt.js";
import { encodeAccount } from "../src/core/state.js";
import { median, rate, round } from "./raw.js";

/**
 * The state tree at 1,000,000 accounts: build time, the size of an account proof (present and
 * absent), the time to verify one, and the cost of one block's update (250 transfers touching 500
 * accounts) — beside raw tagged SHA-256 in the same run (a verification is a leaf hash and one
 * node hash per level, about log2(1,000,000) = 20).
 */
const ACCOUNTS = 1_000_000;

function keyOf(n: number): Uint8Array {
  const id = new Uint8Array(20);
  new DataView(id.buffer).setUint32(16, n);
  return taggedHash("lotchain/smt-key/v1", id);
}

function accountValue(n: number, balance = 1_000_000n): Uint8Array {
  return encodeAccount({ balance: balance + BigInt(n), stake: 0n, nonce: n % 7 });
}

export async function run(): Promise<Record<string, number>> {
  const start = performance.now();
  const entries = Array.from({ length: ACCOUNTS }, (_, n) => ({
    key: keyOf(n),
    value: accountValue(n),
  }));
  const { root, nodes } = smtRootOf(entries);
  const buildMs = performance.now() - start;
  const reader = { node: (hash: Uint8Array) => nodes.get(toHex(hash)) as SmtNode | undefined };

  const present = proveSmt(reader, root, keyOf(123_456));
  const absent = proveSmt(reader, root, keyOf(ACCOUNTS + 99));
  const proofBytes = (p: typeof present) =>
    p.siblings.length * 32 + (p.leaf ? 32 + p.leaf.value.length : 0);
  let i = 0;
  const probes = Array.from({ length: 256 }, (_, n) => {
    const key = keyOf((n * 3_907) % ACCOUNTS);
    return { key, proof: proveSmt(reader, root, key) };
  });
  const verifyOne = () => {
    const p = probes[i++ % probes.length]!;
    if (!verifySmtProof(root, p.key, p.proof)) throw new Error("a proof did not verify");
  };
  const seed = new Uint8Array(32);
  const raws: number[] = [];
  const verifies: number[] = [];
  for (let r = 0; r < 5; r++) {
    raws.push(rate(200, () => taggedHash("lotchain/smt-node/v1", seed, seed)));
    verifies.push(rate(200, verifyOne));
  }
  // One block: 250 transfers, each changing a sender and a receiver.
  const blockMs: number[] = [];
  for (let b = 0; b < 5; b++) {
    const changes = Array.from({ length: 500 }, (_, n) => {
      const who = ((b * 500 + n) * 1_999) % ACCOUNTS;
      return { key: keyOf(who), value: accountValue(who, 5n) };
    });
    const t = performance.now();
    updateSmt(reader, root, changes);
    blockMs.push(performance.now() - t);
  }
  const raw = median(raws);
  const verify = median(verifies);
  return {
    "state.accounts": ACCOUNTS,
    "state.buildMs": round(buildMs),
    "state.nodes": nodes.size,
    "state.proofDepth": present.siblings.length,
    "state.proofBytesPresent": proofBytes(present),
    "state.proofBytesAbsent": proofBytes(absent),
    "state.verifyPerSec": round(verify),
    "state.verifyUs": round(1e6 / verify, 1),
    "state.rawNodeHashPerSec": round(raw),
    "state.verifyCostInNodeHashes": round(raw / verify, 1),
    "state.blockUpdateMs500Accounts": round(median(blockMs), 1),
    "state.emptyRootIsZero": EMPTY_HASH.every((b) => b === 0) ? 1 : 0,
  };
}
