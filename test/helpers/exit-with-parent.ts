import { isMainThread } from "node:worker_threads";

/**
 * Preloaded (`node --import`) into the processes the network tests spawn: the child's stdin is a
 * pipe from the test process, and when that pipe closes (the test worker exited or was killed
 * before it could clean up) the child kills itself, so no test leaves a node behind. The pipe is
 * unref'd: it never keeps a finished command alive. Worker threads inherit the preload (a PoW
 * miner's, say) and have no such pipe: only the main thread watches it.
 */
if (isMainThread) {
  const die = () => process.kill(process.pid, "SIGKILL");
  process.stdin.on("end", die);
  process.stdin.on("error", die);
  process.stdin.resume();
  (process.stdin as { unref?: () => void }).unref?.();
}
