// Byte helpers shared by every layer. Hex is lowercase, without a 0x prefix.

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Parses lowercase or uppercase hex of an exact byte length; returns undefined on anything else. */
export function parseHex(text: unknown, length?: number): Uint8Array | undefined {
  if (typeof text !== "string" || text.length % 2 !== 0) return undefined;
  if (length !== undefined && text.length !== length * 2) return undefined;
  // Buffer's decoder stops at the first character that is not hex: a short result means junk.
  const bytes = Buffer.from(text, "hex");
  if (bytes.length * 2 !== text.length) return undefined;
  return new Uint8Array(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Big-endian unsigned integer of the bytes. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`);
}

/** Big-endian, fixed width; throws RangeError when the value does not fit. */
export function bigIntToBytes(value: bigint, width: number): Uint8Array {
  if (value < 0n) throw new RangeError("negative value");
  const hex = value.toString(16).padStart(width * 2, "0");
  if (hex.length > width * 2) throw new RangeError(`value does not fit in ${width} bytes`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export const utf8 = new TextEncoder();
