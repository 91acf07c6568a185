// Hostile input never produces a 5xx or an untyped error: random and mutated JSON to the JSON
// endpoints, random and mutated XML to the webhooks.
import fc from "fast-check";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildXml } from "../../src/wechat/xml";
import { startHarness, type Harness } from "../support/harness";

export const RUNS = { json: 150, xml: 200 } as const;

let h: Harness;
let token: string;
let orderId: string;
beforeAll(async () => {
  h = startHarness();
  ({ token } = await h.login(`fuzz-${crypto.randomUUID()}`));
  const created = await h.createOrder(token);
  orderId = ((await created.json()) as { order: { id: string } }).order.id;
});
afterAll(() => vi.unstubAllGlobals());

const CONTRACT_CODES = new Set([
  "invalid_request", "invalid_code", "unauthorized", "forbidden", "not_found", "invalid_state",
  "payload_too_large", "unsupported_media_type", "rate_limited", "upstream_error", "upstream_timeout",
]);

async function expectTypedAnswer(response: Response): Promise<void> {
  expect(response.status).toBeLessThan(500);
  if (response.status >= 400) {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    expect(CONTRACT_CODES.has(body.error?.code ?? "")).toBe(true);
    expect(typeof body.error?.message).toBe("string");
  } else {
    await response.arrayBuffer();
  }
}

/** JSON-ish bodies: anything JSON can express, plus near-misses of the real shapes, plus broken text. */
const jsonBody = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.record({ code: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)) }).map((v) => JSON.stringify(v)),
  fc
    .record({
      items: fc.oneof(
        fc.array(fc.record({ sku: fc.oneof(fc.constantFrom("coffee", "tea", "__proto__", "constructor", ""), fc.string()), quantity: fc.oneof(fc.integer(), fc.double(), fc.string()) }, { requiredKeys: [] }), { maxLength: 25 }),
        fc.anything(),
      ),
    })
    .map((v) => JSON.stringify(v)),
  fc.record({ amount: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)), reason: fc.oneof(fc.string({ maxLength: 120 }), fc.integer()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constant('{"__proto__":{"admin":true},"code":"x"}'),
);

describe("random JSON (property)", () => {
  it(`never gets a 5xx or an error outside the contract (${RUNS.json} cases × 3 endpoints)`, async () => {
    await fc.assert(
      fc.asyncProperty(jsonBody, fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", ""), async (body, type) => {
        // a new client address each time, so that the per-address login limit does not hide the validation
        const headers: Record<string, string> = { "CF-Connecting-IP": `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`, ...(type === "" ? {} : { "Content-Type": type }) };
        await expectTypedAnswer(await h.call("/api/login", { method: "POST", headers, body }));
        await expectTypedAnswer(await h.call("/api/orders", { method: "POST", headers, body, token }));
        await expectTypedAnswer(await h.call(`/admin/orders/${orderId}/refunds`, { method: "POST", headers, body, token: env.ADMIN_TOKEN! }));
      }),
      { numRuns: RUNS.json, seed: 7 },
    );
    // none of it made an order paid or refunded
    const view = (await (await h.call(`/admin/orders/${orderId}`, { token: env.ADMIN_TOKEN! })).json()) as { order: { status: string }; refunds: unknown[] };
    expect(view.order.status).toBe("pending");
    expect(view.refunds).toEqual([]);
  });
});

/** Near-misses of POST /admin/orders' body: any value where each field goes, and text WeChat's XML cannot carry. */
const merchantOrderBody = fc.oneof(
  jsonBody,
  fc
    .record(
      {
        openid: fc.oneof(fc.stringMatching(/^[0-9A-Za-z_-]{1,40}$/), fc.string({ maxLength: 200 }), fc.integer()),
        items: fc.oneof(
          fc.array(
            fc.record(
              {
                sku: fc.oneof(fc.string({ maxLength: 70 }), fc.constant("__proto__")),
                name: fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom("\u0000", "\uFFFE", "\uD800", " ", "咖啡")),
                quantity: fc.oneof(fc.integer({ min: -5, max: 120 }), fc.double(), fc.string()),
                price: fc.oneof(fc.integer({ min: -5, max: 200_000_000 }), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER)),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 22 },
          ),
          fc.anything(),
        ),
        description: fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.constant(null)),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);

describe("random input to the merchant-order and event endpoints (property)", () => {
  it(`never gets a 5xx or an error outside the contract (${RUNS.json} cases × 3 endpoints)`, async () => {
    await fc.assert(
      fc.asyncProperty(merchantOrderBody, fc.string({ maxLength: 80 }), fc.string({ maxLength: 60 }), async (body, query, eventId) => {
        const created = await h.call("/admin/orders", { method: "POST", headers: { "Content-Type": "application/json" }, body, token: env.ADMIN_TOKEN! });
        await expectTypedAnswer(created.clone());
        if (created.status === 201) expect(((await created.json()) as { order: { status: string } }).order.status).toBe("pending");
        await expectTypedAnswer(await h.call(`/admin/events?${encodeURI(query)}`, { token: env.ADMIN_TOKEN! }));
        await expectTypedAnswer(await h.call(`/admin/orders/${orderId}/events/${encodeURIComponent(eventId)}/redeliver`, { method: "POST", token: env.ADMIN_TOKEN! }));
      }),
      { numRuns: RUNS.json, seed: 17 },
    );
  });
});

const xmlName = fc.stringMatching(/^[a-z_]{1,12}$/);
const xmlBody = fc.oneof(
  fc.dictionary(xmlName, fc.string({ maxLength: 40 }), { maxKeys: 20 }).map((f) => buildXml(f)),
  fc.dictionary(xmlName, fc.string({ maxLength: 40 }), { maxKeys: 8 }).map((f) => `<xml>${Object.entries(f).map(([k, v]) => `<${k}>${v}</${k}>`).join("")}</xml>`),
  fc.string({ maxLength: 400 }),
  fc.constantFrom(
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><xml><return_code>&b;</return_code></xml>',
    '<!DOCTYPE xml SYSTEM "http://169.254.169.254/"><xml><return_code>SUCCESS</return_code></xml>',
    "<xml><a><b>nested</b></a></xml>",
    "<xml><return_code>SUCCESS</return_code><return_code>FAIL</return_code></xml>",
    "<root><return_code>SUCCESS</return_code></root>",
    "<xml><return_code><![CDATA[SUCCESS]]></return_code>",
  ),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => new TextDecoder("latin1").decode(bytes)),
);

describe("random XML to the webhooks (property)", () => {
  it(`always gets a WeChat reply, never a 5xx, and changes nothing (${RUNS.xml} cases × 2 webhooks)`, async () => {
    await fc.assert(
      fc.asyncProperty(xmlBody, async (body) => {
        for (const path of ["/api/pay/notify", "/api/refund/notify"]) {
          const response = await h.call(path, { method: "POST", headers: { "Content-Type": "text/xml" }, body });
          expect(response.status).toBeLessThan(500);
          expect(await response.text()).toMatch(/^<xml><return_code><!\[CDATA\[(SUCCESS|FAIL)\]\]><\/return_code><return_msg><!\[CDATA\[(OK|FAIL)\]\]><\/return_msg><\/xml>$/);
        }
      }),
      { numRuns: RUNS.xml, seed: 11 },
    );
    const view = (await (await h.call(`/admin/orders/${orderId}`, { token: env.ADMIN_TOKEN! })).json()) as { order: { status: string } };
    expect(view.order.status).toBe("pending");
  });
});
