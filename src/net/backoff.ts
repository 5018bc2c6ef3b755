export interface Backoff {
  /** delay after the first failure */
  baseMs: number;
  /** the delay never grows past this: dialling goes on forever, at worst this often */
  maxMs: number;
}

/**
 * Exponential backoff with ±25% jitter, so nodes that lost the same peer at the same moment do
 * not all redial it in lockstep.
 */
export function backoffDelay(failures: number, { baseMs, maxMs }: Backoff): number {
  const exponential = baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  const jittered = Math.min(maxMs, exponential) * (0.75 + Math.random() * 0.5);
  return Math.round(Math.min(maxMs, jittered));
}
