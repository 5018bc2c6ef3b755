import { appendFileSync } from "node:fs";
import fc from "fast-check";
import { isValidationError } from "../../src/core/errors.js";

/**
 * The fuzzing harness: each property runs for a time budget rather than a number of cases, so
 * that the suite takes about a minute in `npm test` whatever the machine (`npm run fuzz --
 * --minutes N` stretches every budget to fill N minutes). Every run prints its seed; a failure prints the seed,
 * the path of the failing case and the command that replays exactly that case:
 *
 *   LOTCHAIN_FUZZ_SEED=<seed> LOTCHAIN_FUZZ_PATH=<path> LOTCHAIN_FUZZ_ONLY=<property> \
 *     npx vitest run test/fuzz/<file>
 *
 * LOTCHAIN_FUZZ_SEED alone reruns a whole property with that seed (the same cases in the same
 * order, as many as the budget allows).
 */

const env = process.env;
/** The sum of the budgets below in `npm test`: what the suite spends in properties. */
export const SUITE_NOMINAL_MS = 50_000;
/** `npm run fuzz -- --minutes N` sets LOTCHAIN_FUZZ_MS; each budget grows in proportion. */
const SCALE = env.LOTCHAIN_FUZZ_MS ? Number(env.LOTCHAIN_FUZZ_MS) / SUITE_NOMINAL_MS : 1;
const SEED = env.LOTCHAIN_FUZZ_SEED !== undefined ? Number(env.LOTCHAIN_FUZZ_SEED) : undefined;
const PATH = env.LOTCHAIN_FUZZ_PATH;
const ONLY = env.LOTCHAIN_FUZZ_ONLY;
/** A JSON-lines file the long run's summary reads (npm run fuzz). */
const REPORT = env.LOTCHAIN_FUZZ_REPORT;

export interface FuzzOptions {
  /** Milliseconds the property runs for in `npm test`. */
  budgetMs: number;
  /** Shrink a failing case (pure properties); stateful ones report the case as found. */
  shrink?: boolean;
  /** Extra figures for the report: how many requests, messages, blocks a run sent. */
  counters?: () => Record<string, number>;
}

/** Whether this property should run (LOTCHAIN_FUZZ_ONLY picks one for a replay). */
export function selected(name: string): boolean {
  return ONLY === undefined || ONLY === name;
}

/** Runs a property for its budget and throws a replayable report when it fails. */
export async function fuzz(
  name: string,
  file: string,
  property: fc.IRawProperty<any, boolean>,
  options: FuzzOptions,
): Promise<void> {
  if (!selected(name)) return;
  const seed = SEED ?? (Math.random() * 2 ** 31) | 0;
  const replay = PATH !== undefined && ONLY === name;
  const params: fc.Parameters<unknown> = {
    seed,
    numRuns: replay ? 1 : 1_000_000_000,
    interruptAfterTimeLimit: Math.round(options.budgetMs * SCALE),
    markInterruptAsFailure: false,
    endOnFailure: !(options.shrink ?? true),
    ...(replay ? { path: PATH } : {}),
  };
  console.log(`fuzz ${name}: seed ${seed}${replay ? ` path ${PATH}` : ""}`);
  const started = performance.now();
  const details = await fc.check(property as fc.IRawProperty<unknown, boolean>, params);
  const ms = Math.round(performance.now() - started);
  const counters = options.counters?.() ?? {};
  console.log(
    `fuzz ${name}: ${details.numRuns} cases in ${ms} ms${Object.entries(counters)
      .map(([k, v]) => `, ${v} ${k}`)
      .join("")}`,
  );
  if (REPORT)
    appendFileSync(
      REPORT,
      `${JSON.stringify({ name, file, seed, cases: details.numRuns, ms, failed: details.failed, ...counters })}\n`,
    );
  if (details.failed)
    throw new Error(
      `${fc.defaultReportMessage(details)}\n${errorText(details.errorInstance)}\n` +
        `replay: LOTCHAIN_FUZZ_SEED=${details.seed} ` +
        `LOTCHAIN_FUZZ_PATH=${details.counterexamplePath} LOTCHAIN_FUZZ_ONLY='${name}' ` +
        `npx vitest run ${file}`,
    );
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}\n${error.stack ?? ""}`;
  return `error: ${String(error)}`;
}

/**
 * Runs `fn`: true when it returned or threw an error `allowed` accepts (a typed refusal); any
 * other error (TypeError, RangeError, a raw libp2p or cborg error) escapes and fails the case.
 */
export function refusesCleanly(
  fn: () => unknown,
  allowed: (e: unknown) => boolean = isValidationError,
): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (allowed(e)) return true;
    throw e;
  }
}

/** Byte-level mutations of a valid encoding: flips, overwrites, insertions, cuts, splices. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.nat(255) }),
    fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }),
    }),
    fc.record({
      kind: fc.constant("delete" as const),
      at: fc.nat(),
      count: fc.integer({ min: 1, max: 16 }),
    }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant("append" as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
  );
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
    let out = Uint8Array.from(bytes);
    for (const e of edits) {
      const at = out.length === 0 ? 0 : ("at" in e ? e.at : 0) % out.length;
      switch (e.kind) {
        case "flip":
          if (out.length > 0) out[at]! ^= 1 << e.bit;
          break;
        case "set":
          if (out.length > 0) out[at] = e.byte;
          break;
        case "insert":
          out = Uint8Array.from([...out.subarray(0, at), ...e.bytes, ...out.subarray(at)]);
          break;
        case "delete":
          out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + e.count)]);
          break;
        case "truncate":
          out = out.slice(0, at);
          break;
        case "append":
          out = Uint8Array.from([...out, ...e.bytes]);
          break;
      }
    }
    return out;
  });
}

/**
 * CBOR-shaped values of any structure: what a decoder sees from a peer that speaks CBOR but not
 * our schemas. Encoded with cborg by the caller.
 */
export const cborValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer(),
    fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
    fc.constantFrom(0, 1, 2 ** 32, 2 ** 53 - 1, -1, 2 ** 64 - 1),
    fc.string({ maxLength: 80 }),
    fc.uint8Array({ maxLength: 96 }),
    fc.boolean(),
    fc.constant(null),
    fc.double(),
    fc.array(tie("value"), { maxLength: 12 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** JSON values of any shape, and strings that look like the fields they replace. */
export const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    "",
    "0",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "1e3",
    "0x10",
    " 1",
    "NaN",
    "Infinity",
    "__proto__",
    "constructor",
  ),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, -0, 1e308, null, true),
  fc.string({ maxLength: 200 }),
  fc.stringMatching(/^[0-9a-fA-F]{0,130}$/),
);
