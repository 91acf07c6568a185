// The keys of API v3, from the PEM text a merchant downloads: the merchant's private key (PKCS#8,
// or PKCS#1 converted), the WeChat Pay public key (SPKI, or PKCS#1 converted) and WeChat Pay
// platform certificates (X.509: serial, validity and public key). Errors say what is wrong with the
// PEM and never print any of it.
import { RSA_ENCRYPTION, TAG, DerError, children, concat, encodeTlv, readTime, root } from "./der";

const RSA_SHA256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

/** A key or certificate that cannot be used; `message` names the problem, never the content. */
export class KeyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFormatError";
  }
}

/** The DER bytes of the first PEM block whose label is one of `labels`, with the label found. */
export function readPem(pem: string, labels: readonly string[]): { label: string; der: Uint8Array } {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (match === null) throw new KeyFormatError(`is not PEM text (expected -----BEGIN ${labels.join(" or ")}-----)`);
  const label = match[1]!;
  if (!labels.includes(label)) throw new KeyFormatError(`is a PEM ${label}, not a ${labels.join(" or ")}`);
  const body = match[2]!.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) throw new KeyFormatError("has a PEM body that is not base64");
  return { label, der: Uint8Array.from(atob(body), (c) => c.charCodeAt(0)) };
}

/**
 * The merchant's API private key (apiclient_key.pem) for signing requests and paySign. PKCS#8
 * ("PRIVATE KEY") as WeChat issues it; PKCS#1 ("RSA PRIVATE KEY", as older tools write it) is
 * wrapped into PKCS#8, which is all Web Crypto imports.
 */
export async function importMerchantPrivateKey(pem: string): Promise<CryptoKey> {
  const { label, der } = readPem(pem, ["PRIVATE KEY", "RSA PRIVATE KEY"]);
  const pkcs8 = label === "PRIVATE KEY" ? der : concat(encodeTlv(TAG.SEQUENCE, concat(new Uint8Array([0x02, 0x01, 0x00]), RSA_ENCRYPTION, encodeTlv(TAG.OCTET_STRING, der))));
  try {
    return await crypto.subtle.importKey("pkcs8", pkcs8, RSA_SHA256, false, ["sign"]);
  } catch {
    throw new KeyFormatError("is not an RSA private key Web Crypto can use");
  }
}

/**
 * The WeChat Pay public key (微信支付公钥, pub_key.pem, id PUB_KEY_ID_…) for verifying answers and
 * notifications. SPKI ("PUBLIC KEY"); PKCS#1 ("RSA PUBLIC KEY") is wrapped into SPKI.
 */
export async function importWeChatPayPublicKey(pem: string): Promise<CryptoKey> {
  const { label, der } = readPem(pem, ["PUBLIC KEY", "RSA PUBLIC KEY"]);
  const spki = label === "PUBLIC KEY" ? der : encodeTlv(TAG.SEQUENCE, concat(RSA_ENCRYPTION, encodeTlv(TAG.BIT_STRING, concat(new Uint8Array([0]), der))));
  return importSpki(spki);
}

/** A WeChat Pay platform certificate (平台证书): what verification needs of it. */
export interface PlatformCertificate {
  /** the serial as WeChat writes it in Wechatpay-Serial: upper-case hex, no leading zeros */
  readonly serialNo: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly key: CryptoKey;
}

/** Reads a platform certificate (PEM "CERTIFICATE"): its serial, validity and RSA public key. */
export async function parsePlatformCertificate(pem: string): Promise<PlatformCertificate> {
  const { der } = readPem(pem, ["CERTIFICATE"]);
  let fields;
  try {
    const certificate = children(der, root(der, TAG.SEQUENCE));
    const tbs = certificate[0];
    if (tbs?.tag !== TAG.SEQUENCE) throw new DerError("no tbsCertificate");
    const parts = children(der, tbs);
    // version is [0] EXPLICIT and optional (absent means v1)
    const [serial, , , validity, , spki] = parts[0]?.tag === TAG.CONTEXT_0 ? parts.slice(1) : parts;
    if (serial?.tag !== TAG.INTEGER || validity?.tag !== TAG.SEQUENCE || spki?.tag !== TAG.SEQUENCE) throw new DerError("unexpected certificate layout");
    const [notBefore, notAfter] = children(der, validity);
    if (notBefore === undefined || notAfter === undefined) throw new DerError("no validity");
    fields = {
      serialNo: normalizeSerial([...der.subarray(serial.start, serial.end)].map((b) => b.toString(16).padStart(2, "0")).join("")),
      notBefore: readTime(der, notBefore),
      notAfter: readTime(der, notAfter),
      spki: der.slice(spki.offset, spki.end),
    };
  } catch (error) {
    if (error instanceof DerError) throw new KeyFormatError(`is not an X.509 certificate this layer can read (${error.message})`);
    throw error;
  }
  return { serialNo: fields.serialNo, notBefore: fields.notBefore, notAfter: fields.notAfter, key: await importSpki(fields.spki) };
}

/** Serials compare as WeChat prints them: upper case, without leading zeros. */
export function normalizeSerial(serial: string): string {
  return serial.toUpperCase().replace(/^0+(?=.)/, "");
}

async function importSpki(spki: Uint8Array): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey("spki", spki, RSA_SHA256, false, ["verify"]);
  } catch {
    throw new KeyFormatError("is not an RSA public key Web Crypto can use");
  }
}
