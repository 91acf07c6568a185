// Helpers with no I/O: random nonces and Beijing-time timestamps.
import { describe, expect, it } from "vitest";
import { formatBeijingTime, parseBeijingTime } from "../../src/wechat/beijing-time";
import { randomNonce } from "../../src/wechat/nonce";

describe("randomNonce", () => {
  it("is 32 characters of [A-Za-z0-9] by default, and the requested length otherwise", () => {
    expect(randomNonce()).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(randomNonce(1)).toMatch(/^[A-Za-z0-9]$/);
    expect(randomNonce(100)).toHaveLength(100);
  });

  it("does not repeat", () => {
    const nonces = new Set(Array.from({ length: 1000 }, () => randomNonce(16)));
    expect(nonces.size).toBe(1000);
  });

  it("uses every character of the alphabet about equally (no modulo bias)", () => {
    const counts = new Map<string, number>();
    for (const char of randomNonce(62 * 1000)) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Expected 1000 each; a biased mapping of 256 bytes onto 62 characters would push the first 8 towards 1250.
    for (const count of counts.values()) expect(count).toBeGreaterThan(820);
    for (const count of counts.values()) expect(count).toBeLessThan(1180);
  });

  it("refuses a length that is not a positive integer", () => {
    for (const length of [0, -1, 1.5, Number.NaN]) expect(() => randomNonce(length)).toThrow(RangeError);
  });
});

describe("Beijing time", () => {
  it("formats in UTC+8 as yyyyMMddHHmmss", () => {
    expect(formatBeijingTime(Date.UTC(2014, 8, 3, 5, 15, 40))).toBe("20140903131540");
    expect(formatBeijingTime(Date.UTC(2024, 11, 31, 16, 0, 0))).toBe("20250101000000"); // crosses the year in Beijing
    expect(formatBeijingTime(0)).toBe("19700101080000");
  });

  it("parses back to the same instant", () => {
    const ms = Date.UTC(2026, 1, 28, 23, 59, 59);
    expect(parseBeijingTime(formatBeijingTime(ms))).toBe(ms);
    expect(parseBeijingTime("20140903131540")).toBe(Date.UTC(2014, 8, 3, 5, 15, 40));
    expect(parseBeijingTime("20240229120000")).toBe(Date.UTC(2024, 1, 29, 4, 0, 0)); // leap day
  });

  it("drops milliseconds when formatting", () => {
    expect(formatBeijingTime(Date.UTC(2014, 8, 3, 5, 15, 40, 999))).toBe("20140903131540");
  });

  it("refuses anything that is not a real date and time", () => {
    for (const bad of ["", "2014090313154", "201409031315400", "2014-09-03 13:15:40", "20140231120000", "20230229120000", "20141301000000", "20140903240000", "20140903126000", "20140903125960", "2014090313154a", " 20140903131540"]) {
      expect(() => parseBeijingTime(bad), bad).toThrow(RangeError);
    }
  });

  it("refuses a non-finite instant", () => {
    expect(() => formatBeijingTime(Number.NaN)).toThrow(RangeError);
    expect(() => formatBeijingTime(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
