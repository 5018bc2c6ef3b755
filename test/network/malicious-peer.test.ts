import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  EMPTY_ACCUMULATOR,
  epochOf,
  nextEpochNonce,
  proveRandomness,
} from "../../src/consensus/index.js";
import { type Block, makeBlock, sealBlock } from "../../src/core/block.js";
import { parseHex } from "../../src/core/bytes.js";
import { POS_DEFAULTS } from "../../src/core/genesis.js";
import { privateKeySeed } from "../../src/core/keys.js";
import { makeTransaction } from "../../src/core/transaction.js";
import { vrfSecretKey } from "../../src/core/vrf.js";
import { P2PNode } from "../../src/net/p2p.js";
import { chainProtocols } from "../../src/net/protocols.js";
import { encodeRangeRequest, encodeTxBatch } from "../../src/net/wire.js";
import {
  agreeAt,
  block,
  type ClusterNode,
  eventually,
  fullyConnected,
  genesisJson,
  heightsReach,
  metric,
  peers,
  sleep,
  status,
  submit,
  transaction,
  useClusters,
} from "../helpers/cluster.js";
import { makeTx, testKey } from "../helpers/ledger.js";

/** The epoch length of the test genesis files (the default). */
const EPOCH_SLOTS = POS_DEFAULTS.epochSlots;

const CHAIN = "lotchain-net-evil";
const SLOT_MS = 100;
const validators = [testKey(171), testKey(172)];
const user = testKey(173);
const evilKey = testKey(174);
const topics = chainProtocols(CHAIN);
/**
 * A steady trickle, not a burst: a burst is judged before gossipsub's own scores catch up, a
 * trickle shows whether the peer is really cut off (gossipsub's graylist once stopped lotchain's
 * penalties short of its ban at this pace; see src/net/gossip.ts).
 */
const PACE_MS = 300;
/** About 11 rejected messages reach the ban threshold (10 points each, ban at -100). */
const MAX_MESSAGES = 40;

describe("a peer that sends invalid blocks and transactions", () => {
  const cluster = useClusters();

  it("is disconnected and kept out, while the honest nodes go on and agree", async () => {
    const genesisTimestamp = Date.now();
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        timestamp: genesisTimestamp,
        consensus: { type: "pos", slotMs: SLOT_MS, finalityDepth: 1_000 },
        validators: validators.map((v) => [v, 10]),
        alloc: [[user, 1_000]],
      }),
    );
    const v1 = await c.start("v1", { key: validators[0], forgeEmptyBlocks: true });
    const v2 = await c.start("v2", { key: validators[1], forgeEmptyBlocks: true, bootstrap: [v1] });
    const honest = [v1, v2];
    await fullyConnected(honest, 20_000);
    await heightsReach(honest, 5, 20_000);

    // The attacker: a libp2p peer of lotchain's own make, on the real topics.
    const evil = await P2PNode.create({
      dataDir: join(c.dir, "evil"),
      host: "127.0.0.1",
      port: 0,
      bootstrap: [],
      protocolPrefix: topics.prefix,
      logger: pino({ level: "silent" }),
    });
    c.defer(() => evil.stop());
    evil.subscribe(topics.txTopic, () => "ignore", 1 << 20);
    evil.subscribe(topics.blockTopic, () => "ignore", 4 << 20);
    await evil.start();
    for (const node of honest) await evil.connect(node.p2pAddresses[0]!);
    await eventually(
      "the attacker sees both nodes on both topics",
      async () =>
        honest.every(
          (n) =>
            evil.topicPeers(topics.txTopic).includes(n.peerId) &&
            evil.topicPeers(topics.blockTopic).includes(n.peerId),
        ),
      10_000,
    );
    for (const node of honest) expect(await peers(node)).toContain(evil.peerId);
    // While it is a peer, the nodes serve it blocks like anyone.
    const askBlocks = (node: ClusterNode) =>
      evil.request(node.peerId, topics.blocksByRange, encodeRangeRequest({ from: 1, count: 1 }), {
        maxResponseBytes: 1 << 20,
        timeoutMs: 3_000,
      });
    for (const node of honest) expect((await askBlocks(node)).length).toBeGreaterThan(0);

    // Invalid items, each one distinct (gossip ids are content hashes).
    const genesis = await block(v1, "genesis");
    const parent = {
      hash: parseHex(genesis.hash)!,
      randomness: parseHex(genesis.randomness)!,
    };
    const evilVrf = vrfSecretKey(privateKeySeed(evilKey.privateKey));
    // A valid VRF proof for the slot's epoch on the genesis branch: only the lottery refuses it.
    const epochNonce = (slot: number) =>
      epochOf(slot, EPOCH_SLOTS) === 0
        ? parent.randomness
        : nextEpochNonce(parent.randomness, EMPTY_ACCUMULATOR, epochOf(slot, EPOCH_SLOTS));
    const blockAt = (slot: number): Block =>
      sealBlock(
        {
          chainId: CHAIN,
          height: 1,
          previousHash: parent.hash,
          timestamp: genesisTimestamp + slot * SLOT_MS,
          forger: evilKey.publicKey,
          stateRoot: parseHex(genesis.stateRoot)!,
          seal: {
            type: "pos",
            slot,
            vrfProof: proveRandomness(CHAIN, slot, epochNonce(slot), evilVrf),
          },
        },
        [],
        evilKey.privateKey,
      );
    let n = 0;
    const attacks: [string, () => Uint8Array][] = [
      ["tx: garbage", () => randomBytes(40 + (n % 50))],
      [
        "tx: bad signature",
        // Gossip carries transactions in batches (src/net/wire.ts): speak the real format.
        () =>
          encodeTxBatch([
            makeTransaction(
              makeTx(user, {
                chainId: CHAIN,
                to: evilKey.address,
                amount: BigInt(n + 1),
                nonce: 0,
              }),
              randomBytes(64),
            ),
          ]),
      ],
      [
        "tx: other chain",
        () =>
          encodeTxBatch([
            makeTx(user, {
              chainId: "another-chain",
              to: evilKey.address,
              amount: BigInt(n + 1),
              nonce: 0,
            }),
          ]),
      ],
      ["block: garbage", () => randomBytes(200 + (n % 50))],
      // signed by a key that holds no stake (it won no slot)
      ["block: wrong forger", () => blockAt(n + 1).encoded],
      [
        "block: bad signature",
        () => {
          const b = blockAt(n + 1);
          return makeBlock(b.header, randomBytes(64), b.transactions).encoded;
        },
      ],
    ];

    // Invalid messages, one every PACE_MS, until both nodes have cut the attacker off.
    const heightAtAttack = Math.max(
      ...(await Promise.all(honest.map(status))).map((s) => s.height),
    );
    const sent: string[] = [];
    // (The nodes' own peer lists decide: the attacker's view may show a dial the node is about to
    // refuse.)
    const stillPeer = async () =>
      (await Promise.all(honest.map(peers))).some((list) => list.includes(evil.peerId));
    while (sent.length < MAX_MESSAGES && (await stillPeer())) {
      const [what, make] = attacks[n % attacks.length]!;
      await evil.publish(what.startsWith("tx") ? topics.txTopic : topics.blockTopic, make());
      sent.push(what);
      n++;
      await sleep(PACE_MS);
    }
    expect(sent.length, "the attacker was cut off before it ran out of messages").toBeLessThan(
      MAX_MESSAGES,
    );

    // Disconnected on both honest nodes...
    await eventually(
      "the attacker gone from both nodes",
      async () => {
        for (const node of honest) if ((await peers(node)).includes(evil.peerId)) return false;
        return true;
      },
      10_000,
    );
    // ...and banned: it cannot get back in. Its dials are refused (a connection it sees open for
    // a moment is closed by the node as soon as the handshake names it), so it gets no answer,
    // and no node lists it again.
    for (const node of honest) {
      await evil.connect(node.p2pAddresses[0]!, 3_000).catch(() => undefined);
      await expect(askBlocks(node), node.name).rejects.toThrow();
    }
    for (let i = 0; i < 8; i++) {
      for (const node of honest) expect(await peers(node), node.name).not.toContain(evil.peerId);
      await sleep(250);
    }
    // The nodes saw the items for what they were.
    for (const node of honest) {
      expect(await metric(node, "lotchain_blocks_rejected_total"), node.name).toBeGreaterThan(0);
      expect(await metric(node, "lotchain_transactions_rejected_total"), node.name).toBeGreaterThan(
        0,
      );
    }

    // The honest nodes never took any of it, stayed connected, and go on agreeing.
    const goal = heightAtAttack + 15;
    await heightsReach(honest, goal, 30_000);
    await agreeAt(honest, goal, 10_000);
    expect(await peers(v1)).toContain(v2.peerId);
    expect(await peers(v2)).toContain(v1.peerId);
    const good = makeTx(user, {
      chainId: CHAIN,
      to: validators[0]!.address,
      amount: 5n,
      nonce: 0,
      fee: 0n,
      timestamp: Date.now(),
    });
    await submit(v2, good);
    await eventually(
      "an honest transaction included on both nodes",
      async () => {
        const seen = await Promise.all(honest.map((node) => transaction(node, good.id)));
        return seen.every((s) => s?.status === "included");
      },
      20_000,
    );
  }, 120_000);
});
