// The ceiling of the end-to-end benchmark: a Worker that answers a constant, served by the same
// `wrangler dev` setup as the service, so the runtime's own per-request cost is all it measures.
// POST /log also writes one JSON log line first, shaped like the service's order_transition line:
// under `wrangler dev` every console line travels through the inspector to wrangler's terminal,
// and a payment notification writes one.
const BODY = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

export default {
  fetch(request) {
    if (new URL(request.url).pathname === "/log") {
      console.log(JSON.stringify({ level: "info", event: "order_transition", requestId: crypto.randomUUID(), orderId: "20261122120000a1b2c3d4e5f6a7b8", from: "pending", to: "paid", source: "notify", at: new Date().toISOString() }));
    }
    return new Response(BODY, { headers: { "Content-Type": "text/xml; charset=utf-8" } });
  },
};
