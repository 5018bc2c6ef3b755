import { generateKeyPairSync, sign, verify } from "node:crypto";

/**
 * The raw limit every throughput figure is compared with: node:crypto Ed25519 verifications per
 * second on one core, measured in the same run (the machines are shared and noisy, so only
 * ratios against a limit measured alongside are meaningful).
 */
export function rawVerifyRate(durationMs = 1500, messageBytes = 120): number {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const message = Buffer.alloc(messageBytes, 7);
  const signature = sign(null, message, privateKey);
  return rate(durationMs, () => verify(null, message, publicKey, signature));
}

/** Calls fn repeatedly for about durationMs (after a short warm-up) and returns calls per second. */
export function rate(durationMs: number, fn: () => unknown, batch = 64): number {
  for (let i = 0; i < batch; i++) fn();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    elapsed = performance.now() - start;
  } while (elapsed < durationMs);
  return (calls * 1000) / elapsed;
}

/**
 * Like `rate`, and also the CPU time one call took (this process's user + system time over the
 * calls): on a shared machine the rate falls when other processes take the core, the CPU time
 * per call does not, so "what a transaction costs in verifications' worth" compares CPU times.
 */
export function rateAndCpu(
  durationMs: number,
  fn: () => unknown,
): { perSec: number; cpuMicros: number } {
  for (let i = 0; i < 64; i++) fn();
  const cpu0 = process.cpuUsage();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 64; i++) fn();
    calls += 64;
    elapsed = performance.now() - start;
  } while (elapsed < durationMs);
  const cpu = process.cpuUsage(cpu0);
  return { perSec: (calls * 1000) / elapsed, cpuMicros: (cpu.user + cpu.system) / calls };
}

export function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
