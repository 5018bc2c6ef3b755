import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson } from "../helpers/node-process.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

const forger = testKey(71);
const alice = testKey(72);
const bob = testKey(73);

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({
    genesis: posGenesis({ validator: forger, alloc: { [alice.address]: "1000" } }),
    key: forger,
  });
});
afterAll(async () => {
  await t?.close();
});

describe("GET /v1/events?types=", () => {
  it("keeps the stream to the events asked for", async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.url}/v1/events?types=block,reorg`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const tx = transactionToJson(
      makeTx(alice, { chainId: "lotchain-apitest", to: bob.address, nonce: 0 }),
    );
    let text = "";
    const reading = (async () => {
      while (!text.includes(tx.id)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    expect((await postJson(`${t.url}/v1/transactions`, tx)).status).toBe(202);
    try {
      await reading;
    } finally {
      controller.abort();
    }
    expect(text).toMatch(/event: block\n/);
    expect(text).not.toMatch(/event: transaction\n/);
  });

  it("refuses an event type it does not have with a 400", async () => {
    const r = await getJson(`${t.url}/v1/events?types=block,blocks`);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("BadRequest");
  });
});
