import {
  type Genesis,
  genesisAccounts,
  genesisBlock,
  ledgerParams,
} from "../../src/core/genesis.js";
import type { Address } from "../../src/core/keys.js";
import { type Account, applyBlockTransactions, totalStake } from "../../src/core/state.js";
import { ChainStore } from "../../src/store/store.js";

export interface ReplayReport {
  height: number;
  headHash: string;
  mainTransactions: number;
  sideBlocks: number;
}

function fail(message: string): never {
  throw new Error(`store check failed: ${message}`);
}

function sameAccount(a: Account | null | undefined, b: Account | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.balance === b.balance && a.stake === b.stake && a.nonce === b.nonce;
}

/**
 * Checks a closed data directory against a replay of its own main chain from genesis, with the
 * core state transition alone (none of the chain's code): every main-chain block present and
 * linked, its transactions indexed to it and nothing else indexed, its undo data equal to what
 * the replay says it touched, no undo data off the main chain, every stored block with its info
 * and the other way round, and the stored accounts and minted counter equal to the replay's.
 * Any half-applied batch breaks one of these.
 */
export async function checkStoreByReplay(dataDir: string, genesis: Genesis): Promise<ReplayReport> {
  const store = await ChainStore.open(dataDir);
  try {
    const g = genesisBlock(genesis);
    if (store.genesisHash() !== g.hashHex) fail("genesis hash differs");
    const headHash = store.headHash() ?? fail("no head");
    const headInfo = store.blockInfo(headHash) ?? fail("head has no info");
    if (store.mainHash(headInfo.height + 1) !== undefined) fail("main chain runs past the head");

    const params = ledgerParams(genesis);
    const accounts = genesisAccounts(genesis);
    const reader = { getAccount: (a: Address) => accounts.get(a) };
    let minted = 0n;
    let parentHash = g.hashHex;
    let mainTransactions = 0;
    const mainHashes = new Set<string>([g.hashHex]);
    if (store.mainHash(0) !== g.hashHex) fail("height 0 is not the genesis block");
    for (let height = 1; height <= headInfo.height; height++) {
      const hash = store.mainHash(height) ?? fail(`no main-chain hash at ${height}`);
      mainHashes.add(hash);
      const block = store.block(hash) ?? fail(`main-chain block ${height} missing`);
      const info = store.blockInfo(hash) ?? fail(`main-chain block ${height} has no info`);
      if (info.validity !== "valid") fail(`main-chain block ${height} is ${info.validity}`);
      if (info.height !== height || block.header.height !== height)
        fail(`height ${height} mislabelled`);
      if (Buffer.from(block.header.previousHash).toString("hex") !== parentHash)
        fail(`block ${height} does not link to its parent`);
      block.transactions.forEach((tx, index) => {
        const loc = store.txLocation(tx.id);
        if (loc?.blockHash !== hash || loc.index !== index)
          fail(`transaction ${tx.id} of block ${height} is not indexed to it`);
      });
      mainTransactions += block.transactions.length;
      const stake = totalStake(accounts.values());
      // Signatures do not change the state; the chain verified them when it imported the block.
      const effects = applyBlockTransactions(
        reader,
        block.transactions,
        block.header.forger,
        params,
        stake,
        () => true,
      );
      const undo = store.undo(hash) ?? fail(`main-chain block ${height} has no undo data`);
      if (undo.minted !== effects.minted) fail(`undo of block ${height}: minted differs`);
      if (undo.accounts.length !== effects.undo.size) fail(`undo of block ${height}: size differs`);
      for (const [address, before] of undo.accounts)
        if (!sameAccount(before, effects.undo.get(address)))
          fail(`undo of block ${height}: account ${address} differs`);
      for (const [address, account] of effects.changes) accounts.set(address, account);
      minted += effects.minted;
      parentHash = hash;
    }
    if (parentHash !== headHash) fail("the main chain does not end at the head");

    const stored = await store.loadAccounts();
    if (stored.size !== accounts.size)
      fail(`${stored.size} accounts stored, replay has ${accounts.size}`);
    for (const [address, account] of accounts)
      if (!sameAccount(stored.get(address), account))
        fail(`account ${address} differs from the replay`);
    if (store.minted() !== minted) fail(`minted counter ${store.minted()}, replay ${minted}`);

    const indexed = await store.hashesOf("tx");
    if (indexed.length !== mainTransactions)
      fail(`${indexed.length} transactions indexed, the main chain has ${mainTransactions}`);
    const undos = await store.hashesOf("undo");
    if (undos.length !== mainHashes.size - 1 || undos.some((h) => !mainHashes.has(h)))
      fail("undo data exists off the main chain");
    const blocks = new Set(await store.hashesOf("block"));
    const infos = await store.hashesOf("info");
    if (infos.length !== blocks.size || infos.some((h) => !blocks.has(h)))
      fail("stored blocks and block infos differ");
    return {
      height: headInfo.height,
      headHash,
      mainTransactions,
      sideBlocks: blocks.size - mainHashes.size,
    };
  } finally {
    await store.close();
  }
}
