import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseHex, toHex } from "../../src/core/bytes.js";
import {
  EMPTY_HASH,
  proveSmt,
  type SmtChange,
  type SmtNode,
  type SmtProof,
  smtRootOf,
  updateSmt,
  verifySmtProof,
} from "../../src/core/smt.js";
import { codeOf } from "../helpers/ledger.js";

const vectors = JSON.parse(readFileSync(new URL("../vectors/smt.json", import.meta.url), "utf8"));
const hex = (s: string) => parseHex(s)!;

/** A node store in memory: what the chain keeps in LevelDB. */
class Store {
  readonly nodes = new Map<string, SmtNode>();
  node(hash: Uint8Array) {
    return this.nodes.get(toHex(hash));
  }
  apply(update: ReturnType<typeof updateSmt>) {
    for (const [h, n] of update.created) this.nodes.set(h, n);
    for (const h of update.released) this.nodes.delete(h);
    return update.root;
  }
}

describe("state tree: vectors of the independent reference (test/vectors/smt_reference.py)", () => {
  it("the reference still writes exactly these vectors (when python3 is here)", () => {
    const python = spawnSync("python3", ["--version"]);
    if (python.error) {
      console.log("python3 not found: the reference check is skipped (apt-get install python3)");
      return;
    }
    const r = spawnSync("python3", [
      new URL("../vectors/smt_reference.py", import.meta.url).pathname,
      "--check",
    ]);
    expect(r.status, r.stderr.toString()).toBe(0);
  });

  it("gives the same root for every set, built at once or one key at a time in any order", () => {
    for (const set of vectors.sets) {
      const pairs = set.pairs.map(([k, v]: [string, string]) => ({ key: hex(k), value: hex(v) }));
      expect(toHex(smtRootOf(pairs).root), `size ${set.size}`).toBe(set.root);
      const store = new Store();
      let root: Uint8Array = EMPTY_HASH;
      for (const p of [...pairs].reverse()) root = store.apply(updateSmt(store, root, [p]));
      expect(toHex(root), `size ${set.size}, one at a time`).toBe(set.root);
      // Exactly the nodes of that tree are kept: released ones are gone.
      expect([...store.nodes.keys()].sort()).toEqual([...smtRootOf(pairs).nodes.keys()].sort());
    }
  });

  it("makes and checks the same proofs", () => {
    for (const set of vectors.sets) {
      const pairs = set.pairs.map(([k, v]: [string, string]) => ({ key: hex(k), value: hex(v) }));
      const store = new Store();
      const root = store.apply(updateSmt(store, EMPTY_HASH, pairs));
      for (const p of set.proofs) {
        const proof: SmtProof = {
          siblings: p.siblings.map(hex),
          ...(p.leaf ? { leaf: { key: hex(p.leaf[0]), value: hex(p.leaf[1]) } } : {}),
        };
        const ours = proveSmt(store, root, hex(p.key));
        expect(ours.siblings.map(toHex)).toEqual(p.siblings);
        expect(ours.leaf ? [toHex(ours.leaf.key), toHex(ours.leaf.value)] : null).toEqual(p.leaf);
        const value = verifySmtProof(root, hex(p.key), proof);
        expect(value !== null).toBe(p.present);
      }
    }
  });
});

describe("state tree: updates and proofs", () => {
  const key = (n: number) => {
    const k = new Uint8Array(32);
    new DataView(k.buffer).setUint32(0, Math.imul(n + 1, 2654435761));
    k[31] = n & 0xff;
    return k;
  };

  it("any sequence of sets and removals ends at the root of the final set, keeping only its nodes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ n: fc.nat(40), v: fc.option(fc.nat(5), { nil: null }) }), {
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 8 }),
        (ops, batch) => {
          const store = new Store();
          const model = new Map<string, Uint8Array>();
          let root: Uint8Array = EMPTY_HASH;
          for (let i = 0; i < ops.length; i += batch) {
            const changes: SmtChange[] = ops.slice(i, i + batch).map(({ n, v }) => {
              const value = v === null ? null : Uint8Array.of(n, v);
              return { key: key(n), value };
            });
            for (const c of changes) {
              if (c.value) model.set(toHex(c.key), c.value);
              else model.delete(toHex(c.key));
            }
            root = store.apply(updateSmt(store, root, changes));
          }
          const expected = smtRootOf([...model].map(([k, value]) => ({ key: hex(k), value })));
          expect(toHex(root)).toBe(toHex(expected.root));
          expect([...store.nodes.keys()].sort()).toEqual([...expected.nodes.keys()].sort());
          for (let n = 0; n <= 41; n++) {
            const value = verifySmtProof(root, key(n), proveSmt(store, root, key(n)));
            const want = model.get(toHex(key(n)));
            expect(value === null ? null : toHex(value)).toBe(want ? toHex(want) : null);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("refuses a proof that is altered, for another key, or against another root", () => {
    const pairs = Array.from({ length: 20 }, (_, n) => ({ key: key(n), value: Uint8Array.of(n) }));
    const store = new Store();
    const root = store.apply(updateSmt(store, EMPTY_HASH, pairs));
    const proof = proveSmt(store, root, key(3));
    const proof4 = proveSmt(store, root, key(4));
    const absent = proveSmt(store, root, key(99));
    expect(toHex(verifySmtProof(root, key(3), proof)!)).toBe("03");
    const otherRoot = store.apply(
      updateSmt(store, root, [{ key: key(3), value: Uint8Array.of(9) }]),
    );
    expect(codeOf(() => verifySmtProof(otherRoot, key(3), proof))).toBe("BadProof");
    const altered = { ...proof, leaf: { key: key(3), value: Uint8Array.of(4) } };
    expect(codeOf(() => verifySmtProof(root, key(3), altered))).toBe("BadProof");
    const moreSiblings = { ...proof, siblings: [...proof.siblings, new Uint8Array(32)] };
    expect(codeOf(() => verifySmtProof(root, key(3), moreSiblings))).toBe("BadProof");
    // Key 4's proof shows key 4, not key 3: as a proof for key 3 it fails.
    expect(codeOf(() => verifySmtProof(root, key(3), proof4))).toBe("BadProof");
    // Absence: a key never set gets a proof of absence that verifies as null.
    expect(verifySmtProof(root, key(99), absent)).toBeNull();
  });
});
