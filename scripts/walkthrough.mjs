// The local walkthrough, once: the shell commands a person pastes (with `npm run dev` running) and
// a sample of each answer. `npm run demo` runs them and checks every answer against its sample;
// the README shows them as rendered here, and the local-setup test checks the two agree.

/** A sample answer: literal text where "…" stands for anything (ids, times, signs). */
export const matchesSample = (sample, text) =>
  new RegExp(`^${sample.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[\\s\\S]*")}$`).test(text.trim());

/**
 * Each step: why (a comment), the commands, and the sample of what they print (null: nothing).
 * `R=$(curl …); echo "$R"` shows an answer and keeps it, so that `field` can take a value from it.
 */
export const WALK = [
  {
    why: "the two local origins, and `field x`: the value x of the last answer (JSON), without jq",
    run: [`S=http://127.0.0.1:8787 W=http://127.0.0.1:8788`, `field() { node -pe 'JSON.parse(process.argv[1]).'"$1" "$R"; }`],
    sample: null,
  },
  {
    why: "1. wx.login: the simulator mints a one-time code, for a new user each time (so the walk can be run again)",
    run: [`R=$(curl -s -X POST $W/__sim/login-codes -H 'Content-Type: application/json' -d '{}'); echo "$R"`],
    sample: `{"code":"…","openid":"o…","user":"…"}`,
  },
  {
    why: "2. the mini-program sends the code to us and keeps the token (the same code again: 401 invalid_code)",
    run: [`R=$(curl -s -X POST $S/api/login -H 'Content-Type: application/json' -d "{\\"code\\":\\"$(field code)\\"}"); echo "$R"`, `TOKEN=$(field token)`],
    sample: `{"token":"wxe_…","openid":"o…","expiresIn":7200}`,
  },
  {
    why: "3. an order, priced by the server; the same Idempotency-Key and body again returns the same order",
    run: [
      `R=$(curl -s -X POST $S/api/orders -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -H 'Idempotency-Key: first-try' -d '{"items":[{"sku":"coffee","quantity":2}]}'); echo "$R"`,
      `ORDER=$(field order.id)`,
    ],
    sample: `{"order":{"id":"…","status":"pending",…"amount":3600,…},"payment":{"timeStamp":"…","nonceStr":"…","package":"prepay_id=…","signType":"HMAC-SHA256","paySign":"…"}}`,
  },
  {
    why: "4. the user pays: the simulator marks the order paid at WeChat and sends us its signed notification",
    run: [`curl -s -X POST $W/__sim/orders/$ORDER/pay -H 'Content-Type: application/json' -d '{}'; echo`],
    sample: `{"transactionId":"…","delivered":true}`,
  },
  {
    why: "5. requestPayment's callback only says the sheet closed: ask the service for the truth",
    run: [`curl -s $S/api/orders/$ORDER -H "Authorization: Bearer $TOKEN"; echo`],
    sample: `{"order":{"id":"…","status":"paid",…"transactionId":"…"…}}`,
  },
  {
    why: "6. a payment whose notification never arrives: the GET asks WeChat (orderquery) and finds it paid",
    run: [
      `R=$(curl -s -X POST $S/api/orders -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"items":[{"sku":"tea","quantity":1}]}'); ORDER2=$(field order.id)`,
      `curl -s -X POST $W/__sim/orders/$ORDER2/pay -H 'Content-Type: application/json' -d '{"deliver":false}'; echo`,
      `curl -s $S/api/orders/$ORDER2 -H "Authorization: Bearer $TOKEN"; echo`,
    ],
    sample: `{"transactionId":"…","delivered":false}
{"order":{"id":"…","status":"paid",…}}`,
  },
  {
    why: "7. the user closed the pay sheet: fresh parameters for the same pending order, then they pay",
    run: [
      `R=$(curl -s -X POST $S/api/orders -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"items":[{"sku":"cake","quantity":1}]}'); ORDER3=$(field order.id)`,
      `curl -s -X POST $S/api/orders/$ORDER3/pay -H "Authorization: Bearer $TOKEN"; echo`,
      `curl -s -X POST $W/__sim/orders/$ORDER3/pay -H 'Content-Type: application/json' -d '{}'; echo`,
    ],
    sample: `{"order":{"id":"…","status":"pending",…},"payment":{"timeStamp":"…",…"paySign":"…"}}
{"transactionId":"…","delivered":true}`,
  },
  {
    why: "8. the user changed their mind: close an unpaid order (at WeChat too)",
    run: [
      `R=$(curl -s -X POST $S/api/orders -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"items":[{"sku":"tea","quantity":2}]}'); ORDER4=$(field order.id)`,
      `curl -s -X POST $S/api/orders/$ORDER4/close -H "Authorization: Bearer $TOKEN"; echo`,
    ],
    sample: `{"order":{"id":"…","status":"closed",…}}`,
  },
  {
    why: "9. the user's orders, newest first",
    run: [`curl -s "$S/api/orders?limit=10" -H "Authorization: Bearer $TOKEN"; echo`],
    sample: `{"orders":[{"id":"…","status":"closed",…},{"id":"…","status":"paid",…},{"id":"…","status":"paid",…},{"id":"…","status":"paid",…}],"cursor":null}`,
  },
  {
    why: "10. an operator refunds 8 yuan of the first order (the local operator token is in wrangler.toml)",
    run: [
      `ADMIN='local-admin-token-change-me-in-production'`,
      `curl -s -X POST $S/admin/orders/$ORDER/refunds -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -H 'Idempotency-Key: refund-1' -d '{"amount":800,"reason":"cold coffee"}'; echo`,
    ],
    sample: `{"refund":{"id":"…","amount":800,"status":"processing"},"order":{"id":"…","status":"paid",…}}`,
  },
  {
    why: "11. WeChat finishes the refund a few seconds later and notifies us; the operator's view shows it",
    run: [`sleep 8; curl -s $S/admin/orders/$ORDER -H "Authorization: Bearer $ADMIN"; echo`],
    sample: `{"order":{"id":"…","status":"partially_refunded",…"refundedAmount":800,…},"history":[…],"refunds":[{"id":"…",…"amount":800,…"status":"succeeded"…}],"refundHistory":[…],"events":[],"shipping":null}`,
  },
  {
    why: "12. the operator uploads the order's shipping information to WeChat (WECHAT_SHIPPING=manual locally); WeChat learns of a payment a minute after it, so a quick upload is `uploading` and the order's alarm sends it again",
    run: [`curl -s -X POST $S/admin/orders/$ORDER/shipping -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"logisticsType":"virtual","itemDesc":"Latte art course"}'; echo`],
    sample: `{"order":{"id":"…","status":"partially_refunded",…},"shipping":{"status":"upload…","logisticsType":"virtual","packages":[{"itemDesc":"Latte art course"}],…}}`,
  },
  {
    why: "13. logout deletes the session; here the token is refused from then on",
    run: [
      `curl -s -o /dev/null -w '%{http_code}\\n' -X POST $S/api/logout -H "Authorization: Bearer $TOKEN"`,
      `curl -s $S/api/orders -H "Authorization: Bearer $TOKEN"; echo`,
    ],
    sample: `204
{"error":{"code":"unauthorized",…}}`,
  },
];

/** The walk as the README shows it: a sh block, each sample under its commands as `# → …`. */
export function walkMarkdown() {
  const lines = ["```sh"];
  WALK.forEach((step, i) => {
    if (i > 0) lines.push("");
    lines.push(`# ${step.why}`, ...step.run);
    if (step.sample !== null) lines.push(...step.sample.split("\n").map((line) => `# → ${line}`));
  });
  lines.push("```");
  return lines.join("\n");
}

// `node scripts/walkthrough.mjs` prints the README's block, to paste after changing a step.
if (import.meta.url === `file://${process.argv[1]}`) console.log(walkMarkdown());
