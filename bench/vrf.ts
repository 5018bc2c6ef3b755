import { generateKeyPairSync, sign, verify } from "node:crypto";
import { proveRandomness, verifyRandomness } from "../src/consensus/pos/randomness.js";
import { keyPairFromSeed, privateKeySeed } from "../src/core/keys.js";
import { vrfSecretKey } from "../src/core/vrf.js";
import { median, rate, round } from "./raw.js";

/**
 * The VRF of the PoS lottery (ECVRF-EDWARDS25519-SHA512-TAI on @noble/curves): proofs and
 * verifications per second as the forger and the chain use them (the block's VRF input, a
 * validator's key), beside raw node:crypto Ed25519 verification in the same rounds. A block
 * carries one proof: its forger proves once, every node verifies once per block (sync and side
 * blocks included), so the ratio says how many transactions' worth of signature checks a block's
 * randomness costs.
 */
export async function run(): Promise<Record<string, number>> {
  const chainId = "lotchain-bench";
  const pair = keyPairFromSeed(new Uint8Array(32).fill(11));
  const key = vrfSecretKey(privateKeySeed(pair.privateKey));
  const nonce = new Uint8Array(32).fill(4);
  const ed = generateKeyPairSync("ed25519");
  const message = Buffer.alloc(120, 7);
  const signature = sign(null, message, ed.privateKey);
  const proofs = Array.from({ length: 64 }, (_, i) => proveRandomness(chainId, i, nonce, key));
  let slot = 0;
  const prove = () => proveRandomness(chainId, slot++ % 64, nonce, key);
  let checked = 0;
  const verifyOne = () => {
    const i = checked++ % 64;
    if (!verifyRandomness(chainId, i, nonce, proofs[i]!, pair.publicKey))
      throw new Error("a VRF proof did not verify");
  };
  const raws: number[] = [];
  const proveRates: number[] = [];
  const verifyRates: number[] = [];
  for (let r = 0; r < 5; r++) {
    raws.push(rate(300, () => verify(null, message, ed.publicKey, signature)));
    proveRates.push(rate(600, prove, 4));
    verifyRates.push(rate(600, verifyOne, 4));
  }
  const raw = median(raws);
  const proveRate = median(proveRates);
  const verifyRate = median(verifyRates);
  return {
    "vrf.provePerSec": round(proveRate),
    "vrf.verifyPerSec": round(verifyRate),
    "vrf.rawEd25519VerifyPerSec": round(raw),
    "vrf.proveRatioToRawVerify": round(proveRate / raw, 4),
    "vrf.verifyRatioToRawVerify": round(verifyRate / raw, 4),
    // A block's randomness costs this many transaction signature checks to verify.
    "vrf.verifyCostInEd25519Verifies": round(raw / verifyRate, 1),
  };
}
