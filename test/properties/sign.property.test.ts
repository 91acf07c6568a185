// Properties of the v2 sign, over random parameter sets: sign then verify round-trips, and any
// single change to a signed value, the key or the sign is caught.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sign, verifySign, type SignType } from "../../src/wechat/sign";

export const RUNS = { sign: 300 } as const;

const fieldName = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/).filter((n) => n !== "sign");
const fieldValue = fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" });
const fields = fc.dictionary(fieldName, fieldValue, { minKeys: 1, maxKeys: 12 });
const key = fc.stringMatching(/^[0-9A-Za-z]{32}$/);
const signType = fc.constantFrom<SignType>("MD5", "HMAC-SHA256");

describe("v2 sign (property)", () => {
  it(`verifies what it signed, and nothing else (${RUNS.sign} random parameter sets)`, async () => {
    await fc.assert(
      fc.asyncProperty(fields, key, signType, fc.nat(), fieldValue, async (params, k, type, pick, replacement) => {
        const signed = { ...params, sign: await sign(params, k, type) };
        expect(await verifySign(signed, k, [type])).toBe(true);
        // the other algorithm is never accepted unless asked for
        expect(await verifySign(signed, k, [type === "MD5" ? "HMAC-SHA256" : "MD5"])).toBe(false);
        // change one value
        const names = Object.keys(params);
        const name = names[pick % names.length]!;
        if (replacement !== params[name]) {
          expect(await verifySign({ ...signed, [name]: replacement }, k, [type])).toBe(false);
        }
        // another key
        const otherKey = k.slice(1) + (k[0] === "a" ? "b" : "a");
        expect(await verifySign(signed, otherKey, [type])).toBe(false);
        // a sign one character off
        const s = signed.sign;
        const flipped = s.slice(0, -1) + (s.endsWith("0") ? "1" : "0");
        expect(await verifySign({ ...signed, sign: flipped }, k, [type])).toBe(false);
      }),
      { numRuns: RUNS.sign, seed: 20261122 },
    );
  });
});
