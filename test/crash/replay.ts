import type { EpochLink, ValidatorSet } from "../../src/consensus/engine.js";
import {
  buildValidatorSet,
  childEpochLink,
  createEngine,
  randomnessOutput,
  sameEpochLink,
  slotWinner,
} from "../../src/consensus/index.js";
import { toHex } from "../../src/core/bytes.js";
import {
  type Genesis,
  genesisAccounts,
  genesisBlock,
  genesisSupply,
  ledgerParams,
} from "../../src/core/genesis.js";
import { type Address, addressFromPublicKey, parseAddress } from "../../src/core/keys.js";
import { smtRootOf } from "../../src/core/smt.js";
import {
  type Account,
  accountsEqual,
  applyBlockTransactions,
  encodeAccount,
  stateKey,
  totalStake,
  totalSupply,
} from "../../src/core/state.js";
import { decodeValidators, type StoredEpochLink } from "../../src/store/codec.js";
import { ChainStore } from "../../src/store/store.js";

function sameLink(stored: StoredEpochLink | undefined, link: EpochLink): boolean {
  return stored !== undefined && sameEpochLink(stored, link);
}

export interface ReplayReport {
  height: number;
  headHash: string;
  mainTransactions: number;
  sideBlocks: number;
  /** Validator sets stored (each one pointed to by at least one snapshot record). */
  validatorSets: number;
}

function fail(message: string): never {
  throw new Error(`store check failed: ${message}`);
}

function sameValidators(a: ValidatorSet, b: ValidatorSet): boolean {
  return (
    a.total === b.total &&
    a.entries.length === b.entries.length &&
    a.entries.every(
      (e, i) => e.address === b.entries[i]!.address && e.stake === b.entries[i]!.stake,
    )
  );
}

/** The state tree of a set of accounts, built from nothing. */
function treeOf(accounts: Map<Address, Account>) {
  return smtRootOf(
    [...accounts].map(([address, account]) => ({
      key: stateKey(address),
      value: encodeAccount(account),
    })),
  );
}

function sameAccount(a: Account | null | undefined, b: Account | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return accountsEqual(a, b);
}

/**
 * Checks a closed data directory against a replay of its own main chain from genesis, with the
 * core state transition alone (none of the chain's code): every main-chain block present and
 * linked, its transactions indexed to it (by id and in the histories of their senders and
 * receivers) and nothing else indexed, its undo data equal to what
 * the replay says it touched, no undo data off the main chain, every stored block with its info
 * and the other way round, and the stored accounts and minted counter equal to the replay's.
 * Under PoS it also replays the epochs with the engine's functions: every main-chain block's
 * stored epoch link equals the one derived from its parent's and its VRF output, the validators
 * recorded for each block that closed an epoch equal the replayed state after it, and each
 * block's forger won its slot over its epoch's snapshot. Any half-applied batch breaks one of
 * these.
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
    const engine = createEngine(genesis);
    const accounts = genesisAccounts(genesis);
    let parentLink: EpochLink | undefined = engine.genesisLink(g);
    let parentHeader = g.header;
    if (parentLink && !sameLink(store.blockInfo(g.hashHex)?.link, parentLink))
      fail("the genesis epoch link differs");
    // The replayed validators of every block that closed an epoch (a possible snapshot).
    const snapshots = new Map<string, ValidatorSet>([[g.hashHex, buildValidatorSet(accounts)]]);
    const reader = { getAccount: (a: Address) => accounts.get(a) };
    let minted = 0n;
    let burned = 0n;
    // The state trees of the main chain from the finalized height up are kept, and nothing else.
    const keptFrom = Math.max(0, headInfo.height - engine.finalityDepth);
    const keptNodes = new Set<string>();
    let parentHash = g.hashHex;
    let mainTransactions = 0;
    const mainHashes = new Set<string>([g.hashHex]);
    /** Each address's main-chain transactions as "height:index", oldest first. */
    const histories = new Map<Address, string[]>();
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
        for (const address of new Set([tx.sender, tx.receiver])) {
          const list = histories.get(address) ?? [];
          list.push(`${height}:${index}`);
          histories.set(address, list);
        }
      });
      mainTransactions += block.transactions.length;
      const slot = engine.productionSlot(block.header);
      if (slot !== undefined && block.header.seal.type === "pos") {
        const epoch = engine.epochContext(
          { header: parentHeader, hash: block.header.previousHash, link: parentLink },
          slot,
        )!;
        if (epoch.startsEpoch) {
          const replayed = buildValidatorSet(accounts);
          snapshots.set(parentHash, replayed);
          const id =
            store.snapshotSetId(parentHash) ?? fail(`no validators recorded for ${parentHash}`);
          const bytes = store.validatorSetBytes(id) ?? fail(`validator set ${toHex(id)} missing`);
          const recorded = buildValidatorSet(
            decodeValidators(bytes).map((v) => [v.address, v.stake] as const),
          );
          if (!sameValidators(recorded, replayed))
            fail(`validators recorded after block ${height - 1} differ from the replay`);
        }
        const validators =
          snapshots.get(toHex(epoch.snapshot)) ?? fail(`snapshot of block ${height} not replayed`);
        if (slotWinner(validators, epoch.nonce, slot) !== addressFromPublicKey(block.header.forger))
          fail(`block ${height} was not forged by its slot's winner`);
        const output =
          randomnessOutput(block.header.seal.vrfProof) ?? fail(`randomness of ${height}`);
        const link = childEpochLink(epoch, output);
        if (!sameLink(info.link, link))
          fail(`epoch link of block ${height} differs from the replay`);
        parentLink = link;
      }
      parentHeader = block.header;
      const stake = totalStake(accounts.values());
      // Signatures do not change the state; the chain verified them when it imported the block.
      const effects = applyBlockTransactions(
        reader,
        block,
        {
          forger: block.header.forger,
          slot,
          totals: { totalStake: stake, supply: genesisSupply(genesis) + minted - burned },
        },
        params,
        () => true,
      );
      const undo = store.undo(hash) ?? fail(`main-chain block ${height} has no undo data`);
      if (undo.minted !== effects.minted) fail(`undo of block ${height}: minted differs`);
      if (undo.burned !== effects.burned) fail(`undo of block ${height}: burned differs`);
      if (undo.accounts.length !== effects.undo.size) fail(`undo of block ${height}: size differs`);
      for (const [address, before] of undo.accounts)
        if (!sameAccount(before, effects.undo.get(address)))
          fail(`undo of block ${height}: account ${address} differs`);
      for (const [address, account] of effects.changes) accounts.set(address, account);
      minted += effects.minted;
      burned += effects.burned;
      parentHash = hash;
      // The header commits to the state after the block: rebuilt here from nothing.
      const tree = treeOf(accounts);
      if (toHex(tree.root) !== toHex(block.header.stateRoot))
        fail(`block ${height}'s stateRoot is not the root of the replayed state`);
      if (height >= keptFrom) for (const hex of tree.nodes.keys()) keptNodes.add(hex);
    }
    if (keptFrom === 0)
      for (const hex of treeOf(genesisAccounts(genesis)).nodes.keys()) keptNodes.add(hex);
    if (parentHash !== headHash) fail("the main chain does not end at the head");

    const stored = await store.loadAccounts();
    if (stored.size !== accounts.size)
      fail(`${stored.size} accounts stored, replay has ${accounts.size}`);
    for (const [address, account] of accounts)
      if (!sameAccount(stored.get(address), account))
        fail(`account ${address} differs from the replay`);
    if (store.minted() !== minted) fail(`minted counter ${store.minted()}, replay ${minted}`);
    if (store.burned() !== burned) fail(`burned counter ${store.burned()}, replay ${burned}`);
    if (totalSupply(accounts.values()) !== genesisSupply(genesis) + minted - burned)
      fail("the replayed supply is not genesis plus minted less burned");

    const storedNodes = await store.hashesOf("stateNode");
    const extra = storedNodes.filter((h) => !keptNodes.has(h));
    const missing = [...keptNodes].filter((h) => !storedNodes.includes(h));
    if (extra.length > 0)
      fail(`${extra.length} state tree nodes stored that no kept tree holds (not pruned)`);
    if (missing.length > 0) fail(`${missing.length} state tree nodes of kept trees are missing`);
    for (const hash of await store.hashesOf("stateJournal")) {
      const info = store.blockInfo(hash);
      if (!info || store.mainHash(info.height) !== hash || info.height <= keptFrom)
        fail(`a state journal is kept for ${hash}, which is not a main-chain block above finality`);
    }

    const indexed = await store.hashesOf("tx");
    if (indexed.length !== mainTransactions)
      fail(`${indexed.length} transactions indexed, the main chain has ${mainTransactions}`);
    let historyEntries = 0;
    for (const [address, expected] of histories) {
      historyEntries += expected.length;
      const found = await store.accountHistory(parseAddress(address), expected.length + 1);
      if (found.map((p) => `${p.height}:${p.index}`).join() !== expected.reverse().join())
        fail(`the transaction history of ${address} differs from the main chain`);
    }
    if ((await store.tableSize("accountTx")) !== historyEntries)
      fail("account histories hold transactions off the main chain");
    const undos = await store.hashesOf("undo");
    if (undos.length !== mainHashes.size - 1 || undos.some((h) => !mainHashes.has(h)))
      fail("undo data exists off the main chain");
    const blocks = new Set(await store.hashesOf("block"));
    const infos = await store.hashesOf("info");
    if (infos.length !== blocks.size || infos.some((h) => !blocks.has(h)))
      fail("stored blocks and block infos differ");
    // Side branches are pruned once they fall below finality (chain-import.ts).
    for (const hash of blocks) {
      if (mainHashes.has(hash)) continue;
      const info = store.blockInfo(hash);
      if (info && info.height <= keptFrom)
        fail(`side block ${hash} at height ${info.height} is kept below finality (${keptFrom})`);
      if (info && !blocks.has(toHex(info.parentHash)))
        fail(`side block ${hash} is stored without its parent`);
    }
    if ((await store.tableSize("child")) !== blocks.size)
      fail("links from parents to children (genesis: from zero) differ from the stored blocks");
    if (genesis.consensus.type === "pos" && (await store.tableSize("forged")) !== blocks.size - 1)
      fail("the slot-and-forger index differs from the stored blocks");
    const referenced = new Set<string>();
    for (const hash of await store.hashesOf("snapshot")) {
      if (!blocks.has(hash)) fail(`validators recorded for ${hash}, which is not stored`);
      const id = store.snapshotSetId(hash)!;
      if (!store.validatorSetBytes(id)) fail(`validator set ${toHex(id)} of ${hash} is missing`);
      referenced.add(toHex(id));
    }
    const validatorSets = await store.hashesOf("validators");
    for (const id of validatorSets)
      if (!referenced.has(id)) fail(`validator set ${id} is stored, but no snapshot points to it`);
    return {
      height: headInfo.height,
      headHash,
      mainTransactions,
      sideBlocks: blocks.size - mainHashes.size,
      validatorSets: validatorSets.length,
    };
  } finally {
    await store.close();
  }
}
