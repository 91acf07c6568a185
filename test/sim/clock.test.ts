// Sim time and WeChat's Beijing-time `yyyyMMddHHmmss`.
import { describe, expect, it } from "vitest";
import { SimTime, formatBeijingTime, parseBeijingTime } from "../../sim/src/clock";

describe("Beijing time", () => {
  it("formats epoch ms in UTC+8", () => {
    expect(formatBeijingTime(Date.UTC(2026, 4, 20, 2, 0, 0))).toBe("20260520100000");
    expect(formatBeijingTime(Date.UTC(2026, 11, 31, 16, 30, 5))).toBe("20270101003005");
  });

  it("parses back to the same instant", () => {
    expect(parseBeijingTime("20260520100000")).toBe(Date.UTC(2026, 4, 20, 2, 0, 0));
  });

  it.each(["2026052010000", "202605201000000", "2026-05-20 10:00", "20261320100000", "20260230100000", "20260520246000"])(
    "refuses %s",
    (text) => {
      expect(parseBeijingTime(text)).toBeNull();
    },
  );
});

describe("SimTime", () => {
  it("is the base clock plus an offset that only advance() and reset() change", () => {
    let base = 1_000;
    const time = new SimTime({ now: () => base });
    time.advance(500);
    expect(time.now()).toBe(1_500);
    base = 2_000;
    expect(time.now()).toBe(2_500);
    time.reset();
    expect(time.now()).toBe(2_000);
  });
});
