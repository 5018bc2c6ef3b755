import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { toHex } from "../core/bytes.js";
import { generateKeyPair, type KeyPair } from "../core/keys.js";
import { loadKey, writeKeyFile, writeKeystoreFile } from "./keyfile.js";
import { encryptKey, readPassphrase } from "./keystore.js";
import { addJson, opt, passwordFileOption } from "./options.js";
import { CliError, type JsonFlag, print } from "./output.js";

function printKey(opts: JsonFlag, key: KeyPair, file: string, encrypted?: boolean): void {
  const publicKey = toHex(key.publicKey);
  const json = { address: key.address, publicKey, file, ...(encrypted ? { encrypted } : {}) };
  print(opts, json, () =>
    [
      `address    ${key.address}`,
      `publicKey  ${publicKey}`,
      `file       ${file}${encrypted ? " (encrypted keystore)" : ""}`,
    ].join("\n"),
  );
}

export function registerKeyCommands(program: Command): void {
  addJson(
    program
      .command("keygen")
      .description(
        "create a new Ed25519 key: a PEM file, or with --encrypt a passphrase-protected keystore (mode 0600, never overwritten)",
      )
      .addOption(
        opt("--out <file>", "where to write it (default: ./<address>.pem, or .json encrypted)"),
      )
      .addOption(opt("--encrypt", "write an encrypted keystore (scrypt + AES-256-GCM)"))
      .addOption(opt("--from <file>", "with --encrypt: encrypt this existing key instead"))
      .addOption(passwordFileOption()),
  ).action(
    async (
      opts: JsonFlag & { out?: string; encrypt?: boolean; from?: string; passwordFile?: string },
    ) => {
      if (opts.from && !opts.encrypt) throw new CliError("--from goes with --encrypt");
      const key = opts.from ? (await loadKey(opts.from, opts)).key : generateKeyPair();
      if (!opts.encrypt) {
        const file = resolve(opts.out ?? `${key.address}.pem`);
        writeKeyFile(file, key);
        return printKey(opts, key, file);
      }
      const file = resolve(opts.out ?? `${key.address}.json`);
      // The file must be new: find out before asking for a passphrase.
      if (existsSync(file))
        throw new CliError(`${file} already exists; a key file is never overwritten`);
      const passphrase = await readPassphrase(opts, `the new keystore ${file}`, true);
      writeKeystoreFile(file, encryptKey(key, passphrase));
      printKey(opts, key, file, true);
    },
  );

  addJson(
    program
      .command("address")
      .description("print the address and public key of a key file (PEM or keystore)")
      .addOption(opt("--key <file>", "private key: PEM or keystore").makeOptionMandatory())
      .addOption(passwordFileOption()),
  ).action(async (opts: JsonFlag & { key: string; passwordFile?: string }) => {
    const { key } = await loadKey(opts.key, opts);
    printKey(opts, key, resolve(opts.key));
  });
}
