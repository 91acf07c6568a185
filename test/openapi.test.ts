// GET /openapi.json: a valid OpenAPI 3.1 document of exactly the routes the app serves, and a
// contract test: the real answers of a full flow must each match the schema the document gives for
// that path, method and status, so the description cannot drift from the code.
import { env } from "cloudflare:workers";
import { Validator } from "@cfworker/json-schema";
import { validate } from "@readme/openapi-parser";
import { afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import * as z from "zod/mini";
import { app } from "../src/app";
import type { ErrorCode } from "../src/errors";
import { ERROR_CODES, responses } from "../src/http/schemas/responses";
import type { OrderStatus, TransitionSource } from "../src/orders/order-state";
import { pushSignature } from "../src/wechat/mp";
import { SERVICE_ORIGIN, startHarness, type Harness } from "./support/harness";

const ADMIN = env.ADMIN_TOKEN!;

type Schema = Record<string, unknown>;
interface Response3 {
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: Schema }>;
}
interface Operation3 {
  parameters: { name: string; in: string; required: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, Response3>;
  security?: Record<string, string[]>[];
}
interface Document3 {
  openapi: string;
  paths: Record<string, Record<string, Operation3>>;
  webhooks: Record<string, { post: Operation3 }>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Schema> };
}

let doc: Document3;
beforeAll(async () => {
  const response = await startHarness().call("/openapi.json");
  expect(response.status).toBe(200);
  doc = (await response.json()) as Document3;
});
afterEach(() => vi.unstubAllGlobals());

const operationsOf = (d: Document3) => Object.entries(d.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document that an OpenAPI validator accepts", async () => {
    expect(doc.openapi).toBe("3.1.0");
    // The validator dereferences in place: it gets its own copy.
    const result = await validate(JSON.parse(JSON.stringify(doc)));
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it("is public, cacheable for five minutes, and the same text on every request", async () => {
    const h = startHarness();
    const [first, second] = [await h.call("/openapi.json"), await h.call("/openapi.json")];
    expect(first.headers.get("Cache-Control")).toBe("public, max-age=300");
    expect(first.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(first.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(await first.text()).toBe(await second.text());
  });

  it("lists every route the app serves, and none it does not", () => {
    const served = new Set(
      app.routes
        // app.use() middleware is registered for every method: it is not an endpoint.
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    expect(served.size).toBeGreaterThan(10);
    expect(new Set(operationsOf(doc))).toEqual(served);
  });

  it("describes the request bodies, query, path and header parameters with the schemas that validate them", () => {
    const createOrder = doc.paths["/api/orders"]!.post!;
    expect(createOrder.parameters).toContainEqual(expect.objectContaining({ name: "Idempotency-Key", in: "header", required: false }));
    const body = createOrder.requestBody!.content["application/json"]!.schema as { properties: { items: Schema } };
    expect(body.properties.items).toMatchObject({ minItems: 1, maxItems: 20, items: { properties: { quantity: { type: "integer", minimum: 1, maximum: 99 } } } });
    // A price in the body is not part of the request: it is ignored, never trusted.
    expect(JSON.stringify(body)).not.toContain("price");

    const listing = doc.paths["/admin/orders"]!.get!;
    expect(listing.parameters.map((p) => `${p.in} ${p.name}`)).toEqual(["status", "openid", "transactionId", "from", "to", "limit", "cursor"].map((n) => `query ${n}`));
    expect(listing.parameters.find((p) => p.name === "status")!.schema).toMatchObject({ enum: expect.arrayContaining(["paid", "partially_refunded"]) });

    const cancel = doc.paths["/admin/orders/{id}/refunds/{refundId}/cancel"]!.post!;
    expect(cancel.parameters.map((p) => [p.name, p.in, p.required])).toEqual([["id", "path", true], ["refundId", "path", true]]);

    expect(doc.paths["/api/pay/notify"]!.post!.requestBody!.content["text/xml"]).toBeDefined();
    expect(doc.paths["/api/pay/notify"]!.post!.responses["200"]!.content!["text/xml"]).toBeDefined();
    // v3's webhooks refuse in their own shape, whatever the reason: never the contract's JSON error.
    for (const status of ["400", "401", "413", "500", "503"]) {
      expect(doc.paths["/api/v3/pay/notify"]!.post!.responses[status]!.content!["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/V3NotifyFail" });
    }
  });

  it("says whose bearer token each endpoint takes, and which error codes each status carries", () => {
    expect(doc.components.securitySchemes).toMatchObject({ userToken: { type: "http", scheme: "bearer" }, operatorToken: { type: "http", scheme: "bearer" } });
    expect(doc.paths["/api/orders/{id}"]!.get!.security).toEqual([{ userToken: [] }]);
    expect(doc.paths["/admin/sessions/introspect"]!.post!.security).toEqual([{ operatorToken: [] }]);
    expect(doc.paths["/api/login"]!.post!.security).toBeUndefined();
    const codes = (op: Operation3, status: string) => (op.responses[status]!.content!["application/json"]!.schema as { properties: { error: { properties: { code: { enum: string[] } } } } }).properties.error.properties.code.enum;
    expect(codes(doc.paths["/api/login"]!.post!, "401")).toEqual(["invalid_code"]);
    expect(codes(doc.paths["/api/orders/{id}"]!.get!, "404")).toEqual(["not_found"]);
    expect(codes(doc.paths["/admin/orders/{id}/refunds"]!.post!, "409")).toEqual(["invalid_state"]);
    expect(Object.keys(doc.paths["/admin/orders/{id}"]!.get!.responses)).toEqual(expect.arrayContaining(["401", "403", "404", "429"]));
  });

  it("describes the merchant events of contract v1.1 under webhooks, with the Standard Webhooks headers", () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual(["order.closed", "order.paid", "order.settled", "order.shipped", "refund.failed", "refund.succeeded"]);
    for (const [type, { post }] of Object.entries(doc.webhooks)) {
      expect(post.parameters.map((p) => [p.name, p.in, p.required])).toEqual([["webhook-id", "header", true], ["webhook-timestamp", "header", true], ["webhook-signature", "header", true]]);
      const event = resolve(post.requestBody!.content["application/json"]!.schema);
      expect(event).toMatchObject({ required: ["id", "type", "timestamp", "data"], properties: { type: { const: type } } });
      const data = (event as { properties: { data: { required: string[] } } }).properties.data.required;
      expect(data).toEqual(type.startsWith("refund.") ? ["order", "refund"] : type === "order.shipped" || type === "order.settled" ? ["order", "shipping"] : ["order"]);
    }
  });

  it("keeps the response schemas' enums equal to the code's types", () => {
    expectTypeOf<(typeof ERROR_CODES)[number]>().toEqualTypeOf<ErrorCode>();
    expectTypeOf<z.output<typeof responses.Order>["status"]>().toEqualTypeOf<OrderStatus>();
    expectTypeOf<z.output<typeof responses.HistoryEntry>["source"]>().toEqualTypeOf<TransitionSource>();
  });
});

/** A component reference followed to its schema. */
function resolve(schema: Schema): Schema {
  const ref = schema.$ref;
  return typeof ref === "string" ? doc.components.schemas[ref.replace("#/components/schemas/", "")]! : schema;
}

describe("the real answers of a full flow match the document", () => {
  let h: Harness;
  /** Every "METHOD /path status" the flow saw, to show that each endpoint was exercised. */
  const seen = new Set<string>();

  /**
   * Calls `method template` with the template's {params} filled in, and checks the answer against the
   * document: its status must be listed, and its body must match the schema given for it.
   */
  async function call(method: "GET" | "POST", template: string, params: Record<string, string>, init: Parameters<Harness["call"]>[1] = {}) {
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!));
    const response = await h.call(path, { method, ...init });
    const operation = doc.paths[template.split("?")[0]!]?.[method.toLowerCase()];
    expect(operation, `${method} ${template} is not in the document`).toBeDefined();
    const described = operation!.responses[String(response.status)];
    expect(described, `${method} ${template} answered ${response.status}, which the document does not list`).toBeDefined();
    seen.add(`${method} ${template.split("?")[0]} ${response.status}`);
    for (const header of Object.keys(described!.headers ?? {})) {
      expect(response.headers.get(header), `${method} ${template} ${response.status} without ${header}`).not.toBeNull();
    }

    const text = await response.text();
    const [mediaType, media] = Object.entries(described!.content ?? {})[0] ?? [];
    if (mediaType === undefined) {
      expect(text, `${method} ${template} ${response.status} has no body in the document`).toBe("");
      return { status: response.status, body: undefined as never };
    }
    expect(response.headers.get("Content-Type")).toContain(mediaType);
    if (mediaType !== "application/json") return { status: response.status, body: text as never };
    const body: unknown = JSON.parse(text);
    // The $refs are relative to the document: the schema is checked with the document's components beside it.
    const validator = new Validator(structuredClone({ ...media!.schema, components: doc.components }) as never, "2020-12", false);
    const result = validator.validate(body);
    expect(result.errors, `${method} ${template} ${response.status}: ${text}`).toEqual([]);
    return { status: response.status, body: body as never };
  }

  // Each test its own rig: afterEach takes the outbound-fetch routing of the last one away.
  beforeEach(() => {
    h = startHarness();
  });

  it("login, orders, payment, closing, refunds, the operator's views, the catalog and health", async () => {
    const user = `openapi-${crypto.randomUUID()}`;
    const { code } = await h.simControl<{ code: string }>("/__sim/login-codes", { user });
    const login = await call("POST", "/api/login", {}, { json: { code } });
    expect(login.status).toBe(200);
    const { token, openid } = login.body as { token: string; openid: string };

    const created = await call("POST", "/api/orders", {}, { token, json: { items: [{ sku: "coffee", quantity: 2 }] }, headers: { "Idempotency-Key": "openapi-1" } });
    expect(created.status).toBe(201);
    const id = (created.body as { order: { id: string } }).order.id;
    expect((await call("POST", "/api/orders/{id}/pay", { id }, { token })).status).toBe(200);
    await h.simControl(`/__sim/orders/${id}/pay`, {});
    expect((await call("GET", "/api/orders/{id}", { id }, { token })).body).toMatchObject({ order: { status: "paid" } });
    expect((await call("GET", "/api/orders?limit=10", {}, { token })).status).toBe(200);

    const other = (await call("POST", "/api/orders", {}, { token, json: { items: [{ sku: "tea", quantity: 1 }] } })).body as { order: { id: string } };
    expect((await call("POST", "/api/orders/{id}/close", { id: other.order.id }, { token })).body).toMatchObject({ order: { status: "closed" } });

    const first = await call("POST", "/admin/orders/{id}/refunds", { id }, { token: ADMIN, json: { amount: 800, reason: "cold coffee" }, headers: { "Idempotency-Key": "openapi-refund-1" } });
    expect(first.status).toBe(201);
    // A second refund within a minute of the first waits for its turn: it can be cancelled.
    const queued = (await call("POST", "/admin/orders/{id}/refunds", { id }, { token: ADMIN, json: { amount: 500 } })).body as { refund: { id: string } };
    const cancelled = await call("POST", "/admin/orders/{id}/refunds/{refundId}/cancel", { id, refundId: queued.refund.id }, { method: "POST", token: ADMIN });
    expect(cancelled.body).toMatchObject({ refund: { status: "failed", failure: "cancelled" } });
    // Shipping: WeChat's shipping service learns of a payment a minute after it (the simulator at once, here).
    await h.simControl("/__sim/settings", { mpPaymentVisibleAfterSeconds: 0 });
    const shipped = await call("POST", "/admin/orders/{id}/shipping", { id }, { token: ADMIN, json: { logisticsType: "express", packages: [{ trackingNo: "SF1234567890", expressCompany: "SF", itemDesc: "Coffee" }] } });
    expect(shipped.body).toMatchObject({ order: { id }, shipping: { status: "uploaded", logisticsType: "express" } });
    expect((await call("POST", "/admin/orders/{id}/shipping", { id }, { token: ADMIN, json: { logisticsType: "virtual" } })).status).toBe(400);
    expect((await call("POST", "/admin/orders/{id}/shipping", { id: other.order.id }, { token: ADMIN, json: { logisticsType: "virtual", itemDesc: "Tea" } })).status).toBe(409);
    // WeChat's message push: the console's URL check, and a settlement in safe mode.
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = await pushSignature([env.WECHAT_PUSH_TOKEN!, timestamp, "2468"]);
    expect((await call("GET", `/api/wechat/push?${new URLSearchParams({ signature, timestamp, nonce: "2468", echostr: "e1" })}`, {})).body).toBe("e1");
    expect((await call("GET", `/api/wechat/push?${new URLSearchParams({ signature: "0".repeat(40), timestamp, nonce: "2468", echostr: "e1" })}`, {})).status).toBe(403);
    const pushed = await h.simControl<{ url: string }>("/__sim/push", { event: "trade_manage_order_settlement", outTradeNo: id, mode: "safe", settled: true, url: `${SERVICE_ORIGIN}/elsewhere` });
    const pushQuery = new URL(pushed.url).search;
    expect((await call("POST", `/api/wechat/push${pushQuery}`, {}, { body: String(h.notifications.at(-1)!.body), headers: { "Content-Type": "application/json" } })).body).toBe("success");
    expect((await call("POST", `/api/wechat/push${pushQuery.replace(/msg_signature=\w+/, `msg_signature=${"0".repeat(40)}`)}`, {}, { body: String(h.notifications.at(-1)!.body), headers: { "Content-Type": "application/json" } })).status).toBe(403);
    const view = await call("GET", "/admin/orders/{id}", { id }, { token: ADMIN });
    expect((view.body as { refunds: unknown[]; history: unknown[] }).refunds).toHaveLength(2);

    // The order's object writes the operator's index (and its events) after its commits, within seconds.
    await vi.waitFor(async () => expect((await call("GET", "/admin/orders?openid={openid}", { openid }, { token: ADMIN })).body).toMatchObject({ orders: expect.arrayContaining([expect.objectContaining({ id, openid, status: "paid" })]), cursor: null }), { timeout: 5_000 });
    expect((await call("GET", "/admin/orders?status=partially_refunded&limit=5", {}, { token: ADMIN })).status).toBe(200);
    await vi.waitFor(async () => expect((await call("GET", "/admin/events?status=delivered&limit=100", {}, { token: ADMIN })).body).toMatchObject({ events: expect.arrayContaining([expect.objectContaining({ orderId: id, type: "order.paid" })]) }), { timeout: 5_000 });
    expect((await call("POST", "/admin/orders/{id}/events/{eventId}/redeliver", { id, eventId: `evt_${id}.paid` }, { method: "POST", token: ADMIN })).status).toBe(202);
    expect((await call("POST", "/admin/orders/{id}/events/{eventId}/redeliver", { id, eventId: `evt_${id}.closed` }, { method: "POST", token: ADMIN })).status).toBe(404);
    const priced = await call("POST", "/admin/orders", {}, { token: ADMIN, json: { openid, items: [{ sku: "gift-box", name: "Gift box", quantity: 1, price: 9900 }] }, headers: { "Idempotency-Key": "openapi-merchant-1" } });
    expect(priced.body).toMatchObject({ order: { status: "pending", amount: 9900, description: "Gift box" } });
    expect((await call("POST", "/admin/orders", {}, { token: ADMIN, json: { openid, items: [] } })).status).toBe(400);
    expect((await call("POST", "/admin/sessions/introspect", {}, { token: ADMIN, json: { token } })).body).toMatchObject({ active: true, openid });
    expect((await call("POST", "/admin/sessions/introspect", {}, { token: ADMIN, json: { token: "not a token" } })).body).toEqual({ active: false });

    expect((await call("GET", "/api/products", {})).status).toBe(200);
    expect((await call("GET", "/healthz", {})).status).toBe(200);
    expect((await call("GET", "/openapi.json", {})).status).toBe(200);

    // WeChat's notifications in the project's API version: a repeat of the one the simulator
    // delivered, and one that is not even the version's format.
    expect(h.notifications.length).toBeGreaterThan(0);
    const repeat = h.notifications[0]!;
    expect((await call("POST", repeat.path, {}, await h.pay.request(repeat))).status).toBe(h.pay.version === "v2" ? 200 : 204);
    const junk = h.pay.raw("refund", "not xml, not json");
    expect((await call("POST", junk.path, {}, await h.pay.request(junk))).status).toBe(400);
    // The other version's webhooks answer too: v2's stay open under v3 (orders placed before a
    // switch are notified there), v3's say on a v2 service that v3 is not configured.
    expect((await call("POST", "/api/refund/notify", {}, { body: "not xml", headers: { "Content-Type": "text/xml" } })).status).toBe(400);
    for (const path of ["/api/v3/pay/notify", "/api/v3/refund/notify"]) {
      expect((await call("POST", path, {}, { json: { id: "EV-1", event_type: "TRANSACTION.SUCCESS" } })).body).toEqual(
        h.pay.version === "v2" ? { code: "FAIL", message: "API v3 is not configured." } : { code: "FAIL", message: "The signature does not verify." },
      );
      // The body is read whatever its Content-Type says (the signature covers its bytes): no 415, which the document does not list.
      const untyped = await call("POST", path, {}, { body: JSON.stringify({ id: "EV-1" }), headers: { "Content-Type": "text/plain" } });
      expect(untyped.status).toBe(h.pay.version === "v2" ? 503 : 401);
      expect(doc.paths[path]!.post!.responses["415"]).toBeUndefined();
    }
    expect((await call("POST", "/api/pay/notify", {}, { body: "<xml></xml>", headers: { "Content-Type": "text/xml" } })).status).toBe(400);

    expect((await call("POST", "/api/logout", {}, { method: "POST", token })).status).toBe(204);
  });

  it("errors: 400, 401, 403, 404, 409, 413, 415 in the contract's shape, with the codes and headers the document lists", async () => {
    const { token } = await h.login(`openapi-errors-${crypto.randomUUID()}`);
    const { token: stranger } = await h.login(`openapi-stranger-${crypto.randomUUID()}`);
    const id = ((await call("POST", "/api/orders", {}, { token, json: { items: [{ sku: "cake", quantity: 1 }] } })).body as { order: { id: string } }).order.id;

    expect((await call("POST", "/api/login", {}, { json: { code: "" } })).status).toBe(400);
    expect((await call("POST", "/api/orders", {}, { token, json: { items: [{ sku: "unknown", quantity: 1 }] } })).status).toBe(400);
    expect((await call("GET", "/api/orders?limit=500", {}, { token })).status).toBe(400);
    expect((await call("GET", "/admin/orders?from=yesterday", {}, { token: ADMIN })).status).toBe(400);
    expect((await call("POST", "/admin/orders/{id}/refunds", { id }, { token: ADMIN, json: { amount: 0 } })).status).toBe(400);
    expect((await call("POST", "/admin/sessions/introspect", {}, { token: ADMIN, json: {} })).status).toBe(400);

    expect((await call("POST", "/api/login", {}, { json: { code: "never-issued-by-wechat" } })).status).toBe(401);
    expect((await call("GET", "/api/orders", {})).status).toBe(401);
    expect((await call("POST", "/api/logout", {}, { method: "POST" })).status).toBe(401);
    expect((await call("GET", "/admin/orders/{id}", { id })).status).toBe(401);

    expect((await call("GET", "/api/orders/{id}", { id }, { token: stranger })).status).toBe(403);
    expect((await call("POST", "/api/orders/{id}/pay", { id }, { token: stranger })).status).toBe(403);
    expect((await call("GET", "/admin/orders", {}, { token })).status).toBe(403);

    const missing = "20261201000000NoSuchOrder0000000";
    expect((await call("GET", "/api/orders/{id}", { id: missing }, { token })).status).toBe(404);
    expect((await call("POST", "/api/orders/{id}/close", { id: "no!" }, { token })).status).toBe(404);
    expect((await call("GET", "/admin/orders/{id}", { id: missing }, { token: ADMIN })).status).toBe(404);
    expect((await call("POST", "/admin/orders/{id}/refunds/{refundId}/cancel", { id: missing, refundId: "20261201000000RNoSuchRefund00000" }, { method: "POST", token: ADMIN })).status).toBe(404);

    expect((await call("POST", "/admin/orders/{id}/refunds", { id }, { token: ADMIN, json: { amount: 100 } })).status).toBe(409);
    expect((await call("POST", "/api/orders/{id}/close", { id }, { token })).status).toBe(200);
    expect((await call("POST", "/api/orders/{id}/pay", { id }, { token })).status).toBe(409);

    expect((await call("POST", "/api/login", {}, { json: { code: "x".repeat(9000) } })).status).toBe(413);
    expect((await call("POST", "/api/orders", {}, { token, body: "{}", headers: { "Content-Type": "text/plain" } })).status).toBe(415);
    expect((await call("POST", "/api/pay/notify", {}, { body: `<xml>${"a".repeat(17_000)}</xml>`, headers: { "Content-Type": "text/xml" } })).status).toBe(413);
  });

  it("errors: 429 after too many wrong operator tokens, 503 and an unhealthy /healthz without a usable setting", async () => {
    for (let attempt = 0; attempt < 10; attempt++) expect((await call("GET", "/admin/orders", {}, { token: "wrong" })).status).toBe(403);
    const limited = await h.call("/admin/orders", { token: "wrong" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect((await call("GET", "/admin/orders", {}, { token: "wrong" })).status).toBe(429);

    vi.unstubAllGlobals();
    h = startHarness({ env: { ...env, PRODUCTS: "not json" } as typeof env });
    expect((await call("GET", "/api/products", {})).status).toBe(503);
    expect((await call("GET", "/healthz", {})).body).toMatchObject({ ok: false, problems: [{ setting: "PRODUCTS" }] });
  });

  it("exercised every endpoint of the document", () => {
    const exercised = new Set([...seen].map((s) => s.split(" ").slice(0, 2).join(" ")));
    expect(exercised).toEqual(new Set(operationsOf(doc)));
  });
});
