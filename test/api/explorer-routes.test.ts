import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockTreeView, chiSquaredTest } from "../../src/api/explorer-data.js";
import { transactionToJson } from "../../src/core/transaction.js";
import { BlockTreeModel, openChain, tempDir, testGenesis } from "../chain/chain-fixtures.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson, waitFor } from "../helpers/node-process.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

const forger = testKey(31);
const alice = testKey(32);
const bob = testKey(33);
let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({
    genesis: posGenesis({ validator: forger, alloc: { [alice.address]: "1000" }, minFee: "0" }),
    key: forger,
  });
});
afterAll(async () => {
  await t?.close();
});

describe("the explorer's routes", () => {
  it("serves the page at / and at shareable paths, with a policy that allows only the node", async () => {
    for (const path of ["/", "/block/1", "/tx/" + "ab".repeat(32), `/account/${alice.address}`]) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
      const csp = res.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      const html = await res.text();
      expect(html).toContain('<script type="importmap">');
      expect(html).toContain('id="network"');
    }
  });

  it("serves its modules and the vendored libraries gzipped, and nothing else of node_modules", async () => {
    const app = await fetch(`${t.url}/explorer/app.js`, { headers: { "accept-encoding": "gzip" } });
    expect(app.status).toBe(200);
    expect(app.headers.get("content-type")).toMatch(/javascript/);
    const d3 = await fetch(`${t.url}/vendor/d3-force/dist/d3-force.min.mjs`);
    expect(d3.status).toBe(200);
    expect(await d3.text()).toContain("forceSimulation");
    const raw = await fetch(`${t.url}/explorer/style.css`, {
      headers: { "accept-encoding": "gzip" },
    });
    expect(raw.status).toBe(200);
    const etag = raw.headers.get("etag")!;
    expect(
      (await fetch(`${t.url}/explorer/style.css`, { headers: { "if-none-match": etag } })).status,
    ).toBe(304);
    for (const path of [
      "/vendor/d3-force/package.json",
      "/vendor/../package.json",
      "/vendor/fastify/fastify.js",
      "/explorer/../explorer.ts",
      "/explorer/nope.js",
    ])
      expect((await fetch(`${t.url}${path}`)).status, path).toBe(404);
  });

  it("describes the chain, the lottery, the network and search results", async () => {
    const tx = transactionToJson(
      makeTx(alice, {
        chainId: "lotchain-apitest",
        to: bob.address,
        amount: 5n,
        fee: 0n,
        nonce: 0,
      }),
    );
    expect((await postJson(`${t.url}/v1/transactions`, tx)).status).toBe(202);
    const included = await waitFor(
      async () => {
        const r = await getJson(`${t.url}/v1/transactions/${tx.id}`);
        return r.body.status === "included" ? r.body : undefined;
      },
      20_000,
      "inclusion",
    );

    const tree = (await getJson(`${t.url}/v1/chain/tree?depth=5`)).body;
    expect(tree.head.height).toBeGreaterThanOrEqual(included.height);
    const main = tree.blocks.filter((b: { main: boolean }) => b.main);
    for (let i = 1; i < main.length; i++) expect(main[i].previousHash).toBe(main[i - 1].hash);
    expect(main.at(-1).hash).toBe(tree.head.hash);
    expect((await getJson(`${t.url}/v1/chain/tree?depth=0`)).status).toBe(400);

    const lottery = (await getJson(`${t.url}/v1/lottery?slots=50`)).body;
    expect(lottery.consensus).toBe("pos");
    expect(lottery.slots).toBeGreaterThan(0);
    // One validator holds every lot: it wins every slot, and no test is possible.
    expect(lottery.validators).toEqual([
      expect.objectContaining({
        address: forger.address,
        lots: "10",
        shareMillionths: 1_000_000,
        wins: lottery.slots,
      }),
    ]);
    expect(lottery.test).toBeNull();
    const forged = lottery.recent.find((s: { block: unknown }) => s.block);
    expect(forged.winner).toBe(forger.address);
    expect((await getJson(`${t.url}/v1/lottery?slots=100000`)).status).toBe(400);

    const search = async (q: string) =>
      (await getJson(`${t.url}/v1/search?q=${encodeURIComponent(q)}`)).body.results;
    expect(await search(String(included.height))).toEqual([
      { kind: "block", id: String(included.height) },
    ]);
    expect(await search(included.blockHash)).toEqual([{ kind: "block", id: included.blockHash }]);
    expect(await search(tx.id.toUpperCase())).toEqual([{ kind: "transaction", id: tx.id }]);
    expect(await search(alice.address)).toEqual([{ kind: "account", id: alice.address }]);
    expect(await search("99999999")).toEqual([]);
    expect(await search("lc1nope")).toEqual([]);
    expect((await getJson(`${t.url}/v1/search`)).status).toBe(400);

    const network = (await getJson(`${t.url}/v1/network`)).body;
    expect(network.nodes).toEqual([
      expect.objectContaining({ self: true, relation: "same", headHash: tree.head.hash }),
    ]);
    expect(network.links).toEqual([]);
  });
});

describe("chiSquaredTest", () => {
  it("gives the p-value of Pearson's statistic (scipy.stats.chi2.sf)", () => {
    // 50/50 expected, 60/40 observed: chi2 = 4, p = 0.0455 (scipy.stats.chi2.sf(4, 1)).
    const r = chiSquaredTest([
      { observed: 60, expected: 50 },
      { observed: 40, expected: 50 },
    ])!;
    expect(r.chiSquared).toBeCloseTo(4, 10);
    expect(r.degreesOfFreedom).toBe(1);
    expect(r.pValue).toBeCloseTo(0.0455, 4);
    expect(chiSquaredTest([{ observed: 5, expected: 5 }])).toBeNull();
  });
});

describe("blockTreeView", () => {
  it("draws side branches beside the main chain, each block naming its parent", async () => {
    const genesis = testGenesis("pos");
    const model = new BlockTreeModel(genesis);
    const { dir, remove } = await tempDir();
    const chain = await openChain(dir, genesis);
    try {
      const [a1, a2, a3] = model.extend(model.genesisBlock, 3);
      for (const b of [a1!, a2!, a3!]) await chain.importBlock(b);
      // A fork at a1 that loses: stored, off the main chain.
      const side = model.child(a1!, [], { minSlot: 40 });
      expect((await chain.importBlock(side)).status).toBe("side");
      const tree = await blockTreeView(chain, 10);
      expect(tree.head).toEqual({ height: 3, hash: a3!.hashHex });
      const byHash = new Map(tree.blocks.map((b) => [b.hash, b]));
      expect(byHash.get(side.hashHex)).toMatchObject({
        height: 2,
        main: false,
        previousHash: a1!.hashHex,
      });
      expect(tree.blocks.filter((b) => b.main).map((b) => b.height)).toEqual([0, 1, 2, 3]);
      // Only the last blocks when asked for fewer; the side block at height 2 still shows.
      const short = await blockTreeView(chain, 2);
      expect(short.blocks.map((b) => [b.height, b.main])).toEqual([
        [2, true],
        [2, false],
        [3, true],
      ]);
    } finally {
      await chain.close();
      await remove();
    }
  });
});
