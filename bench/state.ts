import { toHex } from "../src/core/bytes.js";
import { taggedHash } from "../src/core/hash.js";
import {
  EMPTY_HASH,
  internalHash,
  keyBit,
  leafHash,
  type SmtNode,
  type SmtProof,
  smtRootOf,
  updateSmt,
  verifySmtProof,
} from "../src/core/smt.js";
import { encodeAccount } from "../src/core/state.js";
import { median, rate, round } from "./raw.js";

/**
 * The state tree at 1,000,000 accounts: the size of an account proof (present and absent) and
 * the time to verify one, beside raw internal-node hashing in the same run (a verification is a
 * leaf hash and one node hash per level: about log2(1,000,000) = 20). The million-account tree is
 * built once by recursive partition (keys are uniform hashes), keeping only the nodes on the
 * probed paths; a block's update (500 accounts changed: 250 transfers) is timed on a 100,000
 * account tree held in memory, the way the chain's node cache holds the upper levels.
 */
const ACCOUNTS = 1_000_000;
const UPDATE_ACCOUNTS = 100_000;

function keyOf(n: number): Uint8Array {
  const id = new Uint8Array(20);
  new DataView(id.buffer).setUint32(16, n);
  return taggedHash("lotchain/smt-key/v1", id);
}

function accountValue(n: number, balance = 1_000_000n): Uint8Array {
  return encodeAccount({ balance: balance + BigInt(n), stake: 0n, nonce: n % 7 });
}

/** The root of `n` accounts, with proofs for the probe keys, without keeping the tree. */
function rootWithProofs(n: number, probes: Uint8Array[]) {
  const keys = Array.from({ length: n }, (_, i) => keyOf(i));
  const proofs: SmtProof[] = probes.map(() => ({ siblings: [] }));
  const build = (items: number[], depth: number, probesHere: number[]): Uint8Array => {
    if (items.length === 0) return EMPTY_HASH;
    if (items.length === 1) {
      const i = items[0]!;
      const value = accountValue(i);
      for (const p of probesHere) proofs[p]!.leaf = { key: keys[i]!, value };
      return leafHash(keys[i]!, value);
    }
    const left: number[] = [];
    const right: number[] = [];
    for (const i of items) (keyBit(keys[i]!, depth) === 0 ? left : right).push(i);
    const probesLeft = probesHere.filter((p) => keyBit(probes[p]!, depth) === 0);
    const probesRight = probesHere.filter((p) => keyBit(probes[p]!, depth) === 1);
    const l = build(left, depth + 1, probesLeft);
    const r = build(right, depth + 1, probesRight);
    // Siblings are pushed bottom-up: reversed at the end.
    for (const p of probesLeft) proofs[p]!.siblings.push(r);
    for (const p of probesRight) proofs[p]!.siblings.push(l);
    return internalHash(l, r);
  };
  const root = build(
    keys.map((_, i) => i),
    0,
    probes.map((_, p) => p),
  );
  for (const proof of proofs) proof.siblings.reverse();
  return { root, proofs };
}

export async function run(): Promise<Record<string, number>> {
  const probes = [
    ...Array.from({ length: 64 }, (_, i) => keyOf((i * 15_485_863) % ACCOUNTS)),
    ...Array.from({ length: 64 }, (_, i) => keyOf(ACCOUNTS + i)),
  ];
  const start = performance.now();
  const { root, proofs } = rootWithProofs(ACCOUNTS, probes);
  const buildMs = performance.now() - start;
  const bytes = (p: SmtProof) => p.siblings.length * 32 + (p.leaf ? 32 + p.leaf.value.length : 0);
  const present = proofs.slice(0, 64);
  const absent = proofs.slice(64);
  for (let i = 0; i < probes.length; i++)
    if ((verifySmtProof(root, probes[i]!, proofs[i]!) !== null) !== i < 64)
      throw new Error("a proof does not say what it should");
  let i = 0;
  const verifyOne = () => {
    const k = i++ % probes.length;
    verifySmtProof(root, probes[k]!, proofs[k]!);
  };
  const seed = new Uint8Array(32);
  const raws: number[] = [];
  const verifies: number[] = [];
  for (let r = 0; r < 5; r++) {
    raws.push(rate(200, () => internalHash(seed, seed)));
    verifies.push(rate(200, verifyOne));
  }

  const entries = Array.from({ length: UPDATE_ACCOUNTS }, (_, n) => ({
    key: keyOf(n),
    value: accountValue(n),
  }));
  const tree = smtRootOf(entries);
  const reader = { node: (hash: Uint8Array) => tree.nodes.get(toHex(hash)) as SmtNode | undefined };
  const blockMs: number[] = [];
  for (let b = 0; b < 7; b++) {
    const changes = Array.from({ length: 500 }, (_, n) => {
      const who = ((b * 500 + n) * 1_999) % UPDATE_ACCOUNTS;
      return { key: keyOf(who), value: accountValue(who, 5n) };
    });
    const t = performance.now();
    updateSmt(reader, tree.root, changes);
    blockMs.push(performance.now() - t);
  }
  const raw = median(raws);
  const verify = median(verifies);
  const avg = (list: SmtProof[]) => list.reduce((s, p) => s + bytes(p), 0) / list.length;
  return {
    "state.accounts": ACCOUNTS,
    "state.buildRootMs": round(buildMs),
    "state.proofDepthAvg": round(present.reduce((s, p) => s + p.siblings.length, 0) / 64, 1),
    "state.proofBytesPresentAvg": round(avg(present)),
    "state.proofBytesAbsentAvg": round(avg(absent)),
    "state.verifyPerSec": round(verify),
    "state.verifyUs": round(1e6 / verify, 1),
    "state.rawNodeHashPerSec": round(raw),
    "state.verifyCostInNodeHashes": round(raw / verify, 1),
    "state.blockUpdateMs500Of100kAccounts": round(median(blockMs), 1),
  };
}
