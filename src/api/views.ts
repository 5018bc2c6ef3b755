import { blockToJson } from "../core/block.js";
import type { Address } from "../core/keys.js";
import { readBlocksWithin } from "../util/block-pages.js";
import type { ChainReader, MempoolReader } from "./ports.js";

/** Encoded bytes of the blocks one range answer holds (at least one block): ~20 MiB of JSON. */
export const BLOCKS_RESPONSE_MAX_BYTES = 8 * 1024 * 1024;

/**
 * `{ blocks }` of main-chain blocks from `from`, at most `limit` (GET /v1/blocks and the seed's
 * /blockchain). Fewer when they would exceed BLOCKS_RESPONSE_MAX_BYTES: a client pages on from
 * the last height, and a thousand full blocks never build a gigabyte of JSON.
 */
export async function blocksView(chain: ChainReader, from: number, limit: number) {
  const blocks = await readBlocksWithin(
    (start, count) => chain.getBlocks(start, count),
    from,
    limit,
    BLOCKS_RESPONSE_MAX_BYTES,
  );
  return { blocks: blocks.map(blockToJson) };
}

/** The account view of SPEC section 6: confirmed values and the next nonce counting the mempool. */
export function accountView(chain: ChainReader, mempool: MempoolReader, address: Address) {
  const a = chain.accountNow(address);
  return {
    address,
    balance: (a?.balance ?? 0n).toString(),
    stake: (a?.stake ?? 0n).toString(),
    nonce: a?.nonce ?? 0,
    pendingNonce: mempool.pendingNonce(address),
    // Stake on its way back (UNSTAKE): spendable from releaseSlot on, slashable until then.
    unbonding: (a?.unbonding ?? []).map((e) => ({
      amount: e.amount.toString(),
      releaseSlot: e.releaseSlot,
    })),
    slashed: a?.slashedSlot !== undefined,
  };
}

/**
 * The head state's validators (stake > 0), and every account ever slashed, with `slashed`. The
 * lottery of an epoch draws from its snapshot (docs/consensus.md), which trails this by an epoch
 * or two.
 */
export function validatorsView(chain: ChainReader) {
  const set = chain.validators();
  const slashed = chain.slashedAddresses();
  const rows = set.entries.map((v) => ({
    address: v.address,
    stake: v.stake.toString(),
    // Parts per million of total stake: the chance to win a slot, for display only.
    shareMillionths: set.total === 0n ? 0 : Number((v.stake * 1_000_000n) / set.total),
    slashed: slashed.has(v.address),
  }));
  const listed = new Set(rows.map((r) => r.address));
  for (const address of [...slashed].sort())
    if (!listed.has(address)) rows.push({ address, stake: "0", shareMillionths: 0, slashed: true });
  return { totalStake: set.total.toString(), validators: rows };
}
