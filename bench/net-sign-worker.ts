import { parentPort, workerData } from "node:worker_threads";
import { keyPairFromSeed } from "../src/core/keys.js";
import { signTransaction, transactionToJson } from "../src/core/transaction.js";

/**
 * Signs a contiguous range of the network benchmark's transfer schedule (see bench/network.ts):
 * transfer k is sent by sender k mod S with nonce floor(k / S) to sender (k + 1) mod S.
 * Run in worker threads so that pre-signing tens of thousands of transfers uses every core.
 */
export interface SignJob {
  chainId: string;
  senderSeeds: Uint8Array[];
  from: number;
  to: number;
}

export interface SignedRange {
  ids: string[];
  bodies: string[];
}

export function signRange({ chainId, senderSeeds, from, to }: SignJob): SignedRange {
  const keys = senderSeeds.map((seed) => keyPairFromSeed(seed));
  const ids: string[] = [];
  const bodies: string[] = [];
  const timestamp = Date.now();
  for (let k = from; k < to; k++) {
    const s = k % keys.length;
    const tx = signTransaction(
      {
        chainId,
        type: "TRANSFER",
        senderPublicKey: keys[s]!.publicKey,
        receiver: keys[(s + 1) % keys.length]!.address,
        amount: 1n,
        fee: 1n,
        nonce: Math.floor(k / keys.length),
        timestamp,
      },
      keys[s]!.privateKey,
    );
    ids.push(tx.id);
    bodies.push(JSON.stringify(transactionToJson(tx)));
  }
  return { ids, bodies };
}

if (parentPort && (workerData as { kind?: string } | undefined)?.kind === "net-sign") {
  parentPort.postMessage(signRange((workerData as { job: SignJob }).job));
}
