import { describe, expect, it } from "vitest";
import { formatSeconds, syncProgress } from "../../src/util/duration.js";

describe("sync progress for people", () => {
  it("says nothing in step, the distance before the speed is known, then speed and time left", () => {
    expect(syncProgress(10, { syncing: false, syncTargetHeight: null })).toBeUndefined();
    expect(syncProgress(10, { syncing: true, syncTargetHeight: 10 })).toBeUndefined();
    expect(syncProgress(100, { syncing: true, syncTargetHeight: 600 })?.text).toBe(
      "#100 of #600, 500 blocks to go",
    );
    expect(
      syncProgress(100, { syncing: true, syncTargetHeight: 10_100, syncBlocksPerSecond: 50 }),
    ).toEqual({
      height: 100,
      target: 10_100,
      blocksPerSecond: 50,
      secondsLeft: 200,
      text: "#100 of #10100, 10000 blocks to go at 50 blocks/s, about 3 min 20 s left",
    });
  });

  it("formats durations", () => {
    expect(formatSeconds(0.2)).toBe("1 s");
    expect(formatSeconds(59)).toBe("59 s");
    expect(formatSeconds(7500)).toBe("2 h 5 min");
  });
});
