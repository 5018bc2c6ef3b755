import { verify } from "node:crypto";
import { keyPairFromSeed, publicKeyObject } from "../src/core/keys.js";
import {
  type Account,
  applyTransaction,
  checkTransaction,
  StateOverlay,
} from "../src/core/state.js";
import {
  decodeTransaction,
  signTransaction,
  type Transaction,
  transactionFromJson,
  transactionSigningBytes,
  transactionToJson,
} from "../src/core/transaction.js";
import { median, rate, round } from "./raw.js";

/**
 * Signed transfers validated per second through the core's full validation path — strict JSON
 * (or wire bytes) to domain object, canonical encoding, id, chain and fee rules, Ed25519 signature,
 * nonce and funds against state — beside raw crypto.verify on one core, in the same run.
 */
export async function run(): Promise<Record<string, number>> {
  const senders = Array.from({ length: 64 }, (_, i) =>
    keyPairFromSeed(new Uint8Array(32).fill(i + 1)),
  );
  const params = {
    chainId: "lotchain-bench",
    minFee: 1n,
    blockReward: 0n,
    exchange: new Set<string>(),
    keepPositiveStake: false,
    maxSupply: (1n << 64n) - 1n,
    unbondingSlots: undefined,
    slashing: undefined,
  };
  const perSender = 64;
  const txs: Transaction[] = [];
  for (let n = 0; n < perSender; n++)
    for (const s of senders)
      txs.push(
        signTransaction(
          {
            chainId: params.chainId,
            type: "TRANSFER",
            senderPublicKey: s.publicKey,
            receiver: senders[(n * 7) % senders.length]!.address,
            amount: 10n,
            fee: 1n,
            nonce: n,
            timestamp: 1_764_000_000_000 + n,
          },
          s.privateKey,
        ),
      );
  const jsons = txs.map((tx) => JSON.parse(JSON.stringify(transactionToJson(tx))));
  const wires = txs.map((tx) => tx.encoded);
  const accounts = new Map<string, Account>(
    senders.map((s) => [s.address, { balance: 1_000_000n, stake: 0n, nonce: 0 }]),
  );
  const base = { getAccount: (a: string) => accounts.get(a) };

  // Each call validates the next transaction against the base state: what admission to the
  // mempool or a block does per transaction. Rounds interleave with the raw measurement so
  // that noise from the shared machine hits both alike; medians are reported.
  let i = 0;
  const validate = (toTx: (i: number) => Transaction) => () => {
    const index = i++ % txs.length;
    const tx = toTx(index);
    checkTransaction(tx, params);
    const state = new StateOverlay(base, 0n, 0n);
    const sender = accounts.get(tx.sender)!;
    sender.nonce = tx.nonce;
    applyTransaction(state, tx, params);
  };
  const raws: number[] = [];
  const fromJsons: number[] = [];
  const fromWires: number[] = [];
  // The raw limit for these very transactions: crypto.verify with ready KeyObjects and bytes.
  const ready = txs.map((tx) => ({
    key: publicKeyObject(tx.senderPublicKey),
    message: transactionSigningBytes(tx),
    signature: tx.signature,
  }));
  const rawVerify = () => {
    const r = ready[i++ % ready.length]!;
    return verify(null, r.message, r.key, r.signature);
  };
  for (let round = 0; round < 7; round++) {
    raws.push(rate(400, rawVerify));
    fromJsons.push(
      rate(
        400,
        validate((k) => transactionFromJson(jsons[k])),
      ),
    );
    fromWires.push(
      rate(
        400,
        validate((k) => decodeTransaction(wires[k]!)),
      ),
    );
  }
  const raw = median(raws);
  const fromJson = median(fromJsons);
  const fromWire = median(fromWires);
  return {
    "core.rawVerifyPerSec": round(raw),
    "core.validatedFromJsonPerSec": round(fromJson),
    "core.validatedFromWirePerSec": round(fromWire),
    "core.ratioJson": round(fromJson / raw, 3),
    "core.ratioWire": round(fromWire / raw, 3),
    "core.ratioTarget": 0.8,
  };
}
