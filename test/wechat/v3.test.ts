// API v3 in the protocol layer, as known answers: the official AEAD_AES_256_GCM vector; the protocol
// reference's RSA vectors (request, JSAPI prepay, paySign, signed with wechatpay-axios-plugin's
// published test key pair); the same messages signed with our test keys and compared with OpenSSL's
// signatures of the same bytes; PKCS#1 keys converted; certificates read; and verification in its
// fixed order, with both kinds of WeChat key held at once.
import { describe, expect, it } from "vitest";
import {
  AeadError,
  KeyFormatError,
  NotificationError,
  VerificationKeyRing,
  authorizationHeader,
  buildRsaPaymentParams,
  decryptAead,
  encryptAead,
  importMerchantPrivateKey,
  importWeChatPayPublicKey,
  openNotification,
  parsePlatformCertificate,
  readCertificatesAnswer,
  readRefundResult,
  readTransaction,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
  signingMessage,
  verifyWeChatPaySignature,
  type PlatformCertificate,
} from "../../src/wechat/v3";
import { MERCHANT_KEY, MERCHANT_KEY_PKCS1, PLATFORM_CERT, PLATFORM_KEY, WECHATPAY_PUBKEY_PRIVATE, WECHATPAY_PUBLIC_KEY } from "../fixtures/v3-keys";
// A published test pair, not WeChat's: see test/fixtures/wechatpay-axios-plugin/README.md.
import AXIOS_PLUGIN_CERT from "../fixtures/wechatpay-axios-plugin/apiclient_cert.pem?raw";
import AXIOS_PLUGIN_KEY from "../fixtures/wechatpay-axios-plugin/apiclient_key.pem?raw";

const TS = "1554208460";
const NONCE = "593BEC0C930BF1AFEB40B4A08C8FB242";
const AT_TS = Number(TS) * 1000;

// OpenSSL 3.0: printf '<message>' | openssl dgst -sha256 -sign <key>.pem | base64 -w0
const OPENSSL = {
  certificatesRequest:
    "z5SO26svgvypUnhlSXlGRUFyFy0Hg781KSUE8/MpPbIf3cbnqBUZ2Oge/uMmEEXW3PqxDenKAl5zCN2WINRQh+rVBLDn9q1/RDjEOate3+XMBFL8O0LA72eQN9tgPw8P8o14XjmdWh/1OcqqV1u1A/Seiy+4xF0H2fvh2s0/iouSPJ0miKdOECC2PxEYx+CLHC6+Po91ujOMx/bEBaR6QeF95vkOF+gQikY7Zl2z6Qwe5dtAaYtoVEiVf1A/+6MtQ7WcqIQ51rGKcuqWoYcNYYT3Is5QOUPpf6CuKtDQ1S0EfOB7fkA70u23dOU2jIikE9ZwanhBuTDnBrsQcmWP4Q==",
  paySign:
    "fFvgPQgLWD540BTISrd1qUzFLAGseEvnYxPoUOpCqSlcUHjrvC+oWCOvuJRFNvwB4Mzko8Sck5HGZWGcPW7rotCIRhRhAbAQ/BI3AxWP4Vlf+XCKaLt6edwQ1XDkQZAi2sgX+eGAOIjArupIznqF7lFbMbbIaNoblg1kC/foqYv+uPsLUn1kh/9oEc61IGKNDYdLLVgdpbD0C6IIf3quHwgaYH6P21+Tn4KH1KMdCzQlyo3bxg5v76Enchvu4AOCKKfMnHyrRaSKm8tWPMQinfh29mcXaBbb4tDl4JFFVS8EIfJgVLpTSC56j1P7Gp78BX0Ws5eoQOxR+mw6IsgEZA==",
  jsapi:
    "r5yAcZq3nLzBVLT8UMwaYNIFV5zOD5BLWcQ42T2QMFMptTryEaQSYGjwWBJvh3NC7Llulp4vMN60MMLMyEg95klNPWKwdejL3p32iXZxrRSkUBHQMyKHRIOojtz020Ae28HYWPcNApAqq2LTa+hVldzkD53OEGuYw4K2eEJXb1ShFADCKQErmFWK1V1JBhY+bNRVktz9CcrH9kCCMMssUXUmrAcT4GMsO4CJ4raSfOld63hxvSmK3gihKNkpKH/R4LRIjY3aerqe5PryQ05HQeE2ykMpA7Lol9yV9o47C5XAIodp2h9kTmdb/8lbUPbWu7yh+izwRC1kY34U/BZ3pg==",
  answerByPlatformKey:
    "HD3I/vvU6ZgxhnrugXhtcJzrrxCAzd146JL4el+ddgwLUvhL5/dNXifdq0Q0N/iPDDsnUQKqIkHtfXEDsXBBxHlloe3K/tAlmnjyYCx8bbs0ipU2UOCGnZGXEnBbwpZnpFYDHGWSGb7oZMYuXUYeiGfR9nmMhP+rhE0OwYjjOGVVqBdSSxUGSarZ4JzmvH+yju2YCpr/v76laTdVY6GhVu6eKbQLJ/aeSUJ/9ppod+2kVJFMn6meymzcO6S89ACDH88K6kDAO1d8SFL+/DT7y/SuaES+PUG8pB0PYAfjoKi4TwfyXLlosWpTCcoMMllTwj2Gy00MNbASBYTjAnyK0w==",
  answerByPublicKey:
    "XB/oef0tU2c3xc37xse2pgI1CE/F8Tx8fAVcsb2wWninoQiO2VtvAXlRtoIWg1GPD5SpKIB+2ZEVeyplYJhbKvPtEx3TIAZsue6JjyWsyEw7MulrE0KsFon/uWceBEa4s0yq8b0YlF1kuu6+PiJoQ0NPNNg8ZC845SD+W0LSNizWg+EfAi1gzvE21VUl0qyZ1VM9CD2ksSbyuT5/lYP15ZLBm+55ZaQmpUi/vdnylbxmw8IHXq90+qfg2QPz2tvoYB+AhGDwvmKUgcZWJyBodGDTl3FA/QZmKzfbfIavaUjYOFJ1YICruKm+nez3e6tCjRqVs0X6YpRifEVKSVDiuw==",
};

const JSAPI_BODY =
  '{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}';
const ANSWER_BODY = '{"prepay_id":"wx26112221580621e9b071c00d9e093b0000"}';
const PLATFORM_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006";
const API_V3_KEY = "0123456789abcdef0123456789abcdef";

/** A signing key from a PEM (the tests act as WeChat with these). */
const signingKey = (pem: string) => importMerchantPrivateKey(pem);
const headers = (fields: Record<string, string>) => new Headers(fields);

describe("AEAD_AES_256_GCM (notification resources, certificates)", () => {
  const officialPlaintext =
    '{"mchid":"1230000109","appid":"wxd678efh567hg6787","out_trade_no":"1217752501201407033233368018","transaction_id":"1217752501201407033233368018","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"CMC","attach":"","success_time":"2018-06-08T10:34:56+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}';
  const officialCiphertext =
    "DUcegK33A8MEOgdJt8PWwAdrzVDy3c3BTENCdjZ/7K2gbkFM2sU/cZ/UPNrLir4DXaSrqBdzgGy/sMCWIPKVQdMoXpY4xG4iYhF7TH0MBs4T7FaM9hoFjn/sa9TCWtjLTRzZiknVkW9IXW37a35VmVaeZyEYg+wBm3qpNS8A5dUAMLCno0J6LHDN5GXutOi+aMmWJMtSbZltG3H2Cu2Vou2Js2PVFnyTfOk0kYJAGpoCL2ommjUrvbBvauITRk+k/y/n+JuGpdOpOis3M/eGUHdtAIyAvV/ITkfIG5HrFyBdGa2YLbf+GInakMOOq2AVS1dz7iQ8pH8/vISnkUWlYkutFF4ur5n2IbeuFVI48wt7VBixa2tIQOyWQ2ONgtlXqgz1bwxoJPwXYE5EnTtlDAYn3Hxtd6BNpqui7xh3p14buk3Vj7hOryXsn9DXj/kmlPcxCU9Krp0FyNIFbRLMGeNSr39gErS8HkGWimeduocezXyciLggWGfKdD4ePLAvCxtrnf9/3Vwrb2TKKwl8cG3THZNaQkdbtVOgw9r9NDZHI5cJkYrCDuNLgVbgs5dBFx0B+HgzgrftqAIW";
  const officialParams = { nonce: "fdasflkja484", associatedData: "transaction" };

  it("decrypts the official vector to the official transaction", async () => {
    expect(await decryptAead(API_V3_KEY, officialCiphertext, officialParams)).toBe(officialPlaintext);
  });

  it("encrypts the official plaintext to the official ciphertext", async () => {
    expect(await encryptAead(API_V3_KEY, officialPlaintext, officialParams)).toBe(officialCiphertext);
  });

  it("matches wechatpay-axios-plugin's vectors (16-byte nonce, empty plaintext)", async () => {
    const params = { nonce: "0123456789abcdef", associatedData: "world" };
    expect(await encryptAead(API_V3_KEY, "hello", params)).toBe("APoZlYpivU3HjbAiB4CvW1rAFr8J");
    expect(await decryptAead(API_V3_KEY, "APoZlYpivU3HjbAiB4CvW1rAFr8J", params)).toBe("hello");
    // the reference's empty-plaintext vector has empty associated data too (its test passes aad "")
    expect(await encryptAead(API_V3_KEY, "", { ...params, associatedData: "" })).toBe("GvpmmdtYwexXIPhySs9Tlg==");
    expect(await decryptAead(API_V3_KEY, "GvpmmdtYwexXIPhySs9Tlg==", { ...params, associatedData: "" })).toBe("");
  });

  it.each([
    ["another key", { key: "fedcba9876543210fedcba9876543210" }, "not_authentic"],
    ["other associated data", { associatedData: "refund" }, "not_authentic"],
    ["another nonce", { nonce: "fdasflkja485" }, "not_authentic"],
    ["a flipped byte", { ciphertext: `A${officialCiphertext.slice(1)}` }, "not_authentic"],
    ["a cut tag", { ciphertext: officialCiphertext.slice(0, -8) }, "not_authentic"],
    ["not base64", { ciphertext: "%%%" }, "bad_ciphertext"],
    ["less than a tag", { ciphertext: "AAAA" }, "bad_ciphertext"],
    ["a short key", { key: "0123456789abcdef" }, "bad_key"],
  ])("refuses %s", async (_what, change: { key?: string; nonce?: string; associatedData?: string; ciphertext?: string }, reason) => {
    const attempt = decryptAead(change.key ?? API_V3_KEY, change.ciphertext ?? officialCiphertext, { ...officialParams, ...change });
    await expect(attempt).rejects.toBeInstanceOf(AeadError);
    await expect(attempt).rejects.toMatchObject({ reason });
  });
});

describe("request signatures (WECHATPAY2-SHA256-RSA2048)", () => {
  it("builds the official message for GET /v3/certificates (empty body: ends with two new lines)", () => {
    expect(new TextDecoder().decode(requestMessage("GET", "/v3/certificates", TS, NONCE, ""))).toBe(`GET\n/v3/certificates\n${TS}\n${NONCE}\n\n`);
  });

  it.each([
    ["GET /v3/certificates", requestMessage("GET", "/v3/certificates", TS, NONCE, ""), OPENSSL.certificatesRequest],
    ["the official JSAPI prepay", requestMessage("POST", "/v3/pay/transactions/jsapi", TS, NONCE, JSAPI_BODY), OPENSSL.jsapi],
  ])("signs %s exactly as OpenSSL does, with a PKCS#8 or a PKCS#1 key", async (_what, message, expected) => {
    expect(await rsaSign(await importMerchantPrivateKey(MERCHANT_KEY), message)).toBe(expected);
    expect(await rsaSign(await importMerchantPrivateKey(MERCHANT_KEY_PKCS1), message)).toBe(expected);
  });

  it("writes the Authorization header with the five fields", async () => {
    const header = await authorizationHeader(
      { mchid: "1900009191", serialNo: "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C", privateKey: await signingKey(MERCHANT_KEY) },
      { method: "GET", pathWithQuery: "/v3/certificates", body: "", timestamp: TS, nonce: NONCE },
    );
    expect(header).toBe(
      `WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="${NONCE}",signature="${OPENSSL.certificatesRequest}",timestamp="${TS}",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"`,
    );
  });

  it("gives the mini-program's RSA paySign over appId, timeStamp, nonceStr and package (the official example)", async () => {
    const params = await buildRsaPaymentParams({
      appId: "wx8888888888888888",
      prepayId: "wx201410272009395522657a690389285100",
      privateKey: await signingKey(MERCHANT_KEY),
      now: () => 1414561699_000,
      nonce: () => "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    });
    expect(params).toEqual({
      timeStamp: "1414561699",
      nonceStr: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
      package: "prepay_id=wx201410272009395522657a690389285100",
      signType: "RSA",
      paySign: OPENSSL.paySign,
    });
  });
});

describe("the protocol reference's RSA vectors (§4.2, §4.4: wechatpay-axios-plugin's test key pair)", () => {
  const PAY_SIGN_MESSAGE = ["wx8888888888888888", "1414561699", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", "prepay_id=wx201410272009395522657a690389285100"] as const;
  const vectors = [
    [
      "GET /v3/certificates",
      requestMessage("GET", "/v3/certificates", TS, NONCE, ""),
      "u8uM2mC0zsTcBldpNkf9eIRFnxwxl9OBzFzrBp9C+ygDbqKfjfbr9GTZrvPw3wqpfhn7npKzSVHf4lbD9T3RZpwq8yGBJAtW3YNoB4WR6ieFAp9fNX8LbRTfcbqOrcX/JuG9bZ1cvlQr9BljgM474p2L6MAtULc1za3tCXI/SkssirhLqE9VH4LXClbussMImgsg0zUFHIWl8RIWkEfhKjDUNgZLyGnT+arHLJKf/2csGKE6fS0t0ofTbSwcaVgNbK3UySD7iORerwwdcYlGIVn1zKgIbLl3GM518roWPd59nNct0D3SXESsbpeyzuWT7kx9DPfp0f0UHJWdMKYCZw==",
    ],
    [
      "the official paySign message",
      signingMessage(PAY_SIGN_MESSAGE),
      "gLgM0AyhB4Dyg+nWYir4ywcn0KsCeVW38qYNrR3Rf4YB0cKzix+D25/Ju/JZqzmItGSHY0mQWKYhvJcyzV2B5EQCnPm7AcAUNFZITBK2ZvVgVa0BpUxAAHsOmvTVxpUD7LOwFqEqidACUvHKTEqqsGyTtGg3G6Ccz6dRYc7Q/Fin0nxEviY51tvX6FWkyisCjBWtXNQoGD0V6UXd57h3NZdxVP2hAuKJlhA7ObeSdc6LFXINBedpU6pGodj/YMy9YGE9t2r3qhZ3FnjrIBo+mvyMs9T+b8rT83grAO6u65VR1kYu7Nft/NApsB+lUWWtHsxi+HlZhi+30QyYfmRvtA==",
    ],
    [
      "the official JSAPI prepay",
      requestMessage("POST", "/v3/pay/transactions/jsapi", TS, NONCE, JSAPI_BODY),
      "oumJ1kqqvOVAoC3eCB8e/6SYho7irBHsAGukF/X6vWTo160Ih6VRIDmKbL292eCIikCzsQe6wFUzLiK+DTHrk18PgPbz/3C4PGh8cHHHOotfW7jcY+xTFmEj/HpBFQ/xzfZayEn0hPLyZxEv11iFuizccqZhvQz8gvqch9IXqjImaZdn6sG/1ZaeuJApd7eEWZnBAUqBExAV9RP4dC6xAZgCNRYKSdHFVrpyejLoB/dD6jptpTaDu4tmiNdK/KA//D0f/TF9IG6ugmQ5fJ2ExmVGoa1sF/RwYE3fypvJEmolRAqH4ERCkoWxdW0boZPrq/pZfvoZQ/5TwAr8fuzfJQ==",
    ],
  ] as const;

  it.each(vectors)("rsaSign gives exactly the reference's signature of %s", async (_what, message, signature) => {
    expect(await rsaSign(await importMerchantPrivateKey(AXIOS_PLUGIN_KEY), message)).toBe(signature);
  });

  it.each(vectors)("rsaVerify accepts the reference's signature of %s with apiclient_cert.pem's key, and of nothing else", async (_what, message, signature) => {
    const certificate = await parsePlatformCertificate(AXIOS_PLUGIN_CERT);
    expect(await rsaVerify(certificate.key, message, signature)).toBe(true);
    const changed = Uint8Array.from(message);
    changed[0] = changed[0]! ^ 1;
    expect(await rsaVerify(certificate.key, changed, signature)).toBe(false);
  });

  it("reads the pair's certificate: serial 898DBAD30F416EC7, valid from 2020 to 2294 (a GeneralizedTime)", async () => {
    const certificate = await parsePlatformCertificate(AXIOS_PLUGIN_CERT);
    expect(certificate.serialNo).toBe("898DBAD30F416EC7");
    expect(new Date(certificate.notBefore).toISOString()).toBe("2020-06-21T02:02:18.000Z");
    expect(new Date(certificate.notAfter).toISOString()).toBe("2294-04-05T02:02:18.000Z");
  });

  it("gives the reference's paySign through the mini-program's payment parameters", async () => {
    const params = await buildRsaPaymentParams({
      appId: PAY_SIGN_MESSAGE[0],
      prepayId: "wx201410272009395522657a690389285100",
      privateKey: await importMerchantPrivateKey(AXIOS_PLUGIN_KEY),
      now: () => 1414561699_000,
      nonce: () => PAY_SIGN_MESSAGE[2],
    });
    expect(params.paySign).toBe(vectors[1][2]);
  });
});

describe("keys and certificates", () => {
  it("reads a platform certificate's serial (as WeChat writes it), validity and key", async () => {
    const certificate = await parsePlatformCertificate(PLATFORM_CERT);
    expect(certificate.serialNo).toBe(PLATFORM_SERIAL);
    expect(new Date(certificate.notBefore).toISOString()).toBe("2026-12-01T14:35:06.000Z");
    expect(new Date(certificate.notAfter).toISOString()).toBe("2031-11-30T14:35:06.000Z");
    expect(await rsaVerify(certificate.key, responseMessage(TS, NONCE, ANSWER_BODY), OPENSSL.answerByPlatformKey)).toBe(true);
  });

  it("reads the WeChat Pay public key as SPKI, and as PKCS#1 converted", async () => {
    const spki = await importWeChatPayPublicKey(WECHATPAY_PUBLIC_KEY);
    expect(await rsaVerify(spki, responseMessage(TS, NONCE, ANSWER_BODY), OPENSSL.answerByPublicKey)).toBe(true);
    // the same key written as PKCS#1: the SPKI body minus its 24-byte header (2048-bit RSA)
    const der = Uint8Array.from(atob(WECHATPAY_PUBLIC_KEY.replace(/-----[A-Z ]+-----|\s/g, "")), (c) => c.charCodeAt(0));
    const pkcs1 = `-----BEGIN RSA PUBLIC KEY-----\n${btoa(String.fromCharCode(...der.subarray(24)))}\n-----END RSA PUBLIC KEY-----\n`;
    expect(await rsaVerify(await importWeChatPayPublicKey(pkcs1), responseMessage(TS, NONCE, ANSWER_BODY), OPENSSL.answerByPublicKey)).toBe(true);
  });

  it.each([
    ["not PEM", "hello"],
    ["a certificate where a key is expected", PLATFORM_CERT],
    ["a body that is not base64", "-----BEGIN PRIVATE KEY-----\n@@@@\n-----END PRIVATE KEY-----"],
    ["base64 that is not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"],
  ])("refuses %s as the merchant key, saying so without printing it", async (_what, pem) => {
    const attempt = importMerchantPrivateKey(pem);
    await expect(attempt).rejects.toBeInstanceOf(KeyFormatError);
    await attempt.catch((error: Error) => expect(error.message).not.toContain(pem.slice(28, 60) || "@@@@"));
  });

  it("refuses a certificate that is not one", async () => {
    await expect(parsePlatformCertificate("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----")).rejects.toBeInstanceOf(KeyFormatError);
  });
});

describe("verifying WeChat's signature on an answer or a notification", () => {
  async function ring(now = () => AT_TS + 1000): Promise<VerificationKeyRing> {
    const certificate = await parsePlatformCertificate(PLATFORM_CERT);
    return new VerificationKeyRing({
      publicKey: { id: PUBLIC_KEY_ID, key: await importWeChatPayPublicKey(WECHATPAY_PUBLIC_KEY) },
      fetchCertificates: async () => [{ ...certificate, notBefore: 0 }],
      now,
    });
  }
  const signed = (serial: string, signature: string, extra: Record<string, string> = {}) =>
    headers({ "Wechatpay-Timestamp": TS, "Wechatpay-Nonce": NONCE, "Wechatpay-Serial": serial, "Wechatpay-Signature": signature, ...extra });

  it("verifies over the reference's message: timestamp, nonce and the raw body, each line ended (a 204's body is an empty line)", () => {
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    expect(text(responseMessage(TS, NONCE, ANSWER_BODY))).toBe(`${TS}\n${NONCE}\n${ANSWER_BODY}\n`);
    expect(text(responseMessage(TS, NONCE, ""))).toBe(`${TS}\n${NONCE}\n\n`);
  });

  it("accepts a platform certificate's signature and a public key's, chosen by Wechatpay-Serial (the migration)", async () => {
    const keys = await ring();
    expect(await verifyWeChatPaySignature(signed(PLATFORM_SERIAL, OPENSSL.answerByPlatformKey), ANSWER_BODY, keys, AT_TS)).toEqual({ ok: true, serial: PLATFORM_SERIAL });
    expect(await verifyWeChatPaySignature(signed(PUBLIC_KEY_ID, OPENSSL.answerByPublicKey), ANSWER_BODY, keys, AT_TS)).toEqual({ ok: true, serial: PUBLIC_KEY_ID });
    // the serial, not the signature, picks the key
    expect(await verifyWeChatPaySignature(signed(PLATFORM_SERIAL, OPENSSL.answerByPublicKey), ANSWER_BODY, keys, AT_TS)).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifyWeChatPaySignature(signed(PLATFORM_SERIAL.toLowerCase(), OPENSSL.answerByPlatformKey), new TextEncoder().encode(ANSWER_BODY), keys, AT_TS)).toMatchObject({ ok: true });
  });

  it.each([
    ["a missing header", { "Wechatpay-Nonce": "" }, "missing_headers"],
    ["a timestamp that is not digits", { "Wechatpay-Timestamp": "1554208460.5" }, "missing_headers"],
    ["another signature scheme", { "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3" }, "unsupported_scheme"],
    ["a signature probe", { "Wechatpay-Signature": `WECHATPAY/SIGNTEST/${OPENSSL.answerByPlatformKey}` }, "signature_probe"],
    ["a timestamp over 5 minutes old", { "Wechatpay-Timestamp": String(Number(TS) - 301) }, "stale_timestamp"],
    ["a timestamp over 5 minutes ahead", { "Wechatpay-Timestamp": String(Number(TS) + 301) }, "stale_timestamp"],
    ["a serial we hold no key for", { "Wechatpay-Serial": "0123456789ABCDEF" }, "unknown_serial"],
    ["another nonce", { "Wechatpay-Nonce": "X".repeat(32) }, "bad_signature"],
    ["a signature that is not base64", { "Wechatpay-Signature": "!!" }, "bad_signature"],
  ])("refuses %s", async (_what, change: Record<string, string>, reason) => {
    const check = await verifyWeChatPaySignature(signed(PLATFORM_SERIAL, OPENSSL.answerByPlatformKey, change), ANSWER_BODY, await ring(), AT_TS);
    expect(check).toEqual({ ok: false, reason });
  });

  it("refuses a body changed by one byte", async () => {
    const check = await verifyWeChatPaySignature(signed(PLATFORM_SERIAL, OPENSSL.answerByPlatformKey), ANSWER_BODY.replace("wx26", "wx27"), await ring(), AT_TS);
    expect(check).toEqual({ ok: false, reason: "bad_signature" });
  });
});

describe("the key ring's fetches", () => {
  it("fetches certificates once for many concurrent unknown serials, then not again within the interval", async () => {
    let clock = AT_TS;
    let fetches = 0;
    const certificate = await parsePlatformCertificate(PLATFORM_CERT);
    const keys = new VerificationKeyRing({
      fetchCertificates: async () => {
        fetches++;
        await new Promise((r) => setTimeout(r, 5));
        return [{ ...certificate, notBefore: 0 }];
      },
      now: () => clock,
      minFetchIntervalMs: 60_000,
    });
    const found = await Promise.all(Array.from({ length: 50 }, (_, i) => keys.keyFor(i % 2 === 0 ? PLATFORM_SERIAL : `FORGED${i}`)));
    expect(fetches).toBe(1);
    expect(found.filter((k) => k !== undefined)).toHaveLength(25);
    for (let i = 0; i < 20; i++) expect(await keys.keyFor(`FORGED-LATER${i}`)).toBeUndefined();
    expect(fetches).toBe(1);
    clock += 60_000;
    await keys.keyFor("FORGED-AFTER-THE-INTERVAL");
    expect(fetches).toBe(2);
  });

  it("fetches again before the held certificate expires, and stops using it once expired", async () => {
    const certificate = await parsePlatformCertificate(PLATFORM_CERT);
    let clock = certificate.notAfter - 2 * 86_400_000;
    let fetches = 0;
    const keys = new VerificationKeyRing({ fetchCertificates: async () => (fetches++, [{ ...certificate, notBefore: 0 }]), now: () => clock });
    expect(await keys.keyFor(PLATFORM_SERIAL)).toBeDefined();
    clock += 86_400_000 + 1;
    expect(await keys.keyFor(PLATFORM_SERIAL)).toBeDefined();
    expect(fetches).toBe(2);
    clock = certificate.notAfter;
    expect(await keys.keyFor(PLATFORM_SERIAL)).toBeUndefined();
  });

  it("reads a /v3/certificates answer: each certificate decrypted with the APIv3 key", async () => {
    const ciphertext = await encryptAead(API_V3_KEY, PLATFORM_CERT, { nonce: "a1b2c3d4e5f6", associatedData: "certificate" });
    const body = JSON.stringify({
      data: [{ serial_no: PLATFORM_SERIAL, effective_time: "2026-12-01T22:35:06+08:00", expire_time: "2031-11-30T22:35:06+08:00", encrypt_certificate: { algorithm: "AEAD_AES_256_GCM", nonce: "a1b2c3d4e5f6", associated_data: "certificate", ciphertext } }],
    });
    const read: PlatformCertificate[] = await readCertificatesAnswer(body, API_V3_KEY);
    expect(read.map((c) => c.serialNo)).toEqual([PLATFORM_SERIAL]);
    await expect(readCertificatesAnswer(body, "fedcba9876543210fedcba9876543210")).rejects.toBeInstanceOf(KeyFormatError);
    await expect(readCertificatesAnswer("{}", API_V3_KEY)).rejects.toBeInstanceOf(KeyFormatError);
  });
});

describe("opening a notification", () => {
  const ours = { appid: "wxd678efh567hg6787", mchid: "1230000109" };
  async function envelope(plaintext: string, overrides: Record<string, unknown> = {}, key = API_V3_KEY) {
    const resource = { original_type: "transaction", algorithm: "AEAD_AES_256_GCM", associated_data: "transaction", nonce: "fdasflkja484", ciphertext: await encryptAead(key, plaintext, { nonce: "fdasflkja484", associatedData: "transaction" }) };
    return JSON.stringify({ id: "EV-2018022511223320873", create_time: "2015-05-20T13:29:35+08:00", resource_type: "encrypt-resource", event_type: "TRANSACTION.SUCCESS", summary: "支付成功", resource, ...overrides });
  }
  const transaction = { mchid: "1230000109", appid: "wxd678efh567hg6787", out_trade_no: "1217752501201407033233368018", transaction_id: "4200000000000000000000000001", trade_state: "SUCCESS", success_time: "2018-06-08T10:34:56+08:00", payer: { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" }, amount: { total: 100, payer_total: 100, currency: "CNY", payer_currency: "CNY" } };

  it("decrypts the payment and reads it, amounts as integer fen", async () => {
    const { envelope: env, resource } = await openNotification(await envelope(JSON.stringify(transaction)), API_V3_KEY);
    expect(env).toEqual({ id: "EV-2018022511223320873", eventType: "TRANSACTION.SUCCESS", createTime: "2015-05-20T13:29:35+08:00", originalType: "transaction" });
    expect(readTransaction(resource, ours)).toEqual({
      appid: ours.appid, mchid: ours.mchid, outTradeNo: "1217752501201407033233368018", transactionId: "4200000000000000000000000001",
      tradeState: "SUCCESS", successTime: "2018-06-08T10:34:56+08:00", payerOpenid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", amountTotal: 100, currency: "CNY",
    });
  });

  it("reads a refund result", async () => {
    const refund = { mchid: "1230000109", out_trade_no: "1217752501201407033233368018", transaction_id: "4200000000000000000000000001", out_refund_no: "R1", refund_id: "50000000000000000000000000001", refund_status: "SUCCESS", success_time: "2018-06-08T10:40:00+08:00", amount: { total: 100, refund: 40, payer_total: 100, payer_refund: 40 } };
    const { resource } = await openNotification(await envelope(JSON.stringify(refund)), API_V3_KEY);
    expect(readRefundResult(resource, ours)).toMatchObject({ outRefundNo: "R1", refundStatus: "SUCCESS", amountTotal: 100, amountRefund: 40 });
    expect(() => readRefundResult({ ...refund, amount: { total: 100, refund: "40" } }, ours)).toThrow(NotificationError);
  });

  it.each([
    ["not JSON", async () => "{", "malformed"],
    ["no resource", async () => JSON.stringify({ id: "EV-1", event_type: "TRANSACTION.SUCCESS", resource_type: "encrypt-resource" }), "malformed"],
    ["another algorithm", async () => envelope("{}", { resource_type: "plain" }), "unsupported_resource"],
    ["encrypted with another key", async () => envelope(JSON.stringify(transaction), {}, "fedcba9876543210fedcba9876543210"), "undecryptable"],
    ["a plaintext that is not an object", async () => envelope("[1]"), "malformed"],
  ])("refuses %s", async (_what, body: () => Promise<string>, reason) => {
    await expect(openNotification(await body(), API_V3_KEY)).rejects.toMatchObject({ reason });
  });

  it.each([
    ["another appid", { appid: "wx0000000000000000" }, "foreign_merchant"],
    ["another mchid", { mchid: "1900000000" }, "foreign_merchant"],
    ["an amount as a string", { amount: { total: "100" } }, null],
    ["a fractional amount", { amount: { total: 99.5 } }, null],
    ["no out_trade_no", { out_trade_no: "" }, "malformed"],
  ])("reads a payment with %s as %s", (_what, change: Record<string, unknown>, reason) => {
    const read = () => readTransaction({ ...transaction, ...change }, ours);
    if (reason === null) expect(read().amountTotal).toBeNull();
    else expect(read).toThrow(expect.objectContaining({ reason }));
  });
});
