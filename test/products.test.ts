// GET /api/products: the public catalog, exactly as PRODUCTS prices it, cacheable for a short while.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../src/env";
import { errorOf, startHarness } from "./support/harness";

afterEach(() => vi.unstubAllGlobals());

function envWith(overrides: Partial<Record<keyof Env, string | undefined>>): Env {
  return { ...env, ...overrides } as Env;
}

describe("GET /api/products", () => {
  it("lists every product of PRODUCTS with its sku, name and integer price in fen, without a token", async () => {
    const response = await startHarness().call("/api/products");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      products: [
        { sku: "coffee", name: "Coffee", price: 1800 },
        { sku: "tea", name: "Green tea", price: 1200 },
        { sku: "cake", name: "Cheesecake", price: 2650 },
      ],
    });
  });

  it("follows the catalog setting, with names trimmed as the order's pricing uses them", async () => {
    const h = startHarness({ env: envWith({ PRODUCTS: '{"mug":{"name":" Mug ","price":4900}}' }) });
    const body = (await (await h.call("/api/products")).json()) as { products: unknown[] };
    expect(body.products).toEqual([{ sku: "mug", name: "Mug", price: 4900 }]);
  });

  it("may be cached for a minute by anyone (it is the same for every user), and carries nosniff and a request id", async () => {
    const response = await startHarness().call("/api/products");
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=60");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  });

  it("is the same with a token: the catalog is public and never private to a user", async () => {
    const h = startHarness();
    const { token } = await h.login();
    const response = await h.call("/api/products", { token });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=60");
  });

  it("is 503 not_configured naming PRODUCTS when the catalog is unusable, and the error is not cached", async () => {
    for (const products of [undefined, "{}", '{"x":{"name":"X","price":9.8}}', "not json"]) {
      const h = startHarness({ env: envWith({ PRODUCTS: products }) });
      const response = await h.call("/api/products");
      expect(response.status).toBe(503);
      const error = await errorOf(response);
      expect(error.code).toBe("not_configured");
      expect(error.message).toContain("PRODUCTS");
      expect(response.headers.get("Cache-Control")).toBeNull();
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    }
  });

  it("answers only GET (and HEAD): writing to the catalog is not an endpoint", async () => {
    const h = startHarness();
    expect((await h.call("/api/products", { method: "HEAD" })).status).toBe(200);
    const response = await h.call("/api/products", { json: { sku: "free", name: "Free", price: 1 } });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("not_found");
  });
});
