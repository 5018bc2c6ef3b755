import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { isValidationError } from "../core/errors.js";
import { type KeyPair, parsePrivateKeyPem, privateKeyToPem } from "../core/keys.js";
import {
  decryptKeystore,
  type Keystore,
  type PassphraseOptions,
  parseKeystore,
  readPassphrase,
} from "./keystore.js";
import { CliError } from "./output.js";

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read key file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

function parsePem(pem: string, file: string): KeyPair {
  try {
    return parsePrivateKeyPem(pem);
  } catch (e) {
    if (isValidationError(e)) throw new CliError(`${file}: ${e.message}`);
    throw e;
  }
}

/** Reads a plaintext Ed25519 PKCS#8 PEM key file, with errors a user can act on. */
export function readKeyFile(file: string): KeyPair {
  const text = readText(file);
  if (parseKeystore(text, file))
    throw new CliError(`${file} is an encrypted keystore; this command takes a plaintext key`);
  return parsePem(text, file);
}

/**
 * Reads what a `--key` names: a plaintext PEM key, or a keystore, decrypted with the passphrase
 * from --password-file, LOTCHAIN_PASSWORD or the terminal.
 */
export async function loadKey(
  file: string,
  opts: PassphraseOptions,
): Promise<{ key: KeyPair; encrypted: boolean }> {
  const text = readText(file);
  const keystore = parseKeystore(text, file);
  if (!keystore) return { key: parsePem(text, file), encrypted: false };
  const passphrase = await readPassphrase(opts, `keystore ${file}`);
  return { key: decryptKeystore(keystore, passphrase, file), encrypted: true };
}

/** Writes a new file with mode 0600; an existing file is never overwritten. */
function writeSecretFile(file: string, content: string): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new CliError(`${file} already exists; a key file is never overwritten`);
    throw new CliError(`cannot write ${file}: ${code ?? e}`);
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/** Writes a private key PEM with mode 0600; an existing file is never overwritten. */
export function writeKeyFile(file: string, key: KeyPair): void {
  writeSecretFile(file, privateKeyToPem(key.privateKey));
}

/** Writes a keystore (see keystore.ts) with mode 0600; an existing file is never overwritten. */
export function writeKeystoreFile(file: string, keystore: Keystore): void {
  writeSecretFile(file, `${JSON.stringify(keystore, null, 2)}\n`);
}

/** Whether a key file is readable by others than its owner (worth a warning). */
export function isKeyFileExposed(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}
