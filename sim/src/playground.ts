// The playground page (issue #15) and its loopback proxy to the local service. Served by this
// simulator Worker only, which exists only in the local setup: the service's production Worker
// never serves it, and the service itself keeps sending no CORS headers (the page reaches it here).
import page from "../dist/playground.html";

/** Where the page lives on the simulator's origin. */
export const PLAYGROUND_PATH = "/__sim/playground";

/** The page's calls to the service: the mini-program's API and the operator's, nothing else. */
const PROXIED_PATH = /^\/__sim\/playground(\/(?:api|admin)\/.*)$/;

/** The request headers the client and the operator pane send; the browser's own (Origin, Cookie…) stay here. */
const FORWARDED_HEADERS = ["authorization", "content-type", "idempotency-key"];

/** The page, or a proxied call to the service at `serviceOrigin` (loopback, from sim/wrangler.toml). */
export async function servePlayground(request: Request, serviceOrigin: string): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === PLAYGROUND_PATH || url.pathname === `${PLAYGROUND_PATH}/`) {
    if (request.method !== "GET") return new Response("Method Not Allowed", { status: 405, headers: { allow: "GET" } });
    return new Response(page, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
  }
  const servicePath = PROXIED_PATH.exec(url.pathname)?.[1];
  if (servicePath === undefined) return new Response("Not Found", { status: 404 });

  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  try {
    return await fetch(`${serviceOrigin}${servicePath}${url.search}`, {
      method: request.method,
      headers,
      ...(hasBody ? { body: await request.arrayBuffer() } : {}),
    });
  } catch {
    // The contract's error shape, so the client reports it like any other failing upstream.
    const message = `The playground could not reach the service at ${serviceOrigin}: is npm run dev running?`;
    return Response.json({ error: { code: "upstream_error", message } }, { status: 502 });
  }
}
