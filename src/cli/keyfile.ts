import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { isValidationError } from "../core/errors.js";
import { type KeyPair, parsePrivateKeyPem, privateKeyToPem } from "../core/keys.js";
import { CliError } from "./output.js";

/** Reads an Ed25519 PKCS#8 PEM key file, with errors a user can act on. */
export function readKeyFile(file: string): KeyPair {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read key file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    return parsePrivateKeyPem(pem);
  } catch (e) {
    if (isValidationError(e)) throw new CliError(`${file}: ${e.message}`);
    throw e;
  }
}

/** Writes a private key PEM with mode 0600; an existing file is never overwritten. */
export function writeKeyFile(file: string, key: KeyPair): void {
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
    writeSync(fd, privateKeyToPem(key.privateKey));
  } finally {
    closeSync(fd);
  }
}

/** Whether a key file is readable by others than its owner (worth a warning). */
export function isKeyFileExposed(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}
