import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { genesisToJson } from "../../src/core/genesis.js";
import { addressFromPublicKey } from "../../src/core/keys.js";
import { startTestNode, type TestNode } from "../api/api-fixture.js";
import { BlockTreeModel, testGenesis } from "../chain/chain-fixtures.js";
import {
  type ClusterNode,
  eventually,
  fullyConnected,
  genesisJson,
  status,
  submit,
  transaction,
  useClusters,
} from "../helpers/cluster.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { type Browser, findChromium, launchBrowser, NO_CHROMIUM } from "./browser.js";

/**
 * The explorer in a real browser (Debian's chromium driven by playwright-core) against a real
 * 3-node devnet: two validators forging every slot and a full node. Screenshots go to
 * test-output/browser/.
 */
const chromiumPath = findChromium();
if (!chromiumPath) console.warn(NO_CHROMIUM);

const SLOT_MS = 1000;
const CHAIN = "lotchain-browser";
const v1 = testKey(71);
const v2 = testKey(72);
const alice = testKey(73);
const bob = testKey(74);

describe.skipIf(!chromiumPath)("the explorer in chromium, against a 3-node devnet", () => {
  const cluster = useClusters("all");
  let nodes: ClusterNode[];
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        consensus: { type: "pos", slotMs: SLOT_MS, finalityDepth: 8 },
        validators: [
          [v1, 3],
          [v2, 1],
        ],
        alloc: [[alice, 1_000_000]],
      }),
    );
    const n1 = await c.start("node1", { key: v1, forgeEmptyBlocks: true });
    const n2 = await c.start("node2", { key: v2, forgeEmptyBlocks: true, bootstrap: [n1] });
    const n3 = await c.start("node3", { bootstrap: [n1] });
    nodes = [n1, n2, n3];
    url = n1.apiUrl;
    await fullyConnected(nodes, 30_000);
    browser = await launchBrowser(chromiumPath!);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  const tx = (nonce: number, amount = 10n) =>
    makeTx(alice, { chainId: CHAIN, to: bob.address, amount, fee: 1n, nonce });

  /** The heights the network view shows, by node. */
  const networkHeights = (page: Page) =>
    page.$$eval("#network [data-node]", (els) =>
      els.map((el) => ({
        id: el.getAttribute("data-node"),
        height: el.getAttribute("data-height"),
      })),
    );

  it("shows the three nodes with their heights and the links between them", async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    // Each node's height once every peer's status has been heard.
    await eventually(
      "three nodes with heights in the network view",
      async () => {
        const seen = await networkHeights(page);
        return seen.length === 3 && seen.every((n) => Number(n.height) > 0);
      },
      30_000,
    );
    const seen = await networkHeights(page);
    expect(new Set(seen.map((n) => n.id))).toEqual(new Set(nodes.map((n) => n.peerId)));
    // node1 sees its own two connections, and node2's link to node3 from their reports.
    const ids = nodes.map((n) => n.peerId);
    const expected = [
      [ids[0], ids[1]],
      [ids[0], ids[2]],
      [ids[1], ids[2]],
    ].map((pair) => pair.sort().join(" "));
    await eventually(
      "every link drawn",
      async () => {
        const now = await page.$$eval("#network [data-edge]", (els) =>
          els.map((el) => el.getAttribute("data-edge")!.split(" ").sort().join(" ")),
        );
        return expected.every((e) => now.includes(e));
      },
      30_000,
    );
    // The lottery lists both validators with their shares (3 and 1 of 4 lots).
    const shares = await page.$$eval("#lottery [data-validator]", (els) =>
      Object.fromEntries(
        els.map((el) => [el.getAttribute("data-validator"), Number(el.getAttribute("data-share"))]),
      ),
    );
    expect(shares).toEqual({ [v1.address]: 0.75, [v2.address]: 0.25 });
    // Every slot that has a block was won by that block's forger (the node recomputes the draw).
    const lottery = (await (await fetch(`${url}/v1/lottery?slots=100`)).json()) as any;
    const forged = lottery.recent.filter((s: { block: unknown }) => s.block);
    expect(forged.length).toBeGreaterThan(0);
    for (const s of forged) {
      const b = (await (await fetch(`${url}/v1/blocks/${s.block.hash}`)).json()) as any;
      expect(addressFromPublicKey(Buffer.from(b.forger, "hex"))).toBe(s.winner);
    }
    await browser.screenshot(page, "home-1280");
    await page.close();
  });

  it("draws a new block within two slots, without a reload", async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector("#chain [data-block]");
    await page.evaluate("window.loadedOnce = true");
    const shown = await page.$$eval("#chain [data-block]", (els) =>
      Math.max(...els.map((el) => Number(el.getAttribute("data-height")))),
    );
    // The moment the node has a higher head (polled: this is later than the import itself).
    const head = await eventually(
      "a new head on node1",
      async () => {
        const s = await status(nodes[0]!);
        return s.height > shown && s;
      },
      10 * SLOT_MS,
    );
    const seenAt = Date.now();
    await page.waitForSelector(`#chain [data-block][data-height="${head.height}"]`, {
      timeout: 10 * SLOT_MS,
    });
    expect(Date.now() - seenAt).toBeLessThan(2 * SLOT_MS);
    expect(await page.evaluate("window.loadedOnce")).toBe(true);
    // Each block box names its parent, and the parent is drawn too (the chain is linked).
    const links = await page.$$eval("#chain [data-block][data-main=true]", (els) =>
      els.map((el) => ({ hash: el.getAttribute("data-hash"), prev: el.getAttribute("data-prev") })),
    );
    const hashes = new Set(links.map((l) => l.hash));
    expect(links.slice(1).every((l) => hashes.has(l.prev))).toBe(true);
    await page.close();
  });

  it("turns a submitted transaction from pending to included on its page", async () => {
    // Nonce 1 before nonce 0: the node holds it pending until the gap is filled.
    const later = tx(1);
    await submit(nodes[0]!, later);
    expect((await transaction(nodes[0]!, later.id))?.status).toBe("pending");
    const page = await browser.newPage();
    await page.goto(`${url}/tx/${later.id}`);
    await page.waitForSelector('[data-page="tx"][data-status="pending"]');
    await browser.screenshot(page, "tx-pending");
    await submit(nodes[0]!, tx(0));
    await page.waitForSelector('[data-page="tx"][data-status="included"]', { timeout: 20_000 });
    expect(await page.textContent("#tx-status")).toBe("included");
    await browser.screenshot(page, "tx-included");
    await page.close();
  });

  it("finds a block, a transaction and an address from the search box", async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    const search = async (q: string) => {
      await page.fill("#q", q);
      await page.press("#q", "Enter");
    };
    await search("2");
    await page.waitForURL(/\/block\/2$/);
    await page.waitForSelector('[data-page="block"]');
    expect(await page.textContent("h1")).toContain("#2");
    const block2 = await page.getAttribute('[data-page="block"]', "data-hash");

    await search(block2!);
    await page.waitForURL(new RegExp(`/block/${block2}$`));

    const history = await eventually(
      "alice's transactions indexed",
      async () => {
        const r = await fetch(`${url}/v1/accounts/${alice.address}/transactions`);
        const body = (await r.json()) as { transactions: { id: string; height: number }[] };
        return body.transactions.length >= 2 && body.transactions;
      },
      20_000,
    );
    await search(history[0]!.id);
    await page.waitForURL(new RegExp(`/tx/${history[0]!.id}$`));
    await page.waitForSelector('[data-page="tx"][data-status="included"]');

    await search(alice.address);
    await page.waitForURL(new RegExp(`/account/${alice.address}$`));
    await page.waitForSelector("[data-balance]");
    // Her transactions, newest first, each linking to its block.
    const rows = await page.$$eval("#history tbody tr", (trs) => trs.length);
    expect(rows).toBeGreaterThanOrEqual(2);
    await browser.screenshot(page, "account-1280");

    // The block page names the forger by address, and the link goes to its account.
    await page.goto(`${url}/block/${history[0]!.height}`);
    await page.waitForSelector('[data-page="block"]');
    const forgerLinks = await page.$$eval('[data-page="block"] a[href^="/account/"]', (as) =>
      as.map((a) => a.textContent),
    );
    expect(forgerLinks.some((t) => t === v1.address || t === v2.address)).toBe(true);
    await browser.screenshot(page, "block-1280");
    await page.close();
  });

  it("is usable 375 px wide: nothing wider than the screen, the views and search in reach", async () => {
    const page = await browser.newPage(375);
    await page.goto(`${url}/`);
    await page.waitForSelector("#network [data-node]");
    await page.waitForSelector("#chain [data-block]");
    await page.waitForSelector("#lottery [data-validator]");
    const overflow = await page.evaluate("document.documentElement.scrollWidth");
    expect(overflow).toBeLessThanOrEqual(375);
    for (const selector of ["#q", "#network svg", "#lottery table", "#chain"]) {
      const box = await page.locator(selector).boundingBox();
      expect(box, selector).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(375);
    }
    await browser.screenshot(page, "home-375");
    await page.goto(`${url}/account/${alice.address}`);
    await page.waitForSelector("[data-balance]");
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
    await browser.screenshot(page, "account-375");
    await page.close();
  });

  it("weighs under 300 KB gzipped and loads nothing from outside the node", async () => {
    const page = await browser.newPage();
    const sizes: { url: string; bytes: number }[] = [];
    const outside: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith("data:")) outside.push(r.url());
    });
    page.on("response", async (r) => {
      if (new URL(r.url()).pathname.startsWith("/v1/")) return;
      const length = Number(r.headers()["content-length"] ?? (await r.body()).length);
      sizes.push({ url: r.url(), bytes: length });
    });
    await page.goto(`${url}/`, { waitUntil: "networkidle" }).catch(() => undefined);
    await page.waitForSelector("#lottery [data-validator]");
    const total = sizes.reduce((sum, s) => sum + s.bytes, 0);
    console.log(
      `explorer page weight: ${(total / 1024).toFixed(1)} KB gzipped in ${sizes.length} files`,
    );
    expect(total).toBeLessThan(300 * 1024);
    expect(outside).toEqual([]);
    await page.close();
  });

  it("logged no console errors on any page", () => {
    expect(browser.errors).toEqual([]);
  });
});

describe.skipIf(!chromiumPath)("the explorer of a PoW network, in chromium", () => {
  const cluster = useClusters("all");
  let browser: Browser;
  let miner: ClusterNode;

  beforeAll(async () => {
    const key = testKey(75);
    const c = cluster(
      genesisJson({
        chainId: "lotchain-browser-pow",
        consensus: { type: "pow", targetBlockMs: 300, initialTarget: `003${"f".repeat(61)}` },
        blockReward: 10,
      }),
    );
    miner = await c.start("miner", { key });
    browser = await launchBrowser(chromiumPath!);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("charts block times and the target, and names the miner by address", async () => {
    await eventually("five mined blocks", async () => (await status(miner)).height >= 5, 60_000);
    const page = await browser.newPage();
    await page.goto(`${miner.apiUrl}/`);
    await page.waitForSelector("#lottery canvas");
    expect(await page.textContent("#lottery-title")).toMatch(/Mining/);
    expect(await page.textContent("#pow-summary")).toMatch(/Target of #\d+/);
    await page.waitForSelector("#chain [data-block]");
    const boxes = await page.$$eval("#chain [data-block]", (els) =>
      els.map((el) => el.textContent),
    );
    expect(boxes.length).toBeGreaterThanOrEqual(5);
    // Each mined block names its miner by address.
    const miners = boxes.filter((text) => /lc1/.test(text ?? ""));
    expect(miners.length).toBeGreaterThanOrEqual(4);
    await browser.screenshot(page, "pow-1280");
    expect(browser.errors).toEqual([]);
    await page.close();
  });
});

describe.skipIf(!chromiumPath)("side branches and reorganisations, in chromium", () => {
  let browser: Browser;
  let t: TestNode;
  const genesis = testGenesis("pos");
  const model = new BlockTreeModel(genesis);

  beforeAll(async () => {
    // A node without a key or peers: every block comes from this test, so forks are certain.
    t = await startTestNode({ genesis: genesisToJson(genesis) });
    browser = await launchBrowser(chromiumPath!);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("draws a losing branch beside the main chain, then the reorganisation when it wins", async () => {
    const [a1, a2, a3] = model.extend(model.genesisBlock, 3);
    for (const b of [a1!, a2!, a3!]) await t.node.chain.importBlock(b);
    const b2 = model.child(a1!, [], { minSlot: 50 });
    expect((await t.node.chain.importBlock(b2)).status).toBe("side");

    const page = await browser.newPage();
    await page.goto(`${t.url}/`);
    const side = await page.waitForSelector(`#chain [data-block][data-hash="${b2.hashHex}"]`);
    expect(await side.getAttribute("data-main")).toBe("false");
    expect(await side.getAttribute("data-prev")).toBe(a1!.hashHex);
    expect(await side.getAttribute("class")).toMatch(/\bside\b/);
    await browser.screenshot(page, "side-branch");

    // The branch grows past the main chain: the node reorganises, the page says so live.
    const [b3, b4] = model.extend(b2, 2);
    await t.node.chain.importBlock(b3!);
    await t.node.chain.importBlock(b4!);
    await page.waitForSelector("#reorgs li");
    expect(await page.textContent("#reorgs li")).toMatch(/reorganisation of depth 2/);
    await page.waitForSelector(
      `#chain [data-block][data-hash="${a3!.hashHex}"][data-main="false"]`,
    );
    await page.waitForSelector(`#chain [data-block][data-hash="${b4!.hashHex}"][data-main="true"]`);
    await browser.screenshot(page, "reorg");
    expect(browser.errors).toEqual([]);
    await page.close();
  });
});
