/**
 * Who keeps a connection when there are more peers than slots.
 *
 * Peer ids cost nothing: an attacker can connect from as many as it likes and hold every slot,
 * so that honest newcomers are refused (libp2p refuses inbound connections past its cap before
 * it knows who is calling). Instead libp2p admits a few past the cap (see P2PNode) and this
 * policy then drops one peer for each one too many:
 *
 * - never a peer this node dialled (bootstrap and discovered peers: the node chose them, an
 *   attacker cannot make it choose its ids by connecting), nor one that proved useful (a block
 *   it relayed became our head, or blocks it served for sync verified);
 * - among the other peers (inbound, unproven), the lowest score goes first, then one at random,
 *   never the newcomer itself: an honest newcomer always gets in while idle ids hold slots;
 * - when every other peer is protected, the newcomer goes.
 *
 * A peer dropped for room is not let in again for a while (P2PNode), so an attacker cannot take
 * the slot back by redialling with the same id.
 */

export interface SlotPeer {
  peerId: string;
  /** this node dialled it */
  outbound: boolean;
  /** it proved useful lately */
  useful: boolean;
  /** lotchain's score: 0 neutral, negative after penalties */
  score: number;
}

/** Scores within this of the lowest count as equally low (scores decay continuously). */
const SCORE_SLACK = 1;

/**
 * The peers to drop so that at most `maxPeers` stay (empty when there is room), `newcomer`
 * (the peer that just connected) last. `random` returns a number in [0, 1) (for tests).
 */
export function peersToDrop(
  peers: SlotPeer[],
  maxPeers: number,
  newcomer?: string,
  random: () => number = Math.random,
): string[] {
  const drop: string[] = [];
  const unprotected = peers.filter((p) => !p.outbound && !p.useful);
  let left = unprotected.filter((p) => p.peerId !== newcomer);
  let excess = peers.length - maxPeers;
  for (; excess > 0 && left.length > 0; excess--) {
    const lowest = Math.min(...left.map((p) => p.score));
    const pool = left.filter((p) => p.score <= lowest + SCORE_SLACK);
    const victim = pool[Math.floor(random() * pool.length)]!;
    drop.push(victim.peerId);
    left = left.filter((p) => p !== victim);
  }
  if (excess > 0 && unprotected.some((p) => p.peerId === newcomer)) drop.push(newcomer!);
  return drop;
}
