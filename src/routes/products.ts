// GET /api/products: the catalog of PRODUCTS for the mini-program's shop page. Public and read-only;
// it shows what the server will charge, and never takes a price from anyone.
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireConfig } from "../config";

/** One entry of the public catalog: a sku and what the server charges for it, in integer fen. */
export interface ProductView {
  readonly sku: string;
  readonly name: string;
  readonly price: number;
}

/** A shop page may show a catalog up to this old; a price change reaches every client within it. */
const CATALOG_MAX_AGE_SECONDS = 60;

export const productRoutes = new Hono<AppEnv>().get("/api/products", (c) => {
  const { products } = requireConfig(c.env, ["products"]);
  const list: ProductView[] = [...products].map(([sku, { name, price }]) => ({ sku, name, price }));
  c.header("Cache-Control", `public, max-age=${CATALOG_MAX_AGE_SECONDS}`);
  return c.json({ products: list });
});
