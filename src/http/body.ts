// Reads request bodies under a byte limit that holds whether or not Content-Length is sent,
// and parses JSON bodies into plain objects. Nothing here trusts the body's contents.
import { ApiError } from "../errors";

/** Byte limits per kind of body (documented in README). */
export const BODY_LIMITS = {
  json: 8 * 1024,
  xml: 16 * 1024,
} as const;

function tooLarge(limit: number): ApiError {
  return new ApiError(413, "payload_too_large", `The request body is larger than ${limit} bytes.`);
}

/**
 * The body's bytes, refused with 413 as soon as more than `limit` arrive: the declared
 * Content-Length is checked first, and a streamed body is cut off while it is read.
 */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) > limit) throw tooLarge(limit);
  if (request.body === null) return new Uint8Array(0);

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Decodes UTF-8 strictly: a body that is not valid UTF-8 is refused rather than mangled. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * A JSON object body. A Content-Type other than JSON → 415; empty, non-UTF-8, unparseable or
 * non-object JSON → 400. The result has a null prototype, so keys such as `__proto__` are inert.
 */
export async function readJsonObject(request: Request, limit: number = BODY_LIMITS.json): Promise<Record<string, unknown>> {
  const type = request.headers.get("Content-Type");
  if (type !== null && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type.trim())) {
    throw new ApiError(415, "unsupported_media_type", "The request body must be JSON (Content-Type: application/json).");
  }
  const text = decodeUtf8(await readBodyBytes(request, limit));
  if (text === null) throw ApiError.invalidRequest("The request body is not valid UTF-8.");
  if (text.trim() === "") throw ApiError.invalidRequest("The request body is empty; a JSON object is required.");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw ApiError.invalidRequest("The request body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw ApiError.invalidRequest("The request body must be a JSON object.");
  }
  return Object.assign(Object.create(null) as Record<string, unknown>, parsed);
}
