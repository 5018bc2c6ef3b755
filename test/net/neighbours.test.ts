import { describe, expect, it } from "vitest";
import { encodeCanonical } from "../../src/core/encoding.js";
import {
  decodeNeighbours,
  encodeNeighbours,
  encodeNeighboursRequest,
  MAX_NEIGHBOURS,
  NeighbourBook,
  onNeighbours,
} from "../../src/net/neighbours.js";
import { SYNC_PENALTY } from "../../src/net/protocols.js";
import { ResponseError } from "../../src/net/req-resp.js";
import { codeOf } from "../helpers/ledger.js";

const PEER = "12D3KooWSCDnLTej4JDJnQsGaXdNn1e3wKNVQ66fgXLPSYCkCjib";
const HASH = "ab".repeat(32);

describe("the neighbours protocol", () => {
  it("round-trips a report", () => {
    const report = [{ peerId: PEER, height: 7, headHash: HASH }];
    expect(decodeNeighbours(encodeNeighbours(report))).toEqual(report);
    expect(decodeNeighbours(encodeNeighbours([]))).toEqual([]);
  });

  it.each([
    ["not an array", encodeCanonical("x")],
    [
      "too many entries",
      encodeCanonical(Array(MAX_NEIGHBOURS + 1).fill([PEER, 1, Buffer.alloc(32)])),
    ],
    ["an entry of two items", encodeCanonical([[PEER, 1]])],
    ["not a peer id", encodeCanonical([["not-a-peer", 1, Buffer.alloc(32)]])],
    ["a negative height", encodeCanonical([[PEER, -1, Buffer.alloc(32)]])],
    ["a short hash", encodeCanonical([[PEER, 1, Buffer.alloc(31)]])],
    ["not CBOR", Uint8Array.of(0xff, 0x00)],
  ])("refuses a response with %s", (_why, bytes) => {
    expect(codeOf(() => decodeNeighbours(bytes))).toBe("Malformed");
  });

  it("answers [] with the connected peers and refuses any other request", () => {
    const answer = onNeighbours(encodeNeighboursRequest(), () => [
      { peerId: PEER, height: 3, headHash: HASH },
    ]);
    expect(decodeNeighbours(answer)).toEqual([{ peerId: PEER, height: 3, headHash: HASH }]);
    expect(() => onNeighbours(encodeCanonical([1]), () => [])).toThrow(ResponseError);
    expect(() => onNeighbours(Uint8Array.of(0xff), () => [])).toThrow(ResponseError);
  });

  it("keeps each peer's report, asks again only when old, and penalises a bad answer", async () => {
    let now = 0;
    let asked = 0;
    const penalties: [string, number][] = [];
    const OTHER = "12D3KooWE57ekYg6dn6EYhq8erN6uxfv9JxUyUV8vsHDFG3uvLui";
    const book = new NeighbourBook({
      peers: () => [PEER, OTHER],
      request: async (peerId) => {
        asked++;
        if (peerId === OTHER) return Uint8Array.of(0xff);
        return encodeNeighbours([{ peerId: OTHER, height: 2, headHash: HASH }]);
      },
      penalize: (peerId, points) => penalties.push([peerId, points]),
      now: () => now,
    });
    expect(await book.reports()).toEqual([
      { peerId: PEER, neighbours: [{ peerId: OTHER, height: 2, headHash: HASH }] },
    ]);
    expect(penalties).toEqual([[OTHER, SYNC_PENALTY.badResponse]]);
    await book.reports();
    expect(asked).toBe(2);
    now += 10_000;
    await book.reports();
    expect(asked).toBe(4);
    book.forget(PEER);
    now += 1;
    expect(await book.reports()).toEqual([]);
  });
});
