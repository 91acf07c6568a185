// Pricing from the catalog: integer fen only, whatever the client sends.
import { describe, expect, it } from "vitest";
import { priceItems, truncateUtf8 } from "../../src/orders/pricing";

const catalog = new Map([
  ["a", { name: "Apple", price: 980 }],
  ["b", { name: "香蕉", price: 1 }],
]);

describe("priceItems", () => {
  it("multiplies catalog prices by quantities in whole fen", () => {
    const result = priceItems([{ sku: "a", quantity: 3 }, { sku: "b", quantity: 7 }], catalog);
    expect(result).toEqual({
      ok: true,
      order: {
        items: [
          { sku: "a", name: "Apple", quantity: 3, price: 980 },
          { sku: "b", name: "香蕉", quantity: 7, price: 1 },
        ],
        amount: 2947,
        description: "Apple x3, 香蕉 x7",
      },
    });
    // 9.8 yuan × 100 would be 980.0000000000001 in floating point; fen never are.
    if (result.ok) expect(Number.isInteger(result.order.amount)).toBe(true);
  });

  it("takes the price from the catalog even when the item carries one", () => {
    const fromClient = { sku: "a", quantity: 1, price: 1, amount: 1 };
    const result = priceItems([fromClient], catalog);
    expect(result.ok && result.order.amount).toBe(980);
  });

  it("refuses skus that are not sold, including inherited property names", () => {
    for (const sku of ["zz", "__proto__", "constructor", "toString"]) {
      expect(priceItems([{ sku, quantity: 1 }], catalog)).toMatchObject({ ok: false });
    }
  });

  it("cuts a description to 127 UTF-8 bytes without splitting a character", () => {
    const cut = truncateUtf8("香".repeat(100), 127);
    expect(new TextEncoder().encode(cut).length).toBeLessThanOrEqual(127);
    expect(cut.endsWith("…")).toBe(true);
    expect(cut.replace("…", "")).toMatch(/^香+$/);
    expect(truncateUtf8("short", 127)).toBe("short");
  });
});
