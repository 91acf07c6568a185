// The keys that verify WeChat Pay v3: the WeChat Pay public key by its id, and platform
// certificates by serial, fetched from /v3/certificates when needed — cached, refreshed before they
// expire, one fetch at a time, and never more than one per interval however many unknown serials
// arrive (a forger could otherwise make us fetch on every request). Both kinds are held at once, so
// WeChat's migration of a merchant from certificates to the public key passes unnoticed.
import { AeadError, decryptAead } from "./aead";
import { KeyFormatError, normalizeSerial, parsePlatformCertificate, type PlatformCertificate } from "./keys";
import type { VerificationKeys } from "./verifier";

export interface KeyRingOptions {
  /** the WeChat Pay public key (微信支付公钥) and its id, PUB_KEY_ID_… */
  readonly publicKey?: { readonly id: string; readonly key: CryptoKey };
  /** fetches and decrypts the current platform certificates (the caller verifies the answer) */
  readonly fetchCertificates?: () => Promise<PlatformCertificate[]>;
  /** ms clock, default Date.now */
  readonly now?: () => number;
  /** the least time between two fetches, default 5 minutes */
  readonly minFetchIntervalMs?: number;
  /** certificates are fetched again this long before the first one expires, default 1 day */
  readonly refreshBeforeExpiryMs?: number;
}

export class VerificationKeyRing implements VerificationKeys {
  readonly #options: KeyRingOptions;
  readonly #certificates = new Map<string, PlatformCertificate>();
  #lastFetchAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | null = null;

  constructor(options: KeyRingOptions) {
    this.#options = options;
  }

  async keyFor(serial: string): Promise<CryptoKey | undefined> {
    const wanted = normalizeSerial(serial);
    const { publicKey } = this.#options;
    if (publicKey !== undefined && normalizeSerial(publicKey.id) === wanted) return publicKey.key;
    if (this.#options.fetchCertificates === undefined) return undefined;
    const now = this.#now();
    if (this.#usable(wanted, now) === undefined || this.#expiringSoon(now)) await this.#refreshIfAllowed(now);
    return this.#usable(wanted, this.#now())?.key;
  }

  /** The serials of the certificates held now (for /healthz and tests). */
  serials(): string[] {
    return [...this.#certificates.keys()];
  }

  #usable(serial: string, now: number): PlatformCertificate | undefined {
    const certificate = this.#certificates.get(serial);
    return certificate !== undefined && certificate.notBefore <= now && now < certificate.notAfter ? certificate : undefined;
  }

  #expiringSoon(now: number): boolean {
    const margin = this.#options.refreshBeforeExpiryMs ?? 86_400_000;
    return [...this.#certificates.values()].some((c) => c.notAfter - margin <= now);
  }

  #refreshIfAllowed(now: number): Promise<void> {
    if (this.#inFlight !== null) return this.#inFlight;
    if (now - this.#lastFetchAt < (this.#options.minFetchIntervalMs ?? 300_000)) return Promise.resolve();
    this.#lastFetchAt = now;
    this.#inFlight = this.#options.fetchCertificates!()
      .then((certificates) => {
        for (const certificate of certificates) this.#certificates.set(normalizeSerial(certificate.serialNo), certificate);
      })
      // A failed fetch leaves the ring as it was; the interval still applies before the next try.
      .catch(() => undefined)
      .finally(() => {
        this.#inFlight = null;
      });
    return this.#inFlight;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/**
 * The certificates of a /v3/certificates answer: each `encrypt_certificate` decrypted with the APIv3
 * key (which only WeChat and the merchant hold: a certificate that decrypts is WeChat's) and read.
 */
export async function readCertificatesAnswer(body: string, apiV3Key: string): Promise<PlatformCertificate[]> {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    throw new KeyFormatError("the certificates answer is not JSON");
  }
  const list = typeof data === "object" && data !== null ? (data as { data?: unknown }).data : undefined;
  if (!Array.isArray(list)) throw new KeyFormatError("the certificates answer has no data list");
  const certificates: PlatformCertificate[] = [];
  for (const entry of list) {
    const encrypted = typeof entry === "object" && entry !== null ? (entry as { encrypt_certificate?: Record<string, unknown> }).encrypt_certificate : undefined;
    if (encrypted === undefined || typeof encrypted.ciphertext !== "string" || typeof encrypted.nonce !== "string" || encrypted.algorithm !== "AEAD_AES_256_GCM") {
      throw new KeyFormatError("a certificate entry is not an AEAD_AES_256_GCM encrypt_certificate");
    }
    let pem: string;
    try {
      pem = await decryptAead(apiV3Key, encrypted.ciphertext, { nonce: encrypted.nonce, associatedData: typeof encrypted.associated_data === "string" ? encrypted.associated_data : "" });
    } catch (error) {
      if (error instanceof AeadError) throw new KeyFormatError(`a certificate does not decrypt with the APIv3 key: ${error.message}`);
      throw error;
    }
    certificates.push(await parsePlatformCertificate(pem));
  }
  return certificates;
}
