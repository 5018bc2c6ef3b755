import { describe, expect, it } from "vitest";
import type { Transaction } from "../../src/core/transaction.js";
import {
  admin,
  agreeAt,
  block,
  type ClusterNode,
  eventually,
  fullyConnected,
  genesisJson,
  heightsReach,
  metric,
  peers,
  status,
  submit,
  transaction,
  useClusters,
} from "../helpers/cluster.js";
import { makeTx, testKey } from "../helpers/ledger.js";

const CHAIN = "lotchain-net-partition";
const TOKEN = "partition-test-token";
// Group A holds 30 of the 40 lots, group B 10: both sides win slots, A about three times as many.
const keysA = [testKey(181), testKey(182)];
const keysB = [testKey(183), testKey(184)];
const stakes = [20, 10, 5, 5];
const userA = testKey(185);
const userB = testKey(186);
const receiver = testKey(187);
const TXS_PER_SIDE = 3;

describe("two groups cut apart and joined again", () => {
  const cluster = useClusters();

  it("end on one chain, with the losing branch's transactions back in the mempool or included", async () => {
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        consensus: { type: "pos", slotMs: 100, finalityDepth: 1_000 },
        validators: [...keysA, ...keysB].map((k, i) => [k, stakes[i]!]),
        alloc: [
          [userA, 1_000],
          [userB, 1_000],
        ],
      }),
    );
    const opts = { forgeEmptyBlocks: true, adminToken: TOKEN };
    const a1 = await c.start("a1", { ...opts, key: keysA[0] });
    const [a2, b1, b2] = await Promise.all([
      c.start("a2", { ...opts, key: keysA[1], bootstrap: [a1] }),
      c.start("b1", { ...opts, key: keysB[0], bootstrap: [a1] }),
      c.start("b2", { ...opts, key: keysB[1], bootstrap: [a1] }),
    ]);
    const groupA = [a1, a2];
    const groupB = [b1!, b2!];
    const all = [...groupA, ...groupB];
    await fullyConnected(all, 30_000);
    await heightsReach(all, 5, 20_000);

    // The admin routes are closed without the token and with a wrong one (every protected
    // route and many wrong tokens: test/api/api.test.ts).
    const refused = await fetch(`${a1.apiUrl}/v1/admin/peers/${b1!.peerId}/ban`, {
      method: "POST",
    });
    expect(refused.status).toBe(401);
    const wrong = await admin(a1, `${TOKEN}-wrong`, "ban", b1!.peerId);
    expect(wrong.status).toBe(401);
    expect(await peers(a1)).toContain(b1!.peerId);

    // Cut every link between the groups, from both ends.
    const cross = (fn: (node: ClusterNode, other: ClusterNode) => Promise<void>) =>
      Promise.all([
        ...groupA.flatMap((a) => groupB.map((b) => fn(a, b))),
        ...groupB.flatMap((b) => groupA.map((a) => fn(b, a))),
      ]);
    await cross(async (node, other) => {
      const res = await admin(node, TOKEN, "ban", other.peerId, { ms: 10 * 60_000 });
      expect(res, `${node.name} bans ${other.name}`).toEqual({
        status: 200,
        body: { peerId: other.peerId, banned: true },
      });
    });
    await eventually(
      "only links within each group",
      async () => {
        for (const group of [groupA, groupB]) {
          const others = all.filter((n) => !group.includes(n)).map((n) => n.peerId);
          for (const node of group) {
            const connected = await peers(node);
            if (connected.some((p) => others.includes(p))) return false;
            if (!group.every((n) => n === node || connected.includes(n.peerId))) return false;
          }
        }
        return true;
      },
      15_000,
    );
    const cutHeight = Math.max(...(await Promise.all(all.map(status))).map((s) => s.height));

    // Each side gets its own transactions, from different senders, into its own blocks.
    const sendAll = async (user: typeof userA, node: ClusterNode) => {
      const txs: Transaction[] = [];
      for (let nonce = 0; nonce < TXS_PER_SIDE; nonce++) {
        const tx = makeTx(user, {
          chainId: CHAIN,
          to: receiver.address,
          amount: BigInt(10 + nonce),
          fee: 0n,
          nonce,
          timestamp: Date.now(),
        });
        await submit(node, tx);
        txs.push(tx);
      }
      return txs;
    };
    const txsA = await sendAll(userA, a2);
    const txsB = await sendAll(userB, b2!);
    const includedOn = (nodes: ClusterNode[], txs: Transaction[]) =>
      eventually(
        `${txs.length} transactions included on ${nodes.map((n) => n.name).join(", ")}`,
        async () => {
          for (const node of nodes)
            for (const tx of txs)
              if ((await transaction(node, tx.id))?.status !== "included") return false;
          return true;
        },
        30_000,
      );
    await Promise.all([includedOn(groupA, txsA), includedOn(groupB, txsB)]);
    // Both sides forge on: several blocks of their own past the cut.
    await Promise.all([
      heightsReach(groupA, cutHeight + 12, 30_000),
      heightsReach(groupB, cutHeight + 4, 30_000),
    ]);
    // Two branches: neither side has heard of the other's transactions.
    for (const node of groupB)
      for (const tx of txsA) expect(await transaction(node, tx.id), node.name).toBeUndefined();
    for (const node of groupA)
      for (const tx of txsB) expect(await transaction(node, tx.id), node.name).toBeUndefined();
    const headA = await status(a1);
    const headB = await status(b1!);
    expect(headA.headHash).not.toBe(headB.headHash);
    // Where each transaction sits on its own side's branch.
    const branchBlock = new Map<string, string>();
    for (const [node, txs] of [
      [a1, txsA],
      [b1!, txsB],
    ] as const)
      for (const tx of txs) branchBlock.set(tx.id, (await transaction(node, tx.id))!.blockHash!);

    // Join again.
    await cross(async (node, other) => {
      const res = await admin(node, TOKEN, "unban", other.peerId);
      expect(res.status, `${node.name} unbans ${other.name}`).toBe(200);
    });
    await fullyConnected(all, 30_000);

    // One chain everywhere, past both branches' heads.
    const joined = Math.max(...(await Promise.all(all.map(status))).map((s) => s.height)) + 3;
    await heightsReach(all, joined, 30_000);
    await agreeAt(all, joined, 20_000);
    // Exactly one branch survives (the longer: A's, by the stakes, nearly surely).
    const keptA = (await block(a1, headA.height)).hash === headA.headHash;
    const keptB = (await block(a1, headB.height)).hash === headB.headHash;
    expect(keptA !== keptB, `kept A: ${keptA}, kept B: ${keptB}`).toBe(true);
    const [losers, winnerTxs, loserTxs] = keptA ? [groupB, txsA, txsB] : [groupA, txsB, txsA];
    // The losing side reorganised onto the winning branch.
    for (const node of losers)
      expect(await metric(node, "lotchain_reorgs_total"), node.name).toBeGreaterThanOrEqual(1);

    // The winning branch's transactions are included everywhere.
    await includedOn(all, winnerTxs);
    // The losing branch's: right after the switch, each is pending or included in the final chain
    // on the nodes that had it, never lost.
    for (const node of losers)
      for (const tx of loserTxs) {
        const seen = await transaction(node, tx.id);
        expect(seen, `${node.name} ${tx.id}`).toBeDefined();
        if (seen!.status === "included")
          expect((await block(node, seen!.height!)).hash).toBe(seen!.blockHash);
        else expect(seen!.status).toBe("pending");
      }
    // And then they make it into the common chain, on every node.
    await includedOn(all, loserTxs);
    const final = Math.max(...(await Promise.all(all.map(status))).map((s) => s.height));
    await heightsReach(all, final, 10_000);
    await agreeAt(all, final, 10_000);
    for (const tx of [...winnerTxs, ...loserTxs]) {
      const where = await Promise.all(all.map((node) => transaction(node, tx.id)));
      const blockHashes = new Set(where.map((w) => w!.blockHash));
      expect(blockHashes.size, tx.id).toBe(1);
      // The winners' stayed in their blocks; the losers' are in new blocks of the common chain
      // (their first blocks were reverted with the losing branch).
      if (winnerTxs.includes(tx)) expect(where[0]!.blockHash).toBe(branchBlock.get(tx.id));
      else expect(where[0]!.blockHash).not.toBe(branchBlock.get(tx.id));
    }
  }, 180_000);
});
