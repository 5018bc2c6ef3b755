/** Messages between the miner (main thread) and its worker thread. */

/** Main thread to worker: mine a new template (replacing any other), or stop mining. */
export type MinerRequest =
  | {
      type: "mine";
      /** Identifies the template; reports name it so stale ones are ignored. */
      job: number;
      /** powHashInput of the template (its nonce bytes are overwritten). */
      input: Uint8Array;
      /** 32 bytes, big-endian. */
      target: Uint8Array;
    }
  | { type: "idle" };

/** Worker to main thread. `hashes`: nonces tried since the previous report. */
export type MinerReport =
  | { type: "found"; job: number; nonce: bigint; hashes: number }
  | { type: "progress"; job: number; hashes: number }
  | { type: "exhausted"; job: number; hashes: number };
