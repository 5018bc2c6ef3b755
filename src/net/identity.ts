import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import type { Logger } from "pino";
import { NetError } from "./errors.js";

/**
 * The node's libp2p identity: an Ed25519 key kept in <dataDir>/p2p/identity.key (libp2p's
 * protobuf key encoding, mode 0600). It only names the node on the network; it is not, and must
 * never be, the validator key.
 */
export function identityPath(dataDir: string): string {
  return join(dataDir, "p2p", "identity.key");
}

export async function loadOrCreateIdentity(dataDir: string, logger: Logger): Promise<PrivateKey> {
  const file = identityPath(dataDir);
  const existing = await readIdentity(file, logger);
  if (existing !== undefined) return existing;

  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const key = await generateKeyPair("Ed25519");
  try {
    // "wx": never overwrite; if another process created it in the meantime, use theirs.
    await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const raced = await readIdentity(file, logger);
    if (raced !== undefined) return raced;
    throw err;
  }
  logger.info({ file }, "created a new p2p identity");
  return key;
}

async function readIdentity(file: string, logger: Logger): Promise<PrivateKey | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) {
    logger.warn(
      { file, mode: (mode & 0o777).toString(8) },
      "p2p identity file is readable by others; chmod 600 it",
    );
  }
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (err) {
    // Never replace a damaged identity silently: peers know this node by it.
    throw new NetError("BadIdentity", `cannot read the p2p identity in ${file}`, { cause: err });
  }
}
