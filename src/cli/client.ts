import type { BlockJson } from "../core/block.js";
import type { TransactionJson } from "../core/transaction.js";
import { CliError } from "./output.js";

export interface StatusJson {
  chainId: string;
  consensus: string;
  height: number;
  headHash: string;
  finalizedHeight: number;
  peerId: string | null;
  listenAddresses: string[];
  peers: number;
  syncing: boolean;
  syncTargetHeight?: number | null;
  syncBlocksPerSecond?: number | null;
  mempoolSize?: number;
  version: string;
  minFee: string;
}

export interface AccountJson {
  address: string;
  balance: string;
  stake: string;
  nonce: number;
  pendingNonce: number;
}

export type TransactionStatusJson = TransactionJson & {
  status: "pending" | "included";
  height?: number;
  blockHash?: string;
};

/** One transaction's answer from the batch route: the status a single POST would have got. */
export interface BatchResultJson {
  id: string | null;
  status: number;
  error?: string;
  message?: string;
}

/** A small client of the node's REST API (SPEC section 6) for the CLI. */
export class NodeClient {
  readonly base: string;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CliError(`--node must be a URL such as http://127.0.0.1:5000, got "${url}"`);
    }
    this.base = parsed.toString().replace(/\/$/, "");
  }

  private async request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new CliError(`cannot reach the node at ${this.base}: ${cause}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(`the node at ${this.base} answered ${res.status} with non-JSON`);
    }
    if (!res.ok) {
      const err = json as { error?: string; message?: string } | undefined;
      throw new ApiError(res.status, err?.error ?? "error", err?.message ?? text);
    }
    return json as T;
  }

  /** Any GET route of the API. */
  get<T>(path: string): Promise<T> {
    return this.request("GET", path);
  }

  status(): Promise<StatusJson> {
    return this.request("GET", "/v1/status");
  }

  account(address: string): Promise<AccountJson> {
    return this.request("GET", `/v1/accounts/${encodeURIComponent(address)}`);
  }

  submit(tx: TransactionJson): Promise<{ id: string }> {
    return this.request("POST", "/v1/transactions", tx);
  }

  /** Up to 1,000 signed transactions through the batch route; one answer each, in order. */
  submitBatch(txs: unknown[]): Promise<{ results: BatchResultJson[] }> {
    return this.request("POST", "/v1/transactions/batch", { transactions: txs });
  }

  transaction(id: string): Promise<TransactionStatusJson> {
    return this.request("GET", `/v1/transactions/${encodeURIComponent(id)}`);
  }

  block(id: string | number): Promise<BlockJson> {
    return this.request("GET", `/v1/blocks/${encodeURIComponent(String(id))}`);
  }

  /** Polls until the transaction is in a block; fails after timeoutMs. */
  async waitForInclusion(
    id: string,
    timeoutMs: number,
    onPoll?: (tx: TransactionStatusJson, elapsedMs: number) => void,
  ): Promise<TransactionStatusJson> {
    const start = Date.now();
    const deadline = start + timeoutMs;
    for (;;) {
      const tx = await this.transaction(id);
      if (tx.status === "included") return tx;
      onPoll?.(tx, Date.now() - start);
      if (Date.now() > deadline)
        throw new CliError(
          `transaction ${id} not in a block after ${timeoutMs} ms (still pending)`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`the node refused (${status} ${code}): ${detail}`);
  }
}
