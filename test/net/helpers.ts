import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { P2PNode, type P2POptions } from "../../src/net/p2p.js";

/**
 * Real libp2p nodes on 127.0.0.1 for tests: each in its own temp data dir, all stopped and
 * removed by cleanup(). LOG_LEVEL=debug shows their logs.
 */
export class TestNetwork {
  readonly #nodes: P2PNode[] = [];
  readonly #dirs: string[] = [];

  async dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "lotchain-net-"));
    this.#dirs.push(dir);
    return dir;
  }

  /** Creates (and by default starts) a node; overrides win over test defaults. */
  async node(overrides: Partial<P2POptions> = {}, start = true): Promise<P2PNode> {
    const node = await P2PNode.create({
      dataDir: overrides.dataDir ?? (await this.dataDir()),
      host: "127.0.0.1",
      port: 0,
      bootstrap: [],
      protocolPrefix: "/lotchain/test",
      logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
      reconnectBaseMs: 200,
      reconnectMaxMs: 1_000,
      ...overrides,
    });
    this.#nodes.push(node);
    if (start) await node.start();
    return node;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.#nodes.splice(0).map((n) => n.stop()));
    await Promise.all(this.#dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

export interface LogEntry {
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps its JSON lines (level debug and up) for assertions. */
export function capturingLogger(): {
  logger: Logger;
  messages: () => string[];
  entries: () => LogEntry[];
} {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  const entries = () => lines.map((line) => JSON.parse(line) as LogEntry);
  return { logger, entries, messages: () => entries().map((entry) => entry.msg) };
}

/** The node's first listen address without the /p2p/<id> suffix, as "host:port". */
export function hostPort(node: P2PNode): string {
  const address = node.listenAddresses()[0];
  const match = address === undefined ? null : /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(address);
  if (match === null) throw new Error(`no ip4/tcp listen address: ${address}`);
  return `${match[1]}:${match[2]}`;
}

export function isConnected(a: P2PNode, b: P2PNode): boolean {
  return a.peers().some((p) => p.peerId === b.peerId);
}

/** Polls `condition` every 25 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Repeats `action` (every `intervalMs`) until `condition` holds; fails with `what` after
 * `timeoutMs`. For a state no event announces (e.g. gossipsub's streams reopened): the test
 * waits for the behaviour itself rather than for a guessed delay.
 */
export async function retryUntil(
  what: string,
  action: (attempt: number) => Promise<unknown>,
  condition: () => boolean,
  { timeoutMs = 10_000, intervalMs = 100 } = {},
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    await action(attempt);
    const next = Date.now() + intervalMs;
    while (Date.now() < next) {
      if (condition()) return attempt;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (condition()) return attempt;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms and ${attempt} attempts: ${what}`);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const bytes = (text: string) => new TextEncoder().encode(text);
export const text = (data: Uint8Array) => new TextDecoder().decode(data);
