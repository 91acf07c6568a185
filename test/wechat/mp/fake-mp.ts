// Test helper: a `fetch` that answers like api.weixin.qq.com's JSON APIs and records what it was sent.
export { hangingFetch, jsonResponse, thrownBy } from "../fake-wechat";

/** What a fake saw of one JSON request. */
export interface SeenJsonRequest {
  method: string;
  url: URL;
  contentType: string | null;
  /** the body parsed as JSON (undefined for none) */
  json: unknown;
  /** the body exactly as sent */
  text: string;
}

/** A fetch that records each request and answers with `answer(request)`. */
export function fakeJsonFetch(answer: (request: SeenJsonRequest) => Response | Promise<Response>): typeof fetch & { seen: SeenJsonRequest[] } {
  const seen: SeenJsonRequest[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const text = await request.text();
    const seenRequest: SeenJsonRequest = {
      method: request.method,
      url: new URL(request.url),
      contentType: request.headers.get("Content-Type"),
      json: text === "" ? undefined : JSON.parse(text),
      text,
    };
    seen.push(seenRequest);
    return answer(seenRequest);
  };
  return Object.assign(fn as typeof fetch, { seen });
}

/** Every text an error exposes: message, string form, failure, stack. */
export function errorTexts(error: unknown): string[] {
  if (!(error instanceof Error)) return [String(error)];
  const failure = (error as { failure?: unknown }).failure;
  return [error.message, String(error), JSON.stringify(failure ?? null), String(error.stack)];
}
