import { describe, expect, it } from "vitest";
import type { Transaction } from "../../src/core/transaction.js";
import {
  account,
  blocks,
  type ClusterNode,
  eventually,
  fullyConnected,
  genesisJson,
  metric,
  sameHead,
  submit,
  transaction,
  useClusters,
} from "../helpers/cluster.js";
import { makeTx, testKey } from "../helpers/ledger.js";

const CHAIN = "lotchain-net-converge";
const validators = [testKey(101), testKey(102), testKey(103)];
const users = [testKey(111), testKey(112), testKey(113)];
const exchange = testKey(120);
const receivers = [testKey(131), testKey(132), testKey(133), testKey(134)];

const USER_FUNDS = 1_000_000n;
const EXCHANGE_FUNDS = 1_000n;
const VALIDATOR_FUNDS = 500n;
const STAKE = 10n;
const REWARD = 3n;
const FEE = 1n;
const ROUNDS = 12;

describe("three validators", () => {
  const cluster = useClusters();

  it("converge on one head after transactions sent to different nodes, and supply holds on every node", async () => {
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        consensus: { type: "pos", slotMs: 100, finalityDepth: 64 },
        validators: validators.map((v) => [v, STAKE]),
        alloc: [
          ...users.map((u): [typeof u, bigint] => [u, USER_FUNDS]),
          ...validators.map((v): [typeof v, bigint] => [v, VALIDATOR_FUNDS]),
          [exchange, EXCHANGE_FUNDS],
        ],
        exchange: [exchange],
        blockReward: REWARD,
        minFee: FEE,
      }),
    );
    const n1 = await c.start("v1", { key: validators[0] });
    const [n2, n3] = await Promise.all([
      c.start("v2", { key: validators[1], bootstrap: [n1] }),
      c.start("v3", { key: validators[2], bootstrap: [n1] }),
    ]);
    const nodes = [n1, n2, n3];
    // n2 and n3 only know n1 at the start: they find each other through it.
    await fullyConnected(nodes, 20_000);

    const nonces = new Map<string, number>();
    const nextNonce = (address: string) => {
      const n = nonces.get(address) ?? 0;
      nonces.set(address, n + 1);
      return n;
    };
    const sent: { tx: Transaction; to: ClusterNode }[] = [];
    let minted = 0n;
    const spent = new Map<string, bigint>();
    const send = async (node: ClusterNode, tx: Transaction) => {
      await submit(node, tx);
      sent.push({ tx, to: node });
    };

    // Rounds of transactions, each user through "its" node, the exchange and a validator's
    // STAKE through changing nodes; a round waits for inclusion, so the chain grows by at least
    // one block a round and the forgers of those blocks are drawn independently.
    for (let round = 0; round < ROUNDS; round++) {
      const batch: Transaction[] = [];
      for (let i = 0; i < users.length; i++) {
        const user = users[i]!;
        const amount = BigInt(10 + round * 3 + i);
        const tx = makeTx(user, {
          chainId: CHAIN,
          to: receivers[(round + i) % receivers.length]!.address,
          amount,
          fee: FEE,
          nonce: nextNonce(user.address),
          timestamp: Date.now(),
        });
        spent.set(user.address, (spent.get(user.address) ?? 0n) + amount + FEE);
        await send(nodes[i]!, tx);
        batch.push(tx);
      }
      if (round % 3 === 0) {
        const amount = BigInt(1000 + round);
        const tx = makeTx(exchange, {
          chainId: CHAIN,
          type: "EXCHANGE",
          to: receivers[round % receivers.length]!.address,
          amount,
          fee: FEE,
          nonce: nextNonce(exchange.address),
          timestamp: Date.now(),
        });
        minted += amount;
        await send(nodes[(round / 3) % 3]!, tx);
        batch.push(tx);
      }
      if (round === 5) {
        const tx = makeTx(validators[1]!, {
          chainId: CHAIN,
          type: "STAKE",
          amount: 5n,
          fee: FEE,
          nonce: nextNonce(validators[1]!.address),
          timestamp: Date.now(),
        });
        await send(n3, tx);
        batch.push(tx);
      }
      await eventually(
        `round ${round} included everywhere`,
        async () => {
          for (const tx of batch)
            for (const node of nodes)
              if ((await transaction(node, tx.id))?.status !== "included") return false;
          return true;
        },
        20_000,
      );
    }

    // Nothing is pending and no node forges empty blocks: the chain comes to rest on one head.
    const head = await sameHead(nodes, 20_000);
    const chain = await blocks(n1, 0, head.height);
    expect(chain).toHaveLength(head.height + 1);
    expect(chain.at(-1)!.hash).toBe(head.headHash);
    for (const node of nodes) {
      const theirs = await blocks(node, 0, head.height);
      expect(theirs.map((b) => b.hash)).toEqual(chain.map((b) => b.hash));
    }
    // Every transaction is in that chain exactly once, wherever it was sent.
    const included = chain.flatMap((b) => b.transactions.map((tx) => tx.id));
    expect(new Set(included).size).toBe(included.length);
    expect(included.sort()).toEqual(sent.map((s) => s.tx.id).sort());
    expect(head.height).toBeGreaterThanOrEqual(ROUNDS);
    // At least ROUNDS blocks, each forger drawn 1/3 each: one forger for all of them has
    // probability 3^-(ROUNDS-1), about 6e-6.
    const forgers = new Set(chain.slice(1).map((b) => b.forger));
    expect(forgers.size).toBeGreaterThanOrEqual(2);
    for (const forger of forgers)
      expect(validators.map((v) => Buffer.from(v.publicKey).toString("hex"))).toContain(forger);

    // Supply: every account that can hold anything (genesis accounts, receivers; fees and
    // rewards go to the validators) sums to genesis + EXCHANGE mints + block rewards, on every node.
    const genesisTotal =
      USER_FUNDS * BigInt(users.length) +
      (VALIDATOR_FUNDS + STAKE) * BigInt(validators.length) +
      EXCHANGE_FUNDS;
    const expected = genesisTotal + minted + REWARD * BigInt(head.height);
    const everyone = [...users, ...validators, exchange, ...receivers].map((k) => k.address);
    const views: string[] = [];
    for (const node of nodes) {
      const accounts = await Promise.all(everyone.map((a) => account(node, a)));
      const total = accounts.reduce((sum, a) => sum + BigInt(a.balance) + BigInt(a.stake), 0n);
      expect(total, node.name).toBe(expected);
      // The node's own sum over all its accounts says the same: there is no account we missed.
      expect(await metric(node, "lotchain_total_supply"), node.name).toBe(Number(expected));
      for (const user of users) {
        const a = accounts[everyone.indexOf(user.address)]!;
        expect(BigInt(a.balance), `${node.name} ${user.address}`).toBe(
          USER_FUNDS - spent.get(user.address)!,
        );
      }
      views.push(JSON.stringify(accounts));
    }
    expect(views[1]).toBe(views[0]);
    expect(views[2]).toBe(views[0]);
  }, 120_000);
});
