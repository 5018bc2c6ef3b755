import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sealBlock } from "../../src/core/block.js";
import { toHex } from "../../src/core/bytes.js";
import {
  decodeBlockInfo,
  decodeUndo,
  decodeValidators,
  encodeBigUint,
  encodeBlockInfo,
  encodeUndo,
  encodeValidators,
} from "../../src/store/codec.js";
import { heightKey, prefixRange } from "../../src/store/keys.js";
import { ChainStore } from "../../src/store/store.js";
import { makeTx, TEST_CHAIN, testKey } from "../helpers/ledger.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lotchain-store-"));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const alice = testKey(1);
const bob = testKey(2);

function testBlock(height: number, parent: Uint8Array, txCount = 2) {
  const txs = Array.from({ length: txCount }, (_, i) =>
    makeTx(alice, { to: bob.address, nonce: height * 100 + i }),
  );
  return sealBlock(
    {
      chainId: TEST_CHAIN,
      height,
      previousHash: parent,
      timestamp: 1_735_689_600_000 + height,
      forger: alice.publicKey,
      stateRoot: new Uint8Array(32).fill(height),
      seal: { type: "pos", slot: height, vrfProof: new Uint8Array(80).fill(height) },
    },
    txs,
    alice.privateKey,
  );
}

describe("key layout", () => {
  it("sorts heights numerically", () => {
    const keys = [0, 1, 255, 256, 70_000, 2 ** 40].map((h) => Buffer.from(heightKey(h)));
    const sorted = [...keys].sort(Buffer.compare);
    expect(sorted).toEqual(keys);
  });

  it("prefix ranges carry over 0xff", () => {
    expect([...prefixRange(Uint8Array.of(0x43, 0x01, 0xff, 0xff)).lt]).toEqual([0x43, 0x02, 0, 0]);
    expect([...prefixRange(Uint8Array.of(0x41)).lt]).toEqual([0x42]);
  });
});

describe("value codecs", () => {
  it("round-trip block info with a score beyond 64 bits", () => {
    const info = {
      height: 7,
      parentHash: new Uint8Array(32).fill(9),
      score: (1n << 200n) + 5n,
      validity: "invalid" as const,
    };
    expect(decodeBlockInfo(encodeBlockInfo(info))).toEqual(info);
    expect(encodeBigUint(0n)).toEqual(new Uint8Array(0));
  });

  it("round-trip block info with a PoS epoch link, and validator sets", () => {
    const info = {
      height: 3,
      parentHash: new Uint8Array(32).fill(2),
      score: 3n,
      validity: "unknown" as const,
      link: {
        nonce: new Uint8Array(32).fill(4),
        accumulator: new Uint8Array(32).fill(5),
        snapshot: new Uint8Array(32).fill(6),
        lastBeforeEpoch: new Uint8Array(32).fill(7),
      },
    };
    expect(decodeBlockInfo(encodeBlockInfo(info))).toEqual(info);
    const set = [
      { address: alice.address, stake: (1n << 64n) - 1n },
      { address: bob.address, stake: 1n },
    ];
    expect(decodeValidators(encodeValidators(set))).toEqual(set);
  });

  it("round-trip undo data with absent accounts", () => {
    const undo = {
      accounts: [
        [alice.address, { balance: (1n << 64n) - 1n, stake: 3n, nonce: 4 }],
        [bob.address, null],
      ] as [string, { balance: bigint; stake: bigint; nonce: number } | null][],
      minted: 12n,
      burned: 5n,
    };
    expect(decodeUndo(encodeUndo(undo))).toEqual(undo);
  });

  it("reports damaged values as store corruption", () => {
    expect(() => decodeBlockInfo(Uint8Array.of(0xff))).toThrow(/stored block info/);
  });
});

describe("ChainStore", () => {
  it("writes a batch and reads everything back after reopening", async () => {
    const dir = await tempDir();
    const genesisHash = new Uint8Array(32).fill(1);
    const b1 = testBlock(1, genesisHash);
    const b2 = testBlock(2, b1.hash);
    const side = testBlock(2, b1.hash, 1);

    let store = await ChainStore.open(dir);
    expect(store.version()).toBeUndefined();
    const batch = store
      .batch()
      .setGenesis(genesisHash, 1)
      .setMinted(42n)
      .setAccount(alice.address, { balance: 5n, stake: 1n, nonce: 2 })
      .setAccount(bob.address, { balance: 7n, stake: 0n, nonce: 0 });
    for (const [block, height] of [
      [b1, 1],
      [b2, 2],
    ] as const) {
      batch
        .putBlock(block, {
          height,
          parentHash: block.header.previousHash,
          score: BigInt(height),
          validity: "valid",
        })
        .setMainHash(height, block.hash)
        .indexTransactions(block)
        .putUndo(block.hash, { accounts: [[alice.address, null]], minted: 1n, burned: 0n });
    }
    batch.putBlock(side, { height: 2, parentHash: b1.hash, score: 2n, validity: "unknown" });
    batch.setHead(b2.hash);
    const setId = new Uint8Array(32).fill(8);
    batch
      .putSnapshot(b1.hashHex, setId)
      .putSnapshot(b2.hashHex, setId)
      .putValidatorSet(setId, encodeValidators([{ address: alice.address, stake: 1n }]))
      .indexForged(2, alice.publicKey, b2.hash)
      .indexForged(2, alice.publicKey, side.hash)
      .indexForged(3, alice.publicKey, b1.hash);
    await batch.write();
    await store.close();

    store = await ChainStore.open(dir);
    expect(store.version()).toBe(1);
    expect(store.genesisHash()).toBe(toHex(genesisHash));
    expect(store.headHash()).toBe(b2.hashHex);
    expect(store.minted()).toBe(42n);
    expect(store.block(b2.hashHex)?.encoded).toEqual(b2.encoded);
    expect((await store.readBlock(b1.hashHex))?.hashHex).toBe(b1.hashHex);
    expect(store.blockInfo(side.hashHex)?.validity).toBe("unknown");
    expect(store.mainHash(1)).toBe(b1.hashHex);
    expect(await store.mainHashes(1, 10)).toEqual([b1.hashHex, b2.hashHex]);
    expect(await store.mainHashes(2, 1)).toEqual([b2.hashHex]);
    expect((await store.children(b1.hashHex)).sort()).toEqual([b2.hashHex, side.hashHex].sort());
    expect(store.txLocation(b2.transactions[1]!.id)).toEqual({ blockHash: b2.hashHex, index: 1 });
    expect(store.undo(b1.hashHex)).toEqual({
      accounts: [[alice.address, null]],
      minted: 1n,
      burned: 0n,
    });
    const accounts = await store.loadAccounts();
    expect(accounts.get(alice.address)).toEqual({ balance: 5n, stake: 1n, nonce: 2 });
    expect(accounts.size).toBe(2);
    // Two blocks point to one stored set; blocks are indexed by slot and forger.
    expect(toHex(store.snapshotSetId(b2.hashHex)!)).toBe(toHex(setId));
    expect(decodeValidators(store.validatorSetBytes(setId)!)).toEqual([
      { address: alice.address, stake: 1n },
    ]);
    expect(store.snapshotSetId(side.hashHex)).toBeUndefined();
    expect((await store.hashesOf("snapshot")).sort()).toEqual([b1.hashHex, b2.hashHex].sort());
    expect(await store.countForged(2, alice.publicKey, 5)).toBe(2);
    expect(await store.countForged(2, alice.publicKey, 1)).toBe(1);
    expect(await store.countForged(2, bob.publicKey, 5)).toBe(0);
    expect(await store.countForged(1, alice.publicKey, 5)).toBe(0);

    // Unindexing and deleting reverse the writes.
    await store
      .batch()
      .unindexTransactions(b2)
      .deleteUndo(b2.hash)
      .deleteMainHash(2)
      .setAccount(bob.address, null)
      .write();
    expect(store.txLocation(b2.transactions[0]!.id)).toBeUndefined();
    expect(store.undo(b2.hashHex)).toBeUndefined();
    expect(store.mainHash(2)).toBeUndefined();
    expect((await store.loadAccounts()).has(bob.address)).toBe(false);
    await store.close();
  });

  it("refuses a second opener of the same directory with a clear error", async () => {
    const dir = await tempDir();
    const store = await ChainStore.open(dir);
    await expect(ChainStore.open(dir)).rejects.toThrow(/cannot open the store/);
    await store.close();
  });
});
