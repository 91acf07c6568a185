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

/** A requested line: its shape already validated (see http/validation.ts), its sku not yet. */
export interface RequestedItem {
  readonly sku: string;
  readonly quantity: number;
}

/** Prices requested items with the catalog: every sku must be sold and listed once. */
export function priceItems(items: readonly RequestedItem[], catalog: Catalog): PricingResult {
  const lines: LineItem[] = [];
  const seen = new Set<string>();
  for (const [index, { sku, quantity }] of items.entries()) {
    const product = catalog.get(sku);
    if (product === undefined) return { ok: false, problem: `items[${index}].sku is not a product we sell` };
    if (seen.has(sku)) return { ok: false, problem: `items[${index}].sku repeats an earlier item; list each product once` };
    seen.add(sku);
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

/**
 * An order priced by the merchant's own backend (POST /admin/orders): its items as given, their
 * sum, and the description given or the first item's name, kept within WeChat's byte limit.
 */
export function merchantPricedOrder(items: readonly LineItem[], description: string | undefined): PricingResult {
  const amount = items.reduce((sum, item) => sum + item.price * item.quantity, 0);
  if (amount > ITEM_LIMITS.maxAmount) return { ok: false, problem: "the order's amount is over the limit" };
  const text = description === undefined || description.trim() === "" ? items[0]!.name : description.trim();
  return { ok: true, order: { items: items.map(({ sku, name, quantity, price }) => ({ sku, name, quantity, price })), amount, description: truncateUtf8(text, MAX_DESCRIPTION_BYTES) } };
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
