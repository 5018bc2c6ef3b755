import { toHex } from "../core/bytes.js";
import type { Address } from "../core/keys.js";
import type { ChainReader, MempoolReader } from "./ports.js";

/** The account view of SPEC section 6: confirmed values and the next nonce counting the mempool. */
export function accountView(chain: ChainReader, mempool: MempoolReader, address: Address) {
  const a = chain.getAccount(address);
  return {
    address,
    balance: (a?.balance ?? 0n).toString(),
    stake: (a?.stake ?? 0n).toString(),
    nonce: a?.nonce ?? 0,
    pendingNonce: mempool.pendingNonce(address),
  };
}

export function validatorsView(chain: ChainReader) {
  const set = chain.validators();
  return {
    totalStake: set.total.toString(),
    validators: set.entries.map((v) => ({
      address: v.address,
      stake: v.stake.toString(),
      // Parts per million of total stake: the chance to win a slot, for display only.
      shareMillionths: set.total === 0n ? 0 : Number((v.stake * 1_000_000n) / set.total),
    })),
  };
}

export { toHex };
