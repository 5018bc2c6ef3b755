import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The lotchain package directory (where package.json and devnet/ are), from src or dist. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "devnet"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the lotchain package directory");
    dir = parent;
  }
  return dir;
}

export const bundledGenesisPath = (): string => join(packageRoot(), "devnet", "genesis.json");
export const bundledKeyPath = (name: "genesis" | "staker" | "exchange"): string =>
  join(packageRoot(), "devnet", "keys", `${name}PrivateKey.pem`);
export const cliEntryPath = (): string => join(packageRoot(), "dist", "src", "cli", "main.js");
