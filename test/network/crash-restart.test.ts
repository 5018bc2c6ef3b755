import { describe, expect, it } from "vitest";
import {
  agreeAt,
  blocks,
  type Cluster,
  type ClusterNode,
  eventually,
  fullyConnected,
  genesisJson,
  heightsReach,
  peers,
  status,
  useClusters,
} from "../helpers/cluster.js";
import { testKey } from "../helpers/ledger.js";

const CHAIN = "lotchain-net-crash";
const keys = [testKey(151), testKey(152), testKey(153)];
const hex = (k: { publicKey: Uint8Array }) => Buffer.from(k.publicKey).toString("hex");

/**
 * One network of three validators forging every won slot: the first test kills one with
 * SIGKILL, the second restarts it on its data dir. They run in order and share the network.
 */
describe.sequential("a validator killed with SIGKILL, then restarted", () => {
  const cluster = useClusters("all");
  let c: Cluster;
  let nodes: ClusterNode[];
  let victim: ClusterNode;
  let heightBeforeKill = 0;
  let peerIdBeforeKill = "";

  it("is missed by nobody: the other validators go on forging one chain", async () => {
    c = cluster(
      genesisJson({
        chainId: CHAIN,
        consensus: { type: "pos", slotMs: 100, finalityDepth: 64 },
        validators: keys.map((k) => [k, 10]),
      }),
    );
    const v1 = await c.start("v1", { key: keys[0], forgeEmptyBlocks: true });
    const [v2, v3] = await Promise.all([
      c.start("v2", { key: keys[1], forgeEmptyBlocks: true, bootstrap: [v1] }),
      c.start("v3", { key: keys[2], forgeEmptyBlocks: true, bootstrap: [v1] }),
    ]);
    nodes = [v1, v2, v3];
    victim = v3;
    await fullyConnected(nodes, 20_000);
    await heightsReach(nodes, 10, 30_000);

    const before = await status(victim);
    heightBeforeKill = before.height;
    peerIdBeforeKill = before.peerId;
    await c.kill(victim);
    expect((await victim.exited).signal).toBe("SIGKILL");
    const survivors = [v1, v2];
    const atKill = Math.max(...(await Promise.all(survivors.map(status))).map((s) => s.height));

    // The survivors notice the loss and keep extending one chain.
    await eventually(
      "the survivors dropped the dead peer",
      async () => {
        for (const node of survivors) if ((await peers(node)).includes(victim.peerId)) return false;
        return true;
      },
      20_000,
    );
    const goal = atKill + 15;
    await heightsReach(survivors, goal, 30_000);
    await agreeAt(survivors, goal, 10_000);
    // The blocks after the kill (a margin for one forged just before it) are the survivors'.
    const after = await blocks(v1, atKill + 2, goal);
    expect(after).toHaveLength(goal - atKill - 1);
    const forgers = new Set(after.map((b) => b.forger));
    expect(forgers.has(hex(keys[2]!))).toBe(false);
    for (const forger of forgers) expect([hex(keys[0]!), hex(keys[1]!)]).toContain(forger);
  }, 90_000);

  it("restarted on the same data dir, resumes from its store, catches up and forges again", async () => {
    expect(victim, "the first test set up the network").toBeDefined();
    const [v1, v2] = nodes;
    const again = await c.restart(victim);
    const resumed = await status(again);
    // What it had before the kill is still there, and it is the same peer.
    expect(resumed.height).toBeGreaterThanOrEqual(heightBeforeKill);
    expect(resumed.peerId).toBe(peerIdBeforeKill);

    const target = Math.max((await status(v1!)).height, (await status(v2!)).height);
    await heightsReach([again], target, 30_000);
    const all = [v1!, v2!, again];
    await agreeAt(all, target, 10_000);
    await fullyConnected(all, 20_000);

    // Back as a validator: a block of its own lands on the common chain.
    const since = (await status(again)).height;
    const forged = await eventually(
      "a block forged by the restarted validator",
      async () => {
        const head = (await status(v1!)).height;
        const recent = await blocks(v1!, since + 1, head);
        return recent.find((b) => b.forger === hex(keys[2]!));
      },
      30_000,
      250,
    );
    await heightsReach(all, forged.height, 10_000);
    await agreeAt(all, forged.height, 10_000);
  }, 90_000);
});
