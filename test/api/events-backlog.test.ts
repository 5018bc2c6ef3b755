import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Block } from "../../src/core/block.js";
import { testKey } from "../helpers/ledger.js";
import { waitFor } from "../helpers/node-process.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

/**
 * The event streams' backlog limit (ApiLimits.eventBufferBytes): a client is judged by what it
 * left unread before a turn of the node's event loop, not by the frames that turn writes. A
 * reorganisation applies its blocks in one turn; a client reading as fast as it can had been
 * dropped once those frames alone passed the limit (the network benchmark's block tap lost a node
 * at a reorg of blocks of a thousand transactions, and counted nothing after). A client that does
 * not read is still dropped.
 */
const LIMIT = 64 * 1024;
/** Frames emitted in one turn: far more than the limit and the sockets' kernel buffers. */
const FRAMES_IN_ONE_TURN = 20_000;

let t: TestNode;
let block: Block;
beforeAll(async () => {
  t = await startTestNode({
    genesis: posGenesis({ validator: testKey(81) }),
    apiLimits: { eventBufferBytes: LIMIT, maxEventStreams: 2 },
  });
  block = (await t.node.chain.getBlock("genesis"))!;
});
afterAll(async () => {
  await t?.close();
});

/** Opens a stream on a raw socket; resolves once its head arrived. Reads only if `read`. */
function openStream(read: boolean): Promise<{ socket: Socket; received: () => string }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(t.url);
    const socket = connect(Number(port), "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("error", () => undefined);
    socket.on("connect", () =>
      socket.write("GET /v1/events?types=block HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    );
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("lotchain events")) {
        if (!read) socket.pause();
        resolve({ socket, received: () => text });
      }
    });
    socket.once("close", () => reject(new Error("closed before its head")));
  });
}

const count = (text: string) => text.split("event: block\n").length - 1;

/** A third stream's status: 429 while both slots (maxEventStreams 2) are held. */
async function thirdStreamStatus(): Promise<number> {
  const controller = new AbortController();
  const res = await fetch(`${t.url}/v1/events?types=block`, { signal: controller.signal });
  controller.abort();
  return res.status;
}

describe("event stream backlog", () => {
  it("keeps a reading client through one turn's frames past the limit, and drops one that does not read", async () => {
    const reader = await openStream(true);
    const idle = await openStream(false);
    expect(await thirdStreamStatus()).toBe(429);

    // One turn: every frame is written before either client can read one.
    for (let i = 0; i < FRAMES_IN_ONE_TURN; i++) t.node.events.emit("block", block);
    await waitFor(
      async () => count(reader.received()) === FRAMES_IN_ONE_TURN,
      30_000,
      "every frame of the turn at the reading client",
    );

    // Later turns: the reader gets each; the idle one, with the first turn's frames still
    // unread, is dropped, and its slot is free again.
    for (let turn = 0; turn < 3; turn++) {
      t.node.events.emit("block", block);
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(
      async () => count(reader.received()) === FRAMES_IN_ONE_TURN + 3,
      30_000,
      "the later turns' frames at the reading client",
    );
    await waitFor(
      async () => (await thirdStreamStatus()) === 200,
      30_000,
      "the idle client's slot to be free",
    );
    expect(reader.socket.destroyed).toBe(false);
    reader.socket.destroy();
    idle.socket.destroy();
  }, 120_000);
});
