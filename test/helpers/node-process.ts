import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The compiled CLI (npm test builds dist/ before running the tests). */
export const CLI = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));
export const REPO = fileURLToPath(new URL("../..", import.meta.url));

export function tempDir(prefix = "lotchain-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (bounded by timeoutMs). */
export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`lotchain ${args.join(" ")} timed out\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface NodeProcess {
  child: ChildProcess;
  apiUrl: string;
  p2pAddresses: string[];
  logs: string[];
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

export interface NodeProcessOptions {
  dataDir: string;
  genesis?: string;
  key?: string;
  apiPort?: number;
  p2pPort?: number;
  bootstrap?: string[];
  extra?: string[];
  timeoutMs?: number;
}

/** Starts `lotchain node` and resolves once its API answers GET /v1/status with 200. */
export async function startNode(opts: NodeProcessOptions): Promise<NodeProcess> {
  const args = [
    CLI,
    "node",
    "--data-dir",
    opts.dataDir,
    "--api-port",
    String(opts.apiPort ?? 0),
    "--p2p-port",
    String(opts.p2pPort ?? 0),
    "--log-level",
    "debug",
  ];
  if (opts.genesis) args.push("--genesis", opts.genesis);
  if (opts.key) args.push("--key", opts.key);
  for (const b of opts.bootstrap ?? []) args.push("--bootstrap", b);
  args.push(...(opts.extra ?? []));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  let apiUrl = "";
  let p2pAddresses: string[] = [];
  let buffer = "";
  child.stdout!.on("data", (d: Buffer) => {
    buffer += d.toString();
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      logs.push(line);
      try {
        const entry = JSON.parse(line);
        if (entry.url && /API listening/.test(entry.msg)) apiUrl = entry.url;
        if (entry.listen && /p2p listening/.test(entry.msg)) p2pAddresses = entry.listen;
      } catch {
        // not a JSON log line
      }
      nl = buffer.indexOf("\n");
    }
  });
  child.stderr!.on("data", (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!apiUrl) {
    if (child.exitCode !== null)
      throw new Error(`node exited (${child.exitCode}):\n${logs.join("\n")}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`node did not start:\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  for (;;) {
    try {
      const res = await fetch(`${apiUrl}/v1/status`);
      if (res.ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`node API not ready:\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    apiUrl,
    p2pAddresses,
    logs,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Writes a genesis file for tests; returns its path. */
export function writeGenesis(dir: string, json: object, name = "genesis.json"): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(json, null, 2));
  return file;
}

export async function getJson<T = any>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function postJson<T = any>(
  url: string,
  body: unknown,
  raw = false,
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

/** Polls fn until it returns a truthy value or the time runs out. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
