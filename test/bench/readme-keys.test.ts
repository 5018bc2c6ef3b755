import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/node-process.js";

/**
 * Every figure of the README's Benchmarks section names the key of `npm run bench -- --json` it
 * comes from, and the whole output of the run it quotes is committed and linked there. This checks
 * that every key named there is in that output, and that every figure written right before its
 * key is that key's value as rounded in the text. (Running the benchmarks is not a test.)
 */
const KEY = String.raw`(?:core|mempool|lottery|vrf|state|pow|import|api|ingest|net)\.[A-Za-z0-9.*]+`;
/** A figure as the README writes it: "14,302", "0.93", "3,725,000". */
const NUMBER = String.raw`\d[\d,]*(?:\.\d+)?`;
/** Up to three words of unit between a figure and its key ("µs per transaction", "/s"), no "/". */
const UNIT = String.raw`(?:[ \n]+(?!/[ \n])[^\s\`\d(),;=]+){0,3}`;

const readme = readFileSync(join(REPO, "README.md"), "utf8");
const section = readme.slice(readme.indexOf("## Benchmarks"), readme.indexOf("## Layout"));
/** The run's output, as the section links it: a new run replaces the file and the link. */
const RUN = section.match(/\]\((docs\/bench\/[^)]+\.json)\)/)?.[1] ?? "no docs/bench/*.json link";
const run = JSON.parse(readFileSync(join(REPO, RUN), "utf8")) as Record<string, unknown>;

/** The keys of the run a README key stands for: `x.N` for each count, `x.*` for a prefix. */
function keysOf(key: string): string[] {
  if (key.endsWith(".N") || key.endsWith(".*")) {
    const prefix = key.slice(0, -1);
    return Object.keys(run).filter((k) => k.startsWith(prefix));
  }
  return key in run ? [key] : [];
}

/** "0.93" written for 926 ms under a key in Ms; a figure matches to the digits it shows. */
function matches(written: string, unit: string, key: string, value: number): boolean {
  const figure = Number(written.replaceAll(",", ""));
  const scaled = /^s\b/.test(unit.trim()) && key.endsWith("Ms") ? value / 1000 : value;
  const decimals = written.split(".")[1]?.length ?? 0;
  // "3,725,000" shows four figures of 3,724,685: half a unit of the last digit, or 0.5 %.
  const tolerance = Math.max(0.5 * 10 ** -decimals, 0.005 * Math.abs(scaled));
  return Math.abs(figure - scaled) <= tolerance + 1e-9;
}

describe("the README's benchmark figures", () => {
  it(`name keys that the committed run (${RUN}) has`, () => {
    const keys = [...section.matchAll(new RegExp("`(" + KEY + ")`", "g"))].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThanOrEqual(100);
    expect(keys.filter((key) => keysOf(key).length === 0)).toEqual([]);
  });

  it("are the values of that run, as rounded in the text", () => {
    const checked: string[] = [];
    const wrong: string[] = [];
    const check = (written: string, unit: string, key: string) => {
      const value = run[key];
      if (typeof value !== "number") return;
      checked.push(key);
      if (!matches(written, unit, key, value))
        wrong.push(`${written}${unit} \`${key}\` = ${value}`);
    };
    // A list of figures before the same number of keys: "563 / 672 per second `a`, `b`".
    const list = new RegExp(
      `(${NUMBER}(?: / ${NUMBER})+)(${UNIT})[ \\n]+(\`${KEY}\`(?:, \`${KEY}\`)+)`,
      "g",
    );
    for (const m of section.matchAll(list)) {
      const figures = m[1]!.split(" / ");
      const keys = [...m[3]!.matchAll(/`([^`]+)`/g)].map((k) => k[1]!);
      if (figures.length !== keys.length) continue;
      for (const [i, figure] of figures.entries()) check(figure, m[2]!, keys[i]!);
    }
    // One figure right before one key, neither part of a list: "14,302 /s `a`" is "/s", a unit.
    const single = new RegExp(
      `(?<![\\w,.]| / )(${NUMBER})(${UNIT})[ \\n]+\`(${KEY})\`(?!, \`)`,
      "g",
    );
    for (const m of section.matchAll(single)) check(m[1]!, m[2]!, m[3]!);
    expect(wrong).toEqual([]);
    expect(checked.length).toBeGreaterThanOrEqual(80);
  });
});
