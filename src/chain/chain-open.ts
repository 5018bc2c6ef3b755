import type { Engine } from "../consensus/engine.js";
import { buildValidatorSet } from "../consensus/validators.js";
import type { Block } from "../core/block.js";
import { equalBytes, toHex } from "../core/bytes.js";
import { reject } from "../core/errors.js";
import {
  type Genesis,
  genesisAccounts,
  genesisBlock,
  genesisState,
  genesisSupply,
} from "../core/genesis.js";
import { EMPTY_HASH, encodeSmtNode } from "../core/smt.js";
import { totalStake, totalSupply } from "../core/state.js";
import { StoreCorruptError } from "../store/codec.js";
import { ChainStore, STORE_VERSION, type StoreOptions } from "../store/store.js";
import { HeadState } from "./account-state.js";
import type { ChainHead } from "./chain-events.js";
import { SnapshotBook } from "./snapshots.js";

export interface OpenedChainStore {
  store: ChainStore;
  state: HeadState;
  head: ChainHead;
  headBlock: Block;
  genesis: Block;
}

/**
 * Opens the data directory: a new store gets the genesis block and state in one batch; an
 * existing one must belong to this genesis and pass the integrity checks, and its head state is
 * loaded into memory. The store is closed again when anything fails.
 */
export async function openChainStore(
  dataDir: string,
  genesis: Genesis,
  engine: Engine,
  options: StoreOptions,
): Promise<OpenedChainStore> {
  const store = await ChainStore.open(dataDir, options);
  try {
    const block = genesisBlock(genesis);
    if (store.version() === undefined) await initialize(store, genesis, engine, block);
    return { ...(await recover(store, genesis, block)), store, genesis: block };
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function initialize(store: ChainStore, genesis: Genesis, engine: Engine, block: Block) {
  const link = engine.genesisLink(block);
  const accounts = genesisAccounts(genesis);
  const batch = store
    .batch()
    .setGenesis(block.hash, STORE_VERSION)
    .putBlock(block, {
      height: 0,
      parentHash: block.header.previousHash,
      // Every chain shares the genesis block, so its own weight never decides anything.
      score: 0n,
      validity: "valid",
      link,
    })
    .setMainHash(0, block.hash)
    .setHead(block.hash)
    .setMinted(0n)
    .setBurned(0n);
  for (const [address, account] of accounts) batch.setAccount(address, account);
  // The genesis state's tree; block 1, once final, hands back the nodes it dropped from it.
  for (const [hash, node] of genesisState(genesis).nodes)
    batch.putStateNode(hash, encodeSmtNode(node), 1);
  // The genesis state is the snapshot of the first epochs (PoS).
  if (link)
    new SnapshotBook(store).write(
      batch,
      new Map([[toHex(link.snapshot), buildValidatorSet(accounts)]]),
    );
  await batch.write();
}

async function recover(store: ChainStore, genesis: Genesis, genesisBlock: Block) {
  const where = `the store in ${store.location}`;
  const version = store.version();
  if (version !== STORE_VERSION)
    throw new StoreCorruptError(
      `${where} has layout version ${version}; this node reads ${STORE_VERSION}`,
    );
  const storedGenesis = store.genesisHash();
  if (storedGenesis !== genesisBlock.hashHex)
    reject(
      "GenesisMismatch",
      `${where} was created for genesis ${storedGenesis}, but this node runs genesis ${genesisBlock.hashHex} ` +
        `(chain ${genesis.chainId}); use another data directory or the genesis file the store was made with`,
    );
  const headHash = store.headHash();
  if (!headHash) throw new StoreCorruptError(`${where} has no head`);
  const info = store.blockInfo(headHash);
  const headBlock = store.block(headHash);
  if (!info || !headBlock)
    throw new StoreCorruptError(`${where}: head block ${headHash} is missing`);
  if (info.validity !== "valid" || store.mainHash(info.height) !== headHash)
    throw new StoreCorruptError(`${where}: head block ${headHash} is not on the main chain`);
  if (store.mainHash(info.height + 1) !== undefined)
    throw new StoreCorruptError(`${where}: the main chain runs past the head ${headHash}`);

  const root = headBlock.header.stateRoot;
  if (!equalBytes(root, EMPTY_HASH) && !store.stateNode(toHex(root)))
    throw new StoreCorruptError(
      `${where}: the state tree of the head (root ${toHex(root)}) is missing`,
    );
  const accounts = await store.loadAccounts();
  const minted = store.minted();
  const burned = store.burned();
  const supply = totalSupply(accounts.values());
  const expected = genesisSupply(genesis) + minted - burned;
  if (supply !== expected)
    throw new StoreCorruptError(
      `${where}: accounts hold ${supply} but genesis plus minted less burned is ${expected} ` +
        "(state inconsistent)",
    );
  const state = new HeadState(
    accounts,
    totalStake(accounts.values()),
    minted,
    burned,
    genesisSupply(genesis),
  );
  const head: ChainHead = {
    hash: headBlock.hash,
    hashHex: headHash,
    height: info.height,
    header: headBlock.header,
    score: info.score,
  };
  return { state, head, headBlock };
}
