import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/node-process.js";

/**
 * Every figure of the README's Benchmarks section names the key of `npm run bench -- --json` it
 * comes from. This checks that each key named there is one the benchmarks write (a key's last
 * part appears in bench/; "N" stands for a validator count, "…" for the key before it), so a
 * renamed key cannot leave the README pointing at nothing. (Running the benchmarks is not a test.)
 */
describe("the README's benchmark figures", () => {
  it("name keys that npm run bench writes", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Benchmarks"), readme.indexOf("## Layout"));
    const keys = [
      ...section.matchAll(
        /`((?:core|mempool|lottery|vrf|state|pow|import|api|ingest|net)\.[A-Za-z0-9.*]+)`/g,
      ),
    ].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThanOrEqual(40);
    const source = readdirSync(join(REPO, "bench"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => readFileSync(join(REPO, "bench", f), "utf8"))
      .join("\n");
    const missing = keys.filter((key) => {
      const parts = key.split(".").filter((p) => p !== "N" && p !== "*");
      const last = parts.at(-1)!;
      return !source.includes(`.${last}`) && !source.includes(`"${last}`);
    });
    expect(missing).toEqual([]);
  });
});
