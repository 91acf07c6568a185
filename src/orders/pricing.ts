// Turns a client's item list into priced line items, an amount and a description, using only the
// configured catalog. Pure. Any price or amount the client sends is never read.
import type { Catalog } from "../config";

export interface LineItem {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  /** unit price in fen, from the catalog */
  readonly price: number;
}

export interface PricedOrder {
  readonly items: readonly LineItem[];
  /** integer fen */
  readonly amount: number;
  /** what WeChat shows the payer (unifiedorder `body`), within WeChat's length limit */
  readonly description: string;
}

export const ITEM_LIMITS = { maxItems: 20, maxQuantity: 99, maxAmount: 100_000_000 } as const;

/** WeChat's `body` is String(127); sources disagree on chars vs bytes, so we stay within 127 UTF-8 bytes. */
export const MAX_DESCRIPTION_BYTES = 127;

export type PricingResult = { readonly ok: true; readonly order: PricedOrder } | { readonly ok: false; readonly problem: string };

/** Validates `items` (as received, untrusted) against the catalog and prices them. */
export function priceItems(items: unknown, catalog: Catalog): PricingResult {
  if (!Array.isArray(items) || items.length === 0) {
    return { ok: false, problem: '"items" must be a non-empty array of {"sku", "quantity"}' };
  }
  if (items.length > ITEM_LIMITS.maxItems) {
    return { ok: false, problem: `"items" may list at most ${ITEM_LIMITS.maxItems} products` };
  }
  const lines: LineItem[] = [];
  const seen = new Set<string>();
  for (const [index, item] of items.entries()) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      return { ok: false, problem: `items[${index}] must be an object` };
    }
    const { sku, quantity } = item as Record<string, unknown>;
    const product = typeof sku === "string" ? catalog.get(sku) : undefined;
    if (typeof sku !== "string" || product === undefined) {
      return { ok: false, problem: `items[${index}].sku is not a product we sell` };
    }
    if (seen.has(sku)) return { ok: false, problem: `items[${index}].sku repeats "${sku}"; list each product once` };
    seen.add(sku);
    if (typeof quantity !== "number" || !Number.isInteger(quantity) || quantity < 1 || quantity > ITEM_LIMITS.maxQuantity) {
      return { ok: false, problem: `items[${index}].quantity must be a whole number from 1 to ${ITEM_LIMITS.maxQuantity}` };
    }
    lines.push({ sku, name: product.name, quantity, price: product.price });
  }
  // Integer fen throughout: price and quantity are safe integers, so the sum is exact.
  const amount = lines.reduce((sum, line) => sum + line.price * line.quantity, 0);
  if (amount > ITEM_LIMITS.maxAmount) return { ok: false, problem: "the order's amount is over the limit" };
  return { ok: true, order: { items: lines, amount, description: describe(lines) } };
}

function describe(lines: readonly LineItem[]): string {
  const text = lines.map((l) => (l.quantity > 1 ? `${l.name} x${l.quantity}` : l.name)).join(", ");
  return truncateUtf8(text, MAX_DESCRIPTION_BYTES);
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character; marks a cut with "…". */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  const ellipsis = "…";
  const budget = maxBytes - encoder.encode(ellipsis).length;
  let out = "";
  let used = 0;
  for (const ch of text) {
    const size = encoder.encode(ch).length;
    if (used + size > budget) break;
    out += ch;
    used += size;
  }
  return out + ellipsis;
}
