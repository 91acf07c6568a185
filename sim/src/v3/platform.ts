// WeChat's side of API v3 for one merchant: the keys the simulator holds (the merchant's public key,
// the platform certificate and its key, the WeChat Pay public key pair, the APIv3 key), which key
// signs an answer or a notification under the current key mode (§4.3), the Wechatpay-* headers,
// signature probes, AEAD_AES_256_GCM resources and the /v3/certificates list. Configuration is
// checked when the simulator is built; the Web Crypto keys are imported on first use.
import { rfc3339 } from "../clock";
import { randomString } from "../ids";
import type { SimSettings } from "../settings";
import { normalizeSerial } from "./auth";
import { readCertificate, type CertificateFacts } from "./certificate";
import { aeadEncrypt, importApiV3Key, importPrivateKey, importPublicKey, pemToDer, publicKeyOf, rsaSign, signedMessage, toBase64 } from "./crypto";

/** The v3 configuration of a simulator. PEM texts; all of them made-up test keys in this project. */
export interface SimV3Options {
  /** The APIv3 key: 32 ASCII characters. */
  apiV3Key: string;
  /** The serial of the merchant's API certificate (hex), which requests name in serial_no. */
  merchantSerial: string;
  /** The merchant's public key, SPKI ("PUBLIC KEY"); or give merchantPrivateKey instead. */
  merchantPublicKey?: string;
  /** The merchant's private key, PKCS#8 ("PRIVATE KEY"); only its public half is used. */
  merchantPrivateKey?: string;
  /** The platform certificate's private key, PKCS#8. */
  platformPrivateKey: string;
  /** The platform certificate (PEM "CERTIFICATE"); its serial and validity are read from it. */
  platformCertificate: string;
  /** The WeChat Pay public key's id, PUB_KEY_ID_… */
  publicKeyId: string;
  /** The private half of the WeChat Pay public key, PKCS#8. */
  publicKeyPrivateKey: string;
}

export const SIGNATURE_PROBE_PREFIX = "WECHATPAY/SIGNTEST/";
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX_UPPER = "0123456789ABCDEF";

interface Keys {
  merchant: CryptoKey;
  platform: CryptoKey;
  publicKey: CryptoKey;
  apiV3: CryptoKey;
}

/** Which of WeChat's two keys signs. */
export type PlatformSigner = "public_key" | "certificate";

export interface SignedHeaders {
  headers: Record<string, string>;
  /** Whether the signature is a deliberate WECHATPAY/SIGNTEST/ probe (wrong on purpose). */
  probe: boolean;
}

/** FNV-1a, to pick a notification's signer in migration mode from the seed and its body, reproducibly. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

export class V3Platform {
  readonly merchantSerial: string;
  readonly publicKeyId: string;
  readonly certificate: CertificateFacts;
  readonly #options: SimV3Options;
  readonly #settings: SimSettings;
  readonly #now: () => number;
  #keys: Promise<Keys> | null = null;

  /** Throws at once, naming the option (never its value), for a configuration that cannot work. */
  constructor(options: SimV3Options, settings: SimSettings, now: () => number) {
    if (!/^[\x21-\x7e]{32}$/.test(options.apiV3Key)) throw new Error("createSimulator: v3.apiV3Key must be 32 ASCII characters");
    if (!/^[0-9A-Fa-f]{1,40}$/.test(options.merchantSerial)) throw new Error("createSimulator: v3.merchantSerial must be hex");
    if (!/^PUB_KEY_ID_[0-9A-Za-z]{1,64}$/.test(options.publicKeyId)) throw new Error("createSimulator: v3.publicKeyId must be PUB_KEY_ID_…");
    if ((options.merchantPublicKey === undefined) === (options.merchantPrivateKey === undefined)) {
      throw new Error("createSimulator: give exactly one of v3.merchantPublicKey and v3.merchantPrivateKey");
    }
    const check = (name: keyof SimV3Options, label: string) => {
      try {
        return pemToDer(options[name]!, label);
      } catch (error) {
        throw new Error(`createSimulator: v3.${name}: ${(error as Error).message}`);
      }
    };
    if (options.merchantPublicKey !== undefined) check("merchantPublicKey", "PUBLIC KEY");
    else check("merchantPrivateKey", "PRIVATE KEY");
    check("platformPrivateKey", "PRIVATE KEY");
    check("publicKeyPrivateKey", "PRIVATE KEY");
    try {
      this.certificate = readCertificate(check("platformCertificate", "CERTIFICATE"));
    } catch (error) {
      throw new Error(`createSimulator: v3.platformCertificate: ${(error as Error).message}`);
    }
    this.merchantSerial = normalizeSerial(options.merchantSerial);
    this.publicKeyId = options.publicKeyId;
    this.#options = options;
    this.#settings = settings;
    this.#now = now;
  }

  /** The Web Crypto keys, imported once. */
  keys(): Promise<Keys> {
    this.#keys ??= (async () => {
      const o = this.#options;
      return {
        merchant: o.merchantPublicKey !== undefined
          ? await importPublicKey(pemToDer(o.merchantPublicKey, "PUBLIC KEY"))
          : await publicKeyOf(pemToDer(o.merchantPrivateKey!, "PRIVATE KEY")),
        platform: await importPrivateKey(pemToDer(o.platformPrivateKey, "PRIVATE KEY")),
        publicKey: await importPrivateKey(pemToDer(o.publicKeyPrivateKey, "PRIVATE KEY")),
        apiV3: await importApiV3Key(o.apiV3Key),
      };
    })();
    return this.#keys;
  }

  /**
   * Who signs an answer. During migration WeChat signs with the public key only for a request that
   * names it in Wechatpay-Serial (§4.3), so merchants opt in per request.
   */
  answerSigner(requestSerial: string | null): PlatformSigner {
    const mode = this.#settings.v3KeyMode;
    if (mode !== "migration") return mode;
    return requestSerial?.trim() === this.publicKeyId ? "public_key" : "certificate";
  }

  /**
   * Who signs a notification. During migration each is signed one way or the other, the share set
   * by v3MigrationShare and the pick fixed by the seed and the body, so its retries agree.
   */
  notificationSigner(body: string): PlatformSigner {
    const { v3KeyMode: mode, v3MigrationSeed: seed, v3MigrationShare: share } = this.#settings;
    if (mode !== "migration") return mode;
    return fnv1a(`${seed}\u0000${body}`) / 0x1_0000_0000 < share ? "public_key" : "certificate";
  }

  /** Headers of an answer: signed over timestamp, nonce and the raw body; a probe while v3ProbeAnswers lasts. */
  answerHeaders(body: Uint8Array, requestSerial: string | null): Promise<SignedHeaders> {
    const probe = this.#takeProbe("v3ProbeAnswers");
    return this.#sign(body, this.answerSigner(requestSerial), probe, { "Request-ID": randomString(32, HEX_UPPER) });
  }

  /** Headers of one notification POST, signed at the time it is made (a retry has a fresh timestamp). */
  notificationHeaders(body: string): Promise<SignedHeaders> {
    const probe = this.#takeProbe("v3ProbeNotifications");
    return this.#sign(new TextEncoder().encode(body), this.notificationSigner(body), probe, {});
  }

  /** AEAD_AES_256_GCM under the APIv3 key with a fresh 12-character nonce. */
  async encrypt(plaintext: string, associatedData: string): Promise<{ ciphertext: string; nonce: string }> {
    const nonce = randomString(12, ALPHANUMERIC);
    return { ciphertext: await aeadEncrypt((await this.keys()).apiV3, plaintext, nonce, associatedData), nonce };
  }

  /** The /v3/certificates answer: the platform certificate, encrypted, with its serial and validity. */
  async certificatesAnswer(): Promise<{ data: unknown[] }> {
    const encrypted = await this.encrypt(this.#options.platformCertificate, "certificate");
    return {
      data: [
        {
          serial_no: this.certificate.serialNo,
          effective_time: rfc3339(this.certificate.notBefore),
          expire_time: rfc3339(this.certificate.notAfter),
          encrypt_certificate: { algorithm: "AEAD_AES_256_GCM", associated_data: "certificate", ...encrypted },
        },
      ],
    };
  }

  #takeProbe(name: "v3ProbeAnswers" | "v3ProbeNotifications"): boolean {
    if (this.#settings[name] <= 0) return false;
    this.#settings[name] -= 1;
    return true;
  }

  async #sign(body: Uint8Array, signer: PlatformSigner, probe: boolean, extra: Record<string, string>): Promise<SignedHeaders> {
    const keys = await this.keys();
    const timestamp = String(Math.floor(this.#now() / 1000));
    const nonce = randomString(32, ALPHANUMERIC);
    // A probe looks like a signature but signs nothing: the merchant must refuse it.
    const signature = probe
      ? SIGNATURE_PROBE_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(256)))
      : await rsaSign(signer === "public_key" ? keys.publicKey : keys.platform, signedMessage([timestamp, nonce, body]));
    return {
      probe,
      headers: {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": signer === "public_key" ? this.publicKeyId : this.certificate.serialNo,
        "Wechatpay-Signature": signature,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        ...extra,
      },
    };
  }
}
