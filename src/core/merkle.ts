import { parseHex } from "./bytes.js";
import { taggedHash } from "./hash.js";

/**
 * Merkle root of transaction ids. Leaves and inner nodes are hashed under different domains,
 * and an odd node is promoted unchanged rather than paired with itself, so no two different
 * lists of ids share a root (the duplicate-leaf weakness of Bitcoin's tree, CVE-2012-2459).
 */
export function merkleRoot(ids: readonly (string | Uint8Array)[]): Uint8Array {
  if (ids.length === 0) return taggedHash("lotchain/merkle-empty/v1");
  let level = ids.map((id) =>
    taggedHash("lotchain/merkle-leaf/v1", typeof id === "string" ? parseHex(id, 32)! : id),
  );
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      const right = level[i + 1];
      next.push(right ? taggedHash("lotchain/merkle-node/v1", left, right) : left);
    }
    level = next;
  }
  return level[0]!;
}
