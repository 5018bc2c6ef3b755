import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The independent implementation: test/vectors/check_vectors.py recomputes every vector file on
 * Python's standard library alone. Here when python3 is on the PATH; .ci/run installs it and runs
 * the script itself, so CI never skips it.
 */
const script = fileURLToPath(new URL("../vectors/check_vectors.py", import.meta.url));
const python = spawnSync("python3", ["--version"], { encoding: "utf8" });
const hasPython = python.status === 0;
if (!hasPython)
  console.warn("python3 not found: test/vectors/check_vectors.py skipped (.ci/run installs it)");

describe("the independent Python implementation of lotchain's formats", () => {
  it.skipIf(!hasPython)("agrees with every vector file", () => {
    const run = spawnSync("python3", [script], { encoding: "utf8", timeout: 120_000 });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^check_vectors\.py: all \d+ checks agree/);
  });
});
