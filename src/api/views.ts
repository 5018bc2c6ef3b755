import type { FastifyReply } from "fastify";
import { blockToJson } from "../core/block.js";
import type { Address } from "../core/keys.js";
import { accountToJson, EMPTY_ACCOUNT } from "../core/state.js";
import { readBlocksWithin } from "../util/block-pages.js";
import type { ChainReader, MempoolReader } from "./ports.js";
import { JSON_TYPE } from "./schemas.js";

/**
 * `{ blocks }` of main-chain blocks from `from`, at most `limit`, as JSON text of at most
 * `maxJsonBytes` (GET /v1/blocks and the seed's /blockchain): fewer blocks when more would not
 * fit, but always the first. A client pages on from the last height it got. The blocks are read
 * within half the budget of encoded bytes (JSON spells every byte string in hex, so it is at least
 * twice as long), then serialised one at a time until the budget is spent: a thousand full blocks
 * never build ~20 MiB of JSON, nor read more than they answer.
 */
export async function blocksView(
  chain: ChainReader,
  from: number,
  limit: number,
  maxJsonBytes: number,
): Promise<string> {
  const blocks = await readBlocksWithin(
    (start, count) => chain.getBlocks(start, count),
    from,
    limit,
    Math.floor(maxJsonBytes / 2),
  );
  const parts: string[] = [];
  let bytes = 0;
  for (const block of blocks) {
    const json = JSON.stringify(blockToJson(block));
    bytes += Buffer.byteLength(json) + 1;
    if (bytes > maxJsonBytes && parts.length > 0) break;
    parts.push(json);
  }
  return `{"blocks":[${parts.join(",")}]}`;
}

/** Answers a block range route (GET /v1/blocks, /blockchain) with blocksView's JSON text. */
export async function sendBlockRange(
  reply: FastifyReply,
  chain: ChainReader,
  query: { from: number; limit: number },
  maxJsonBytes: number,
) {
  return reply.type(JSON_TYPE).send(await blocksView(chain, query.from, query.limit, maxJsonBytes));
}

/** The account view of SPEC section 6: confirmed values and the next nonce counting the mempool. */
export function accountView(chain: ChainReader, mempool: MempoolReader, address: Address) {
  const a = chain.accountNow(address) ?? EMPTY_ACCOUNT;
  const { balance, stake, nonce, unbonding, slashed } = accountToJson(a);
  return {
    address,
    balance,
    stake,
    nonce,
    pendingNonce: mempool.pendingNonce(address),
    unbonding,
    slashed,
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
