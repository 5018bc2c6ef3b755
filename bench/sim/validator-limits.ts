import { performance } from "node:perf_hooks";
import { slotWinner } from "../../src/consensus/pos/lottery.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { taggedHash } from "../../src/core/hash.js";
import { type Address, encodeAddress } from "../../src/core/keys.js";
import { decodeValidators, encodeValidators } from "../../src/store/codec.js";

/**
 * How the PoS lottery and its stake snapshots grow with the number of validators V (issue 12,
 * docs/scale.md): the cost of building a validator set from the stakers (sort + running totals),
 * of encoding and hashing it as a snapshot, its stored size, of reading it back, and of one draw.
 * A snapshot is rebuilt, encoded and stored whenever a stake changed in the epoch before it.
 */

export interface ValidatorLimitRow {
  validators: number;
  buildMs: number;
  encodeAndHashMs: number;
  snapshotBytes: number;
  decodeAndBuildMs: number;
  drawUs: number;
}

function time<T>(rounds: number, f: () => T): { ms: number; value: T } {
  let value = f();
  const start = performance.now();
  for (let i = 0; i < rounds; i++) value = f();
  return { ms: (performance.now() - start) / rounds, value };
}

export function measureValidatorLimits(counts: readonly number[]): ValidatorLimitRow[] {
  const rows: ValidatorLimitRow[] = [];
  for (const v of counts) {
    const stakes: [Address, bigint][] = [];
    for (let i = 0; i < v; i++) {
      const id = new Uint8Array(20);
      new DataView(id.buffer).setUint32(0, (i * 2654435761) >>> 0);
      new DataView(id.buffer).setUint32(4, i);
      stakes.push([encodeAddress(id), BigInt(1_000 + (i % 997))]);
    }
    const rounds = Math.max(1, Math.floor(200_000 / v));
    const build = time(rounds, () => buildValidatorSet(stakes));
    const set = build.value;
    const encode = time(rounds, () => {
      const bytes = encodeValidators(set.entries);
      taggedHash("lotchain/validator-set/v1", bytes);
      return bytes;
    });
    const bytes = encode.value;
    const decode = time(rounds, () =>
      buildValidatorSet(decodeValidators(bytes).map((e) => [e.address, e.stake] as const)),
    );
    const nonce = new Uint8Array(32).fill(7);
    const draws = 2_000;
    let slot = 0;
    const draw = time(1, () => {
      for (let i = 0; i < draws; i++) slotWinner(set, nonce, slot++);
    });
    rows.push({
      validators: v,
      buildMs: build.ms,
      encodeAndHashMs: encode.ms,
      snapshotBytes: bytes.length,
      decodeAndBuildMs: decode.ms,
      drawUs: (draw.ms / draws) * 1000,
    });
  }
  return rows;
}
