import { isBetter } from "../chain/fork-choice.js";
import type { ChainStatus } from "./wire.js";

/**
 * Why a peer is on another network, or undefined when it is on ours. The text goes to the peer
 * as the status protocol's error, so it names both sides.
 */
export function statusMismatch(ours: ChainStatus, theirs: ChainStatus): string | undefined {
  if (theirs.chainId !== ours.chainId)
    return `chain id mismatch: ours ${ours.chainId}, yours ${theirs.chainId}`;
  if (theirs.genesisHash !== ours.genesisHash)
    return `genesis mismatch: ours ${ours.genesisHash}, yours ${theirs.genesisHash}`;
  return undefined;
}

/** Whether a peer's chain beats ours by the fork-choice rule (score, then the lower hash). */
export function isBetterChain(
  theirs: ChainStatus,
  ours: { score: bigint; hashHex: string },
): boolean {
  return isBetter({ score: theirs.score, hashHex: theirs.headHash }, ours);
}

export interface PeerChain {
  peerId: string;
  status: ChainStatus;
  /** when the status was last heard (ms) */
  updatedAt: number;
}

/** The last status heard from each connected peer: what sync chooses its source from. */
export class PeerBook {
  readonly #peers = new Map<string, PeerChain>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.#peers.size;
  }

  set(peerId: string, status: ChainStatus): void {
    this.#peers.set(peerId, { peerId, status, updatedAt: this.now() });
  }

  get(peerId: string): PeerChain | undefined {
    return this.#peers.get(peerId);
  }

  delete(peerId: string): void {
    this.#peers.delete(peerId);
  }

  /**
   * The peer relayed a block that became our head: it holds that block, so its chain is at
   * least that good. Raises its recorded head (never lowers it) until its next status.
   */
  noteHead(peerId: string, head: { height: number; hashHex: string; score: bigint }): void {
    const known = this.#peers.get(peerId);
    if (!known || known.status.score >= head.score) return;
    this.#peers.set(peerId, {
      peerId,
      status: { ...known.status, height: head.height, headHash: head.hashHex, score: head.score },
      updatedAt: this.now(),
    });
  }

  /** The peer with the best chain better than `ours`, among those `eligible` says yes to. */
  best(
    ours: { score: bigint; hashHex: string },
    eligible: (peerId: string) => boolean,
  ): PeerChain | undefined {
    let best: PeerChain | undefined;
    for (const peer of this.#peers.values()) {
      if (!eligible(peer.peerId) || !isBetterChain(peer.status, ours)) continue;
      if (
        best === undefined ||
        isBetter(
          { score: peer.status.score, hashHex: peer.status.headHash },
          { score: best.status.score, hashHex: best.status.headHash },
        )
      )
        best = peer;
    }
    return best;
  }

  all(): PeerChain[] {
    return [...this.#peers.values()];
  }
}
