// Known answers for the simulator's own v3 code (sim/src/v3): the AES-GCM vector of the protocol
// reference (§4.6), the signed-message layout, the public half of a private key, the certificate
// reader and the RFC 3339 times, independent of the service's implementation.
import { describe, expect, it } from "vitest";
import { parseRfc3339, rfc3339 } from "../../sim/src/clock";
import { readCertificate } from "../../sim/src/v3/certificate";
import { aeadEncrypt, importApiV3Key, importPrivateKey, pemToDer, publicKeyOf, rsaSign, rsaVerify, signedMessage } from "../../sim/src/v3/crypto";
import { MERCHANT_KEY, PLATFORM_CERT, PLATFORM_KEY } from "../fixtures/v3-keys";

const AEAD_PLAINTEXT = "{\"mchid\":\"1230000109\",\"appid\":\"wxd678efh567hg6787\",\"out_trade_no\":\"1217752501201407033233368018\",\"transaction_id\":\"1217752501201407033233368018\",\"trade_type\":\"JSAPI\",\"trade_state\":\"SUCCESS\",\"trade_state_desc\":\"支付成功\",\"bank_type\":\"CMC\",\"attach\":\"\",\"success_time\":\"2018-06-08T10:34:56+08:00\",\"payer\":{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\"},\"amount\":{\"total\":100,\"payer_total\":100,\"currency\":\"CNY\",\"payer_currency\":\"CNY\"}}";
const AEAD_CIPHERTEXT = "DUcegK33A8MEOgdJt8PWwAdrzVDy3c3BTENCdjZ/7K2gbkFM2sU/cZ/UPNrLir4DXaSrqBdzgGy/sMCWIPKVQdMoXpY4xG4iYhF7TH0MBs4T7FaM9hoFjn/sa9TCWtjLTRzZiknVkW9IXW37a35VmVaeZyEYg+wBm3qpNS8A5dUAMLCno0J6LHDN5GXutOi+aMmWJMtSbZltG3H2Cu2Vou2Js2PVFnyTfOk0kYJAGpoCL2ommjUrvbBvauITRk+k/y/n+JuGpdOpOis3M/eGUHdtAIyAvV/ITkfIG5HrFyBdGa2YLbf+GInakMOOq2AVS1dz7iQ8pH8/vISnkUWlYkutFF4ur5n2IbeuFVI48wt7VBixa2tIQOyWQ2ONgtlXqgz1bwxoJPwXYE5EnTtlDAYn3Hxtd6BNpqui7xh3p14buk3Vj7hOryXsn9DXj/kmlPcxCU9Krp0FyNIFbRLMGeNSr39gErS8HkGWimeduocezXyciLggWGfKdD4ePLAvCxtrnf9/3Vwrb2TKKwl8cG3THZNaQkdbtVOgw9r9NDZHI5cJkYrCDuNLgVbgs5dBFx0B+HgzgrftqAIW";

describe("sim v3 crypto", () => {
  it("encrypts the reference's AEAD_AES_256_GCM vector byte for byte", async () => {
    const key = await importApiV3Key("0123456789abcdef0123456789abcdef");
    expect(await aeadEncrypt(key, AEAD_PLAINTEXT, "fdasflkja484", "transaction")).toBe(AEAD_CIPHERTEXT);
  });

  it("ends every line of a signed message with \\n, the last one and an empty body included", () => {
    expect(new TextDecoder().decode(signedMessage(["GET", "/v3/certificates", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", ""]))).toBe(
      "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n",
    );
  });

  it("verifies a signature with the public half it derives from the private key, and no other key's", async () => {
    const message = signedMessage(["POST", "/v3/pay/transactions/jsapi", "1", "n", "{}"]);
    const signature = await rsaSign(await importPrivateKey(pemToDer(MERCHANT_KEY, "PRIVATE KEY")), message);
    expect(await rsaVerify(await publicKeyOf(pemToDer(MERCHANT_KEY, "PRIVATE KEY")), message, signature)).toBe(true);
    expect(await rsaVerify(await publicKeyOf(pemToDer(PLATFORM_KEY, "PRIVATE KEY")), message, signature)).toBe(false);
    expect(await rsaVerify(await publicKeyOf(pemToDer(MERCHANT_KEY, "PRIVATE KEY")), message, "not base64!")).toBe(false);
  });

  it("reads the fixture certificate's serial and validity", () => {
    expect(readCertificate(pemToDer(PLATFORM_CERT, "CERTIFICATE"))).toEqual({
      serialNo: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
      notBefore: Date.parse("2026-12-01T14:35:06Z"),
      notAfter: Date.parse("2031-11-30T14:35:06Z"),
    });
  });

  it("refuses PEM of another label", () => {
    expect(() => pemToDer(PLATFORM_CERT, "PRIVATE KEY")).toThrow("expected a PEM PRIVATE KEY");
  });

  it("reads RFC 3339 times with any offset and writes Beijing time", () => {
    const at = Date.parse("2018-06-08T02:34:56Z");
    expect(parseRfc3339("2018-06-08T10:34:56+08:00")).toBe(at);
    expect(parseRfc3339("2018-06-08T02:34:56Z")).toBe(at);
    expect(parseRfc3339("2018-06-07T21:34:56.250-05:00")).toBe(at + 250);
    expect(rfc3339(at)).toBe("2018-06-08T10:34:56+08:00");
    for (const bad of ["2018-06-08 10:34:56+08:00", "2018-06-08T10:34:56", "2018-02-30T10:00:00+08:00", "2018-06-08T24:00:00+08:00", "20180608103456"]) {
      expect(parseRfc3339(bad)).toBeNull();
    }
  });
});
