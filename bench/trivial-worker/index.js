// The ceiling of the end-to-end benchmark: a Worker that answers a constant, served by the same
// `wrangler dev` setup as the service, so the runtime's own per-request cost is all it measures.
const BODY = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

export default {
  fetch() {
    return new Response(BODY, { headers: { "Content-Type": "text/xml; charset=utf-8" } });
  },
};
