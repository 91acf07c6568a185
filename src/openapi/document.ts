// Builds the OpenAPI 3.1 document of the service from the operations table and the zod schemas,
// with zod's own JSON Schema conversion (draft 2020-12, which OpenAPI 3.1 uses). Requests are
// described as they arrive (zod's "input" side: a query limit is a string), answers as they leave.
import * as z from "zod/mini";
import type { ErrorCode, ErrorStatus } from "../errors";
import { merchantEvents, EVENT_HEADERS } from "../http/schemas/events";
import { errorBody, responses } from "../http/schemas/responses";
import { operations, type Answer, type Operation } from "./operations";

type Json = Record<string, unknown>;

const COMPONENT = "#/components/schemas/";
const ref = (name: string) => ({ $ref: COMPONENT + name });
const capitalize = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** The errors every endpoint of a kind answers, on top of its own (operations.ts). */
function errorsOf(op: Operation): Map<ErrorStatus, Set<ErrorCode>> {
  const errors = new Map<ErrorStatus, Set<ErrorCode>>();
  const add = (status: ErrorStatus, code: ErrorCode) => errors.set(status, (errors.get(status) ?? new Set()).add(code));
  if (op.xml) return errors;
  if (op.auth === "user") add(401, "unauthorized");
  if (op.auth === "operator") {
    // A wrong token is counted against the client's address; ADMIN_TOKEN itself may be unusable.
    add(401, "unauthorized");
    add(403, "forbidden");
    add(429, "rate_limited");
    add(503, "not_configured");
  }
  if (op.json || op.anyJson || op.query || op.headers) add(400, "invalid_request");
  if (op.json) add(415, "unsupported_media_type");
  // The body limit stands in front of every route, whether or not it reads a body.
  if (op.method === "post") add(413, "payload_too_large");
  // An id that cannot exist is not found, as is one that does not.
  if (op.params) add(404, "not_found");
  for (const [status, codes] of Object.entries(op.errors ?? {})) for (const code of codes) add(Number(status) as ErrorStatus, code);
  add(500, "internal_error");
  return errors;
}

/** A zod schema as a JSON Schema to embed (without its own $schema: the document's dialect holds). */
function jsonSchema(schema: z.ZodMiniType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io }) as Json;
  return rest;
}

/** The properties of an object schema as OpenAPI parameters. */
function parameters(schema: z.ZodMiniType | undefined, where: "path" | "query" | "header"): Json[] {
  if (schema === undefined) return [];
  const json = jsonSchema(schema, "input") as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    // Header names are case-insensitive; the schema keys them in lower case as Hono reads them.
    name: where === "header" ? name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()) : name,
    in: where,
    required: where === "path" || (json.required ?? []).includes(name),
    schema: property,
  }));
}

const XML = { "text/xml": { schema: { type: "string", description: "WeChat's <xml> document" } } };
const REQUEST_ID = { "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" } };

const TEXT = { "text/plain": { schema: { type: "string" } } };

function answer({ description, json, xml, text }: Answer): Json {
  return {
    description,
    headers: REQUEST_ID,
    ...(json ? { content: { "application/json": { schema: ref(json) } } } : xml ? { content: XML } : text ? { content: TEXT } : {}),
  };
}

function operation(op: Operation): Json {
  const byStatus: Record<string, Json> = {};
  for (const [status, a] of Object.entries(op.answers)) byStatus[status] = answer(a);
  for (const [status, codes] of errorsOf(op)) {
    // An answer the operation gives itself wins: WeChat's v3 webhooks refuse in their own FAIL shape.
    if (String(status) in byStatus) continue;
    const headers: Json = { ...REQUEST_ID };
    if (codes.has("rate_limited")) headers["Retry-After"] = { $ref: "#/components/headers/Retry-After" };
    if (codes.has("unauthorized")) headers["WWW-Authenticate"] = { $ref: "#/components/headers/WWW-Authenticate" };
    byStatus[status] = {
      description: [...codes].join(", "),
      headers,
      content: { "application/json": { schema: jsonSchema(errorBody([...codes] as [ErrorCode, ...ErrorCode[]]), "output") } },
    };
  }
  const body = op.json ?? op.anyJson;
  const requestBody = body
    ? { required: true, content: { "application/json": { schema: jsonSchema(body, "input") } } }
    : op.xml
      ? { required: true, content: XML }
      : undefined;
  return {
    // GET /api/orders/{id} → getApiOrdersById: a name code generators can use.
    operationId: op.method + op.path.replace(/\{(\w+)\}/g, "by-$1").split(/[^A-Za-z0-9]+/).map(capitalize).join(""),
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    ...(op.auth ? { security: [{ [op.auth === "user" ? "userToken" : "operatorToken"]: [] }] } : {}),
    parameters: [...parameters(op.params, "path"), ...parameters(op.query, "query"), ...parameters(op.headers, "header")],
    ...(requestBody ? { requestBody } : {}),
    responses: byStatus,
  };
}

/** "order.paid" → OrderPaidEvent, the event body's component name. */
const eventComponent = (type: string) => `${type.split(".").map(capitalize).join("")}Event`;

function webhooks(): Json {
  const hooks: Json = {};
  for (const type of Object.keys(merchantEvents)) {
    hooks[type] = {
      post: {
        operationId: `merchantEvent${eventComponent(type)}`,
        summary: `The ${type} event, POSTed to MERCHANT_WEBHOOK_URL`,
        description: "Standard Webhooks: the same id and body on every attempt, a fresh timestamp and signature. The events of one order arrive in the order they happened.",
        tags: ["merchant events"],
        parameters: Object.entries(EVENT_HEADERS).map(([name, description]) => ({ name, in: "header", required: true, description, schema: { type: "string" } })),
        requestBody: { required: true, content: { "application/json": { schema: ref(eventComponent(type)) } } },
        responses: {
          "2XX": { description: "delivered, if it came within 10 s" },
          default: { description: "not delivered: retried with growing delays, at least 12 attempts over at least 24 h" },
        },
      },
    };
  }
  return hooks;
}

/** Every named shape: the answers, and the merchant events that reuse them. */
function componentSchemas(): Json {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(responses)) registry.add(schema, { id });
  for (const [type, schema] of Object.entries(merchantEvents)) registry.add(schema, { id: eventComponent(type) });
  const { schemas } = z.toJSONSchema(registry, { io: "output", uri: (id) => COMPONENT + id });
  // zod names each component by a fragment-only $id, which JSON Schema 2020-12 forbids; the
  // document's own location is the base the $refs resolve against.
  for (const schema of Object.values(schemas)) {
    delete (schema as Json).$schema;
    delete (schema as Json).$id;
  }
  return schemas;
}

function buildDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const op of operations) paths[op.path] = { ...paths[op.path], [op.method]: operation(op) };
  return {
    openapi: "3.1.0",
    info: {
      title: "wxpay-edge",
      version: "1.1",
      description:
        'A WeChat Mini Program login and WeChat Pay (API v2 or v3) backend, with WeChat\u2019s order shipping management. Every JSON error is {"error": {"code", "message"}}; every answer carries X-Request-Id.',
    },
    tags: [
      { name: "mini-program", description: "called by the mini-program, with the token of POST /api/login" },
      { name: "operator", description: "called by the merchant's staff and backend, with ADMIN_TOKEN" },
      { name: "wechat", description: "WeChat Pay's notifications (XML, or JSON in API v3) and the mini program's message push" },
      { name: "service" },
      { name: "merchant events", description: "what we POST to the merchant's backend" },
    ],
    paths,
    webhooks: webhooks(),
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        userToken: { type: "http", scheme: "bearer", description: "a mini-program user's token from POST /api/login" },
        operatorToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN; a user's token never works here" },
      },
      headers: {
        "X-Request-Id": { description: "this request's id, also in our logs", schema: { type: "string", format: "uuid" } },
        "Retry-After": { description: "seconds to wait", schema: { type: "string", pattern: "^\\d+$" } },
        "WWW-Authenticate": { schema: { type: "string" } },
      },
    },
  };
}

let built: string | undefined;

/** The document as JSON text, built on first use and then kept for the isolate's life. */
export function openApiJson(): string {
  built ??= JSON.stringify(buildDocument());
  return built;
}
