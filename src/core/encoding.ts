import { decode, encode, rfc8949EncodeOptions } from "cborg";
import { reject } from "./errors.js";

/**
 * Canonical encoding: deterministic CBOR (RFC 8949 core deterministic encoding) through cborg.
 * Consensus objects are encoded as fixed-position arrays of integers, byte strings and text, so
 * the same value always has exactly one encoding. Decoding is strict: non-minimal integers,
 * indefinite lengths, undefined, NaN/Infinity, floats where integers belong and trailing bytes
 * are all rejected, and nothing but plain arrays, strings, numbers, bigints and bytes can come out.
 */
export type Canonical = number | bigint | string | Uint8Array | boolean | null | Canonical[];

const ENCODE_OPTIONS = rfc8949EncodeOptions;

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: true,
  rejectDuplicateMapKeys: true,
  useMaps: true,
};

export function encodeCanonical(value: Canonical): Uint8Array {
  return encode(value, ENCODE_OPTIONS);
}

/** Decodes canonical CBOR; any deviation becomes a Malformed rejection. */
export function decodeCanonical(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes, DECODE_OPTIONS);
  } catch (e) {
    return reject("Malformed", `${what}: invalid CBOR (${(e as Error).message})`);
  }
}

/** Typed accessors for positional CBOR arrays; each rejects with a Malformed code. */
export class CborReader {
  private index = 0;
  constructor(
    private readonly items: unknown[],
    private readonly what: string,
  ) {}

  static of(value: unknown, what: string, length: number): CborReader {
    if (!Array.isArray(value) || value.length !== length)
      reject("Malformed", `${what}: expected an array of ${length} items`);
    return new CborReader(value as unknown[], what);
  }

  private next(): unknown {
    return this.items[this.index++];
  }

  private fail(kind: string): never {
    return reject("Malformed", `${this.what}: item ${this.index - 1} must be ${kind}`);
  }

  text(maxLength = 256): string {
    const v = this.next();
    if (typeof v !== "string" || v.length > maxLength) this.fail("text");
    return v as string;
  }

  /** A non-negative safe integer. */
  uint(): number {
    const v = this.next();
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      this.fail("an unsigned integer");
    return v as number;
  }

  /** An unsigned integer below 2^64, as a bigint. */
  u64(): bigint {
    const v = this.next();
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === "bigint" && v >= 0n && v < 1n << 64n) return v;
    return this.fail("an unsigned 64-bit integer");
  }

  bytes(length?: number): Uint8Array {
    const v = this.next();
    if (!(v instanceof Uint8Array) || (length !== undefined && v.length !== length))
      this.fail(length === undefined ? "bytes" : `${length} bytes`);
    return v as Uint8Array;
  }

  array(): unknown[] {
    const v = this.next();
    if (!Array.isArray(v)) this.fail("an array");
    return v as unknown[];
  }

  literal(expected: string): void {
    const v = this.next();
    if (v !== expected) this.fail(`"${expected}"`);
  }
}
