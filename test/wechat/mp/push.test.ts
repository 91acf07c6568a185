// WeChat's message push: official known answers for the signatures and the safe-mode cipher (both padding ranges), strict decryption, freshness, the order-shipping events, and the fixed-order pipeline.
import { describe, expect, it } from "vitest";
import {
  PushCryptoError,
  PushEventError,
  decryptPushMessage,
  encryptPushMessage,
  isFresh,
  openPush,
  pushSignature,
  readPushEvent,
  verifyPushMessageSignature,
  verifyPushSignature,
  type PushConfig,
  type PushCryptoReason,
} from "../../../src/wechat/mp/push";

const ascii = (text: string) => new TextEncoder().encode(text);

// Vector 1, official: WeChat's "消息推送" guide for mini-programs, the worked examples of the URL check, plaintext
// mode and safe mode (https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html).
// Token "AAAAA", EncodingAESKey 43 × "A" (an all-zero AES key), appid wxba5fad812f8e6fb9. Independently checked:
//   printf '%s\n' 1714036504 1514711492 AAAAA | LC_ALL=C sort | tr -d '\n' | sha1sum   → f464b24f…
//   printf '%s' "$ENCRYPT" | base64 -d | openssl enc -d -aes-256-cbc -nopad -K 00…00 -iv 00…00 | xxd
//     → a8eedb185eb2fecf ‖ 000000a7 ‖ the JSON below ‖ wxba5fad812f8e6fb9 ‖ 19 × 0x13 (a pad above 16)
const GUIDE = {
  token: "AAAAA",
  encodingAesKey: "A".repeat(43),
  appid: "wxba5fad812f8e6fb9",
  urlCheck: { timestamp: "1714036504", nonce: "1514711492", signature: "f464b24fc39322e44b38aa78f5edd27bd1441696", echostr: "4375120948345356249" },
  plain: {
    timestamp: "1714037059",
    nonce: "486452656",
    signature: "899cf89e464efb63f54ddac96b0a0a235f53aa78",
    body: '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}',
  },
  safe: {
    timestamp: "1714112445",
    nonce: "415670741",
    signature: "6c5c811b55cc85e0e1b54100749188c20beb3f5d",
    msgSignature: "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
    encrypt:
      "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=",
    message:
      '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}',
  },
  // The encrypted reply of the same guide: random "707722b803182950", 63 bytes padded with a single 0x01.
  reply: {
    random: "707722b803182950",
    message: '{"demo_resp":"good luck"}',
    encrypt: "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
    timestamp: "1713424427",
    nonce: "415670741",
    msgSignature: "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
  },
};

// Vector 2, official: the classic vector of WeChat's WXBizMsgCrypt sample code (cryptoDemo.zip,
// https://wximg.gtimg.com/shake_tv/mpwiki/cryptoDemo.zip, Java WXBizMsgCryptTest.testAesEncrypt): EncodingAESKey
// abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG, appid wxb11529c136998cb6, random "aaaabbbbccccdddd",
// message "我是中文abcd123" (pad 7). The sample publishes no msg_signature for it; the one below is computed:
//   printf '%s\n' "$ENCRYPT" 1409304348 xxxxxx pamtest | LC_ALL=C sort | tr -d '\n' | sha1sum
const CLASSIC = {
  token: "pamtest",
  encodingAesKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  appid: "wxb11529c136998cb6",
  random: "aaaabbbbccccdddd",
  message: "我是中文abcd123",
  encrypt: "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==",
  timestamp: "1409304348",
  nonce: "xxxxxx",
  msgSignature: "82c962d39941aa48552f90ef55aa323dc620cc10",
};

// Vector 3, computed with OpenSSL (no official vector has these pads): the classic key, appid and random, with a
// 26-byte message (16+4+26+18 = 64 → a whole 32-byte pad block) and a 10-byte one (48 → pad 16, the largest
// pad Web Crypto would accept on its own). K = base64 -d of the EncodingAESKey + "=", IV = its first 16 bytes:
//   { printf aaaabbbbccccdddd; printf '\x00\x00\x00\x1a'; printf abcdefghijklmnopqrstuvwxyz; printf wxb11529c136998cb6;
//     32 × printf '\x20'; } | openssl enc -aes-256-cbc -nopad -K $K -iv ${K:0:32} | base64 -w0
const OPENSSL = [
  {
    pad: 32,
    message: "abcdefghijklmnopqrstuvwxyz",
    encrypt: "jn1L23DB+6ELqJ+6bruv24kfnRA9CJ8qXRQfcTjuspbcu/BSVDHix6RSI3nK3z+fMd03dqZ5HIPCrQNNDa2xYd47apRHAo9FEf57/GQVWffqnF3WzheksoIGmk00BgBc",
  },
  { pad: 16, message: "0123456789", encrypt: "jn1L23DB+6ELqJ+6bruv2zdiwFgmZ+qs/GhQE/ueuokoXojN2q6yzniSS1SMjX+jMhSYyYsyRtB4KJMpoTu8TQ==" },
];

describe("signatures (official known answers)", () => {
  it("the URL check's signature over token, timestamp and nonce", async () => {
    const { timestamp, nonce, signature } = GUIDE.urlCheck;
    expect(await pushSignature([GUIDE.token, timestamp, nonce])).toBe(signature);
    expect(await verifyPushSignature({ token: GUIDE.token, timestamp, nonce, signature })).toBe(true);
  });

  it("a plaintext push's signature; the safe-mode push's signature too", async () => {
    const { timestamp, nonce, signature } = GUIDE.plain;
    expect(await verifyPushSignature({ token: GUIDE.token, timestamp, nonce, signature })).toBe(true);
    expect(await verifyPushSignature({ token: GUIDE.token, timestamp: GUIDE.safe.timestamp, nonce: GUIDE.safe.nonce, signature: GUIDE.safe.signature })).toBe(true);
  });

  it("msg_signature over token, timestamp, nonce and Encrypt (the '+' sorts first)", async () => {
    for (const vector of [
      { token: GUIDE.token, timestamp: GUIDE.safe.timestamp, nonce: GUIDE.safe.nonce, encrypt: GUIDE.safe.encrypt, msgSignature: GUIDE.safe.msgSignature },
      { token: GUIDE.token, timestamp: GUIDE.reply.timestamp, nonce: GUIDE.reply.nonce, encrypt: GUIDE.reply.encrypt, msgSignature: GUIDE.reply.msgSignature },
      { token: CLASSIC.token, timestamp: CLASSIC.timestamp, nonce: CLASSIC.nonce, encrypt: CLASSIC.encrypt, msgSignature: CLASSIC.msgSignature },
    ]) {
      expect(await pushSignature([vector.token, vector.timestamp, vector.nonce, vector.encrypt])).toBe(vector.msgSignature);
      expect(await verifyPushMessageSignature(vector)).toBe(true);
    }
  });

  it.each([
    ["another token", { token: "AAAAB" }],
    ["another timestamp", { timestamp: "1714036505" }],
    ["another nonce", { nonce: "1514711493" }],
    ["upper-case hex", { signature: GUIDE.urlCheck.signature.toUpperCase() }],
    ["a truncated signature", { signature: GUIDE.urlCheck.signature.slice(0, 39) }],
    ["an empty signature", { signature: "" }],
    ["the plaintext push's signature", { signature: GUIDE.plain.signature }],
  ])("refuses %s", async (_, change) => {
    const { timestamp, nonce, signature } = GUIDE.urlCheck;
    expect(await verifyPushSignature({ token: GUIDE.token, timestamp, nonce, signature, ...change })).toBe(false);
  });

  it("msg_signature refuses an altered Encrypt and the URL signature in its place", async () => {
    const base = { token: GUIDE.token, timestamp: GUIDE.safe.timestamp, nonce: GUIDE.safe.nonce, encrypt: GUIDE.safe.encrypt, msgSignature: GUIDE.safe.msgSignature };
    expect(await verifyPushMessageSignature({ ...base, encrypt: `${GUIDE.safe.encrypt.slice(0, -2)}A=` })).toBe(false);
    expect(await verifyPushMessageSignature({ ...base, msgSignature: GUIDE.safe.signature })).toBe(false);
  });
});

describe("safe-mode cipher (known answers, both padding ranges)", () => {
  it("decrypts the guide's push (pad 19, which Web Crypto alone would refuse)", async () => {
    expect(await decryptPushMessage(GUIDE.safe.encrypt, GUIDE)).toBe(GUIDE.safe.message);
  });

  it("encrypts the guide's reply (pad 1) and the sample's classic vector (pad 7) byte for byte", async () => {
    expect(await encryptPushMessage(GUIDE.reply.message, { ...GUIDE, random: ascii(GUIDE.reply.random) })).toBe(GUIDE.reply.encrypt);
    expect(await encryptPushMessage(CLASSIC.message, { ...CLASSIC, random: ascii(CLASSIC.random) })).toBe(CLASSIC.encrypt);
    expect(await decryptPushMessage(GUIDE.reply.encrypt, GUIDE)).toBe(GUIDE.reply.message);
    expect(await decryptPushMessage(CLASSIC.encrypt, CLASSIC)).toBe(CLASSIC.message);
  });

  it.each(OPENSSL)("pad $pad: matches OpenSSL both ways", async ({ message, encrypt }) => {
    expect(await encryptPushMessage(message, { ...CLASSIC, random: ascii(CLASSIC.random) })).toBe(encrypt);
    expect(await decryptPushMessage(encrypt, CLASSIC)).toBe(message);
  });

  it("round-trips every pad value 1–32 and an empty message", async () => {
    const pads = new Set<number>();
    for (let length = 0; length < 40; length++) {
      const message = "x".repeat(length);
      const encrypt = await encryptPushMessage(message, GUIDE);
      pads.add(32 - ((16 + 4 + length + GUIDE.appid.length) % 32));
      expect(await decryptPushMessage(encrypt, GUIDE)).toBe(message);
    }
    expect(pads.size).toBe(32);
  });

  it("a fresh random prefix each time unless one is given", async () => {
    expect(await encryptPushMessage("{}", GUIDE)).not.toBe(await encryptPushMessage("{}", GUIDE));
    await expect(encryptPushMessage("{}", { ...GUIDE, random: new Uint8Array(15) })).rejects.toThrow(RangeError);
  });
});

/** Seals raw, already padded bytes under the guide's all-zero key (IV zero), to build malformed envelopes. */
async function sealRaw(plain: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(32), "AES-CBC", false, ["encrypt"]);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv: new Uint8Array(16) }, key, plain)).subarray(0, plain.byteLength);
  return btoa(String.fromCharCode(...sealed));
}

function envelope(lengthField: number, message: Uint8Array, appid: string): Uint8Array {
  const unpadded = 20 + message.byteLength + appid.length;
  const pad = 32 - (unpadded % 32);
  const bytes = new Uint8Array(unpadded + pad).fill(pad);
  new DataView(bytes.buffer).setUint32(16, lengthField, false);
  bytes.set(message, 20);
  bytes.set(ascii(appid), 20 + message.byteLength);
  return bytes;
}

describe("safe-mode decryption refuses, with a typed reason", () => {
  async function reasonOf(encrypt: string, config = { encodingAesKey: GUIDE.encodingAesKey, appid: GUIDE.appid }): Promise<PushCryptoReason> {
    try {
      await decryptPushMessage(encrypt, config);
    } catch (error) {
      expect(error).toBeInstanceOf(PushCryptoError);
      return (error as PushCryptoError).reason;
    }
    throw new Error("expected decryption to fail");
  }

  const bytes = Uint8Array.from(atob(GUIDE.safe.encrypt), (c) => c.charCodeAt(0));
  const flipped = bytes.slice();
  // Flipping the last byte of the second-to-last block flips the last plaintext byte: pad 19 becomes 18.
  flipped[flipped.byteLength - 17]! ^= 1;

  it.each([
    ["an EncodingAESKey of 42 characters", GUIDE.safe.encrypt, { encodingAesKey: "A".repeat(42), appid: GUIDE.appid }, "bad_key"],
    ["an EncodingAESKey with '+'", GUIDE.safe.encrypt, { encodingAesKey: `${"A".repeat(42)}+`, appid: GUIDE.appid }, "bad_key"],
    ["not base64", "not base64!", undefined, "bad_base64"],
    ["base64 with a line break", `${GUIDE.safe.encrypt.slice(0, 64)}\n${GUIDE.safe.encrypt.slice(64)}`, undefined, "bad_base64"],
    ["an empty Encrypt", "", undefined, "bad_base64"],
    ["one 16-byte block", btoa("0123456789abcdef"), undefined, "bad_length"],
    ["an altered pad", btoa(String.fromCharCode(...flipped)), undefined, "bad_padding"],
    ["another key", GUIDE.safe.encrypt, { encodingAesKey: CLASSIC.encodingAesKey, appid: GUIDE.appid }, "bad_padding"],
    ["another appid", GUIDE.safe.encrypt, { encodingAesKey: GUIDE.encodingAesKey, appid: "wxb11529c136998cb6" }, "wrong_appid"],
  ])("%s → %s", async (_, encrypt, config, reason) => {
    expect(await reasonOf(encrypt, config)).toBe(reason);
  });

  it("a length field beyond the message → bad_structure; bytes that are not UTF-8 → bad_utf8", async () => {
    expect(await reasonOf(await sealRaw(envelope(1000, ascii("{}"), GUIDE.appid)))).toBe("bad_structure");
    expect(await reasonOf(await sealRaw(envelope(2, new Uint8Array([0xc3, 0x28]), GUIDE.appid)))).toBe("bad_utf8");
    expect(await decryptPushMessage(await sealRaw(envelope(2, ascii("{}"), GUIDE.appid)), GUIDE)).toBe("{}");
  });

  it("a message encrypted for another appid under our key", async () => {
    expect(await reasonOf(await encryptPushMessage("{}", { encodingAesKey: GUIDE.encodingAesKey, appid: "wx0000000000000000" }))).toBe("wrong_appid");
    expect(await reasonOf(await encryptPushMessage("{}", { encodingAesKey: GUIDE.encodingAesKey, appid: `${GUIDE.appid}x` }))).toBe("wrong_appid");
  });

  it("errors quote neither key nor data", async () => {
    const failures = await Promise.all(
      [
        decryptPushMessage(GUIDE.safe.encrypt, { encodingAesKey: GUIDE.encodingAesKey, appid: "wxb11529c136998cb6" }),
        decryptPushMessage(GUIDE.safe.encrypt, { encodingAesKey: CLASSIC.encodingAesKey, appid: GUIDE.appid }),
        decryptPushMessage(`${GUIDE.safe.encrypt}!`, GUIDE),
      ].map((work) => work.then(() => new Error("expected a failure"), (error: unknown) => error)),
    );
    for (const error of failures) {
      expect(error).toBeInstanceOf(PushCryptoError);
      for (const secret of [GUIDE.safe.encrypt.slice(0, 16), "wxba5fad812f8e6fb9", GUIDE.encodingAesKey, CLASSIC.encodingAesKey]) {
        expect(String(error)).not.toContain(secret);
        expect(String((error as Error).stack)).not.toContain(secret);
      }
    }
  });
});

describe("isFresh", () => {
  const now = 1_714_112_445_000;
  it.each([
    ["the same second", "1714112445", true],
    ["5 minutes early", "1714112145", true],
    ["5 minutes late", "1714112745", true],
    ["5 minutes and a second early", "1714112144", false],
    ["5 minutes and a second late", "1714112746", false],
    ["a number", 1714112445, true],
    ["milliseconds", "1714112445000", false],
    ["not digits", "1714112445.0", false],
    ["negative", "-1", false],
    ["empty", "", false],
  ])("%s → %s", (_, timestamp, fresh) => {
    expect(isFresh(timestamp, now)).toBe(fresh);
  });
});

const SETTLED = {
  ToUserName: "gh_97417a04a28d",
  FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
  CreateTime: 1714112445,
  MsgType: "event",
  Event: "trade_manage_order_settlement",
  transaction_id: "4200001927202309157703139548",
  merchant_id: "1900000109",
  sub_merchant_id: "",
  merchant_trade_no: "WX20221215001",
  pay_time: 1714000000,
  shipped_time: 1714010000,
  confirm_receive_method: 2,
  confirm_receive_time: 1714100000,
  settlement_time: 1714112400,
};

describe("readPushEvent", () => {
  it("trade_manage_order_settlement at settlement", () => {
    expect(readPushEvent(SETTLED)).toEqual({
      event: "trade_manage_order_settlement",
      phase: "settled",
      transactionId: "4200001927202309157703139548",
      merchantId: "1900000109",
      merchantTradeNo: "WX20221215001",
      payTime: 1714000000,
      shippedTime: 1714010000,
      confirmReceiveMethod: 2,
      confirmReceiveTime: 1714100000,
      settlementTime: 1714112400,
    });
  });

  it("trade_manage_order_settlement when delivery completes: estimated_settlement_time, phase shipped", () => {
    const { confirm_receive_method: _m, confirm_receive_time: _c, settlement_time: _s, ...shipped } = SETTLED;
    const event = readPushEvent({ ...shipped, sub_merchant_id: "1900000200", estimated_settlement_time: 1714600000 });
    expect(event).toMatchObject({ phase: "shipped", estimatedSettlementTime: 1714600000, subMerchantId: "1900000200" });
    expect(event).not.toHaveProperty("settlementTime");
  });

  it("trade_manage_remind_shipping", () => {
    expect(
      readPushEvent({
        ToUserName: "gh_97417a04a28d",
        FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
        CreateTime: 1714112445,
        MsgType: "event",
        Event: "trade_manage_remind_shipping",
        transaction_id: "4200001927202309157703139548",
        merchant_id: "1900000109",
        merchant_trade_no: "WX20221215001",
        pay_time: 1714000000,
        msg: "你有一笔订单超过 48 小时未发货",
      }),
    ).toEqual({
      event: "trade_manage_remind_shipping",
      transactionId: "4200001927202309157703139548",
      merchantId: "1900000109",
      merchantTradeNo: "WX20221215001",
      payTime: 1714000000,
      msg: "你有一笔订单超过 48 小时未发货",
    });
  });

  it("other events are named, not read", () => {
    expect(readPushEvent(JSON.parse(GUIDE.safe.message))).toEqual({ event: "other", name: "debug_demo" });
    expect(readPushEvent({ MsgType: "text", Content: "你好" })).toEqual({ event: "other", name: "text" });
  });

  it.each([
    ["not an object", []],
    ["no Event or MsgType", { ToUserName: "gh_97417a04a28d" }],
    ["no merchant_trade_no", { ...SETTLED, merchant_trade_no: undefined }],
    ["an empty transaction_id", { ...SETTLED, transaction_id: "" }],
    ["a numeric merchant_id", { ...SETTLED, merchant_id: 1900000109 }],
    ["a numeric sub_merchant_id", { ...SETTLED, sub_merchant_id: 1 }],
    ["a string time", { ...SETTLED, settlement_time: "1714112400" }],
    ["a negative time", { ...SETTLED, pay_time: -1 }],
    ["a fractional time", { ...SETTLED, shipped_time: 1.5 }],
  ])("refuses %s", (_, message) => {
    expect(() => readPushEvent(message)).toThrow(PushEventError);
  });
});

describe("openPush (fixed order, nothing trusted before its signature)", () => {
  const SAFE: PushConfig = { token: GUIDE.token, appid: GUIDE.appid, encodingAesKey: GUIDE.encodingAesKey };
  const PLAIN: PushConfig = { token: GUIDE.token, appid: GUIDE.appid };
  const safeQuery = { signature: GUIDE.safe.signature, timestamp: GUIDE.safe.timestamp, nonce: GUIDE.safe.nonce, encrypt_type: "aes", msg_signature: GUIDE.safe.msgSignature };
  const safeBody = JSON.stringify({ ToUserName: "gh_97417a04a28d", Encrypt: GUIDE.safe.encrypt });
  const safeNow = 1_714_112_445_000;

  it("opens the guide's safe-mode push", async () => {
    expect(await openPush(safeQuery, safeBody, SAFE, safeNow)).toEqual({ ok: true, encrypted: true, event: { event: "other", name: "debug_demo" } });
  });

  it("opens the guide's plaintext push when no key is configured", async () => {
    const query = { signature: GUIDE.plain.signature, timestamp: GUIDE.plain.timestamp, nonce: GUIDE.plain.nonce };
    expect(await openPush(query, GUIDE.plain.body, PLAIN, 1_714_037_059_000)).toEqual({ ok: true, encrypted: false, event: { event: "other", name: "debug_demo" } });
  });

  it("opens a settlement our simulator encrypts and signs", async () => {
    const encrypt = await encryptPushMessage(JSON.stringify(SETTLED), SAFE as Required<PushConfig>);
    const timestamp = String(Math.floor(safeNow / 1000));
    const msgSignature = await pushSignature([SAFE.token, timestamp, "84736251", encrypt]);
    const result = await openPush({ timestamp, nonce: "84736251", encrypt_type: "aes", msg_signature: msgSignature }, JSON.stringify({ Encrypt: encrypt }), SAFE, safeNow);
    expect(result).toMatchObject({ ok: true, event: { event: "trade_manage_order_settlement", phase: "settled", merchantTradeNo: "WX20221215001" } });
  });

  it.each([
    ["no timestamp", { ...safeQuery, timestamp: undefined }, safeBody, SAFE, safeNow, "missing_parameters"],
    ["no nonce", { ...safeQuery, nonce: "" }, safeBody, SAFE, safeNow, "missing_parameters"],
    ["a timestamp 6 minutes old", safeQuery, safeBody, SAFE, safeNow + 360_000, "stale_timestamp"],
    ["a body over 64 KiB", safeQuery, `{"Encrypt":"${"A".repeat(65_536)}"}`, SAFE, safeNow, "too_large"],
    ["a body that is not a JSON object", safeQuery, "<xml><Encrypt>x</Encrypt></xml>", SAFE, safeNow, "bad_body"],
    ["a safe-mode body without Encrypt", safeQuery, "{}", SAFE, safeNow, "bad_body"],
    ["a plaintext push when safe mode is on", { signature: GUIDE.plain.signature, timestamp: GUIDE.plain.timestamp, nonce: GUIDE.plain.nonce }, GUIDE.plain.body, SAFE, 1_714_037_059_000, "encryption_required"],
    ["an encrypted push without a configured key", safeQuery, safeBody, PLAIN, safeNow, "not_configured"],
    ["no msg_signature (signature alone is not enough)", { ...safeQuery, msg_signature: undefined }, safeBody, SAFE, safeNow, "bad_signature"],
    ["another token", safeQuery, safeBody, { ...SAFE, token: "BBBBB" }, safeNow, "bad_signature"],
    ["a replaced Encrypt", safeQuery, JSON.stringify({ Encrypt: GUIDE.reply.encrypt }), SAFE, safeNow, "bad_signature"],
    ["a forged plaintext signature", { signature: "0".repeat(40), timestamp: GUIDE.plain.timestamp, nonce: GUIDE.plain.nonce }, GUIDE.plain.body, PLAIN, 1_714_037_059_000, "bad_signature"],
    ["a push for another appid", safeQuery, safeBody, { ...SAFE, appid: "wxb11529c136998cb6" }, safeNow, "undecryptable"],
  ])("refuses %s", async (_, query, body, config, now, reason) => {
    expect(await openPush(query, body, config, now)).toEqual({ ok: false, reason });
  });

  it("refuses a signed settlement with fields missing", async () => {
    const encrypt = await encryptPushMessage(JSON.stringify({ ...SETTLED, merchant_trade_no: undefined }), SAFE as Required<PushConfig>);
    const timestamp = String(Math.floor(safeNow / 1000));
    const msgSignature = await pushSignature([SAFE.token, timestamp, "1", encrypt]);
    expect(await openPush({ timestamp, nonce: "1", encrypt_type: "aes", msg_signature: msgSignature }, JSON.stringify({ Encrypt: encrypt }), SAFE, safeNow)).toEqual({
      ok: false,
      reason: "bad_event",
    });
  });
});
