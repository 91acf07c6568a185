// Test helper: a `fetch` that answers like WeChat from a handler, and signed v2 responses built with our own sign().
import { sign, type Fields, type SignType } from "../../src/wechat/sign";
import { buildXml, parseXml } from "../../src/wechat/xml";

/** What a fake saw of one request. */
export interface SeenRequest {
  method: string;
  url: URL;
  contentType: string | null;
  /** The request body parsed as v2 XML, or {} for a request without one. */
  fields: Fields;
}

/** A fetch that records each request and answers with `answer(request)`. */
export function fakeFetch(answer: (request: SeenRequest) => Response | Promise<Response>): typeof fetch & { seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const body = await request.text();
    const seenRequest: SeenRequest = {
      method: request.method,
      url: new URL(request.url),
      contentType: request.headers.get("Content-Type"),
      fields: body === "" ? {} : parseXml(body),
    };
    seen.push(seenRequest);
    return answer(seenRequest);
  };
  return Object.assign(fn as typeof fetch, { seen });
}

/** A v2 XML answer with HTTP 200. */
export function xmlResponse(fields: Readonly<Record<string, string>>, status = 200): Response {
  return new Response(buildXml(fields), { status, headers: { "Content-Type": "text/plain" } });
}

/** A v2 answer signed over all of `fields`, as WeChat signs every return_code=SUCCESS response. */
export async function signedXmlResponse(fields: Readonly<Record<string, string>>, key: string, signType: SignType): Promise<Response> {
  return xmlResponse({ ...fields, sign: await sign(fields, key, signType) });
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** A fetch that never answers and ignores its abort signal, like a black-holed connection. */
export const hangingFetch: typeof fetch = () => new Promise<Response>(() => undefined);

/** Runs `work` and returns what it threw (fails the test if it did not throw). */
export async function thrownBy(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}
