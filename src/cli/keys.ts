import { resolve } from "node:path";
import type { Command } from "commander";
import { toHex } from "../core/bytes.js";
import { generateKeyPair } from "../core/keys.js";
import { readKeyFile, writeKeyFile } from "./keyfile.js";
import { addJson, opt } from "./options.js";
import { type JsonFlag, print } from "./output.js";

export function registerKeyCommands(program: Command): void {
  addJson(
    program
      .command("keygen")
      .description("create a new Ed25519 key (PEM file, mode 0600, never overwritten)")
      .addOption(opt("--out <file>", "where to write the private key (default: ./<address>.pem)")),
  ).action((opts: JsonFlag & { out?: string }) => {
    const key = generateKeyPair();
    const file = resolve(opts.out ?? `${key.address}.pem`);
    writeKeyFile(file, key);
    const publicKey = toHex(key.publicKey);
    print(opts, { address: key.address, publicKey, file }, () =>
      [`address    ${key.address}`, `publicKey  ${publicKey}`, `file       ${file}`].join("\n"),
    );
  });

  addJson(
    program
      .command("address")
      .description("print the address and public key of a key file")
      .addOption(opt("--key <file>", "PEM private key").makeOptionMandatory()),
  ).action((opts: JsonFlag & { key: string }) => {
    const key = readKeyFile(opts.key);
    const publicKey = toHex(key.publicKey);
    const file = resolve(opts.key);
    print(opts, { address: key.address, publicKey, file }, () =>
      [`address    ${key.address}`, `publicKey  ${publicKey}`, `file       ${file}`].join("\n"),
    );
  });
}
