/** A duration for people: "42 s", "3 min 20 s", "2 h 5 min". */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/**
 * What a syncing node reports of its progress (the node's log, `lotchain status`): undefined when
 * it is in step; else how far it has to go and, once measured, how fast and how long.
 */
export function syncProgress(
  height: number,
  s: { syncing: boolean; syncTargetHeight?: number | null; syncBlocksPerSecond?: number | null },
):
  | {
      height: number;
      target: number;
      blocksPerSecond: number | null;
      secondsLeft: number | null;
      text: string;
    }
  | undefined {
  const target = s.syncTargetHeight;
  if (!s.syncing || target == null || target <= height) return undefined;
  const left = target - height;
  const rate = s.syncBlocksPerSecond && s.syncBlocksPerSecond > 0 ? s.syncBlocksPerSecond : null;
  const secondsLeft = rate ? Math.ceil(left / rate) : null;
  const text = `#${height} of #${target}, ${left} blocks to go${
    rate ? ` at ${rate.toFixed(0)} blocks/s, about ${formatSeconds(left / rate)} left` : ""
  }`;
  return { height, target, blocksPerSecond: rate, secondsLeft, text };
}
