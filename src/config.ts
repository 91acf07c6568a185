// Reads and validates the Worker's configuration: the only module that looks at settings in env.
// It reports each missing or malformed setting by name and never echoes a value back.
import { ApiError } from "./errors";
import type { Env } from "./env";
import { isSignType, type SignType } from "./wechat/sign";
import { KeyFormatError, importMerchantPrivateKey, importWeChatPayPublicKey, readPem } from "./wechat/v3/keys";
import { isXmlText } from "./wechat/xml";
import { webhookSecretProblem } from "./events/signature";

/** One sellable product; prices are integer fen and come only from here. */
export interface Product {
  readonly name: string;
  readonly price: number;
}
export type Catalog = ReadonlyMap<string, Product>;

export interface Config {
  readonly appid: string;
  readonly secret: string;
  readonly mchId: string;
  readonly payKey: string;
  readonly signType: SignType;
  readonly publicBaseUrl: string;
  readonly wechatApiBase: string;
  readonly wechatPayApiBase: string;
  readonly adminToken: string;
  readonly products: Catalog;
  readonly sessionTtlSeconds: number;
  readonly orderTtlSeconds: number;
  /** which WeChat Pay API the service speaks: v2 (XML, the v2 key) or v3 (JSON, RSA) */
  readonly apiVersion: ApiVersion;
  /** v3: the APIv3 key, for notification resources and certificates */
  readonly apiV3Key: string;
  /** v3: the merchant API private key, PEM (checked here for shape; imported where it is used) */
  readonly merchantPrivateKey: string;
  /** v3: the merchant API certificate's serial, upper-case hex */
  readonly merchantCertSerial: string;
  /** v3, optional: the WeChat Pay public key (PEM) and its id; without it, platform certificates are fetched */
  readonly wechatPayPublicKey: string | null;
  readonly wechatPayPublicKeyId: string | null;
  /** optional: where merchant events are POSTed; without it no event is recorded or sent */
  readonly merchantWebhookUrl: string | null;
  /** required with the URL: the whsec_… key the events are signed with */
  readonly merchantWebhookSecret: string | null;
  /** WeChat's order shipping management: off, uploads by the operator, or every paid order uploaded as virtual goods */
  readonly shipping: ShippingMode;
  /** the Token of the mini program's message push (settlement pushes); without it, /api/wechat/push is not configured */
  readonly pushToken: string | null;
  /** the push's EncodingAESKey: with it, only safe-mode (encrypted) pushes are accepted */
  readonly pushAesKey: string | null;
}

export type ApiVersion = "v2" | "v3";
export type ShippingMode = "off" | "manual" | "virtual";

export type ConfigKey = keyof Config;

/** A setting that cannot be used, named by its env variable. */
export interface ConfigProblem {
  readonly setting: string;
  readonly problem: string;
}

export const DEFAULTS = {
  WECHATPAY_SIGN_TYPE: "HMAC-SHA256",
  WECHAT_API_BASE: "https://api.weixin.qq.com",
  WECHATPAY_API_BASE: "https://api.mch.weixin.qq.com",
  SESSION_TTL_SECONDS: 7200,
  ORDER_TTL_SECONDS: 1800,
} as const;

/** Bounds that keep the values meaningful: KV refuses TTLs under 60 s; WeChat wants time_expire
 * at least a few minutes ahead (older docs say 5) and prepay_ids live 2 h. */
export const LIMITS = {
  sessionTtlSeconds: { min: 60, max: 30 * 86_400 },
  orderTtlSeconds: { min: 300, max: 7 * 86_400 },
  productPrice: { min: 1, max: 100_000_000 },
} as const;

type Parser<T> = (raw: string | undefined) => { value: T } | { problem: string };

const SETTINGS: { readonly [K in ConfigKey]: { readonly name: keyof Env & string; readonly parse: Parser<Config[K]> } } = {
  appid: { name: "WECHAT_APPID", parse: required(matching(/^wx[0-9A-Za-z]{16}$/, "must be a mini-program appid: wx followed by 16 letters or digits")) },
  secret: { name: "WECHAT_SECRET", parse: required(matching(/^[0-9A-Za-z]{16,64}$/, "must be the AppSecret: 16 to 64 letters or digits")) },
  mchId: { name: "WECHATPAY_MCHID", parse: required(matching(/^[0-9]{6,32}$/, "must be the merchant id: digits only")) },
  payKey: { name: "WECHATPAY_KEY", parse: required(matching(/^[0-9A-Za-z]{32}$/, "must be the 32-character API v2 key")) },
  signType: { name: "WECHATPAY_SIGN_TYPE", parse: withDefault(DEFAULTS.WECHATPAY_SIGN_TYPE, parseSignType) },
  publicBaseUrl: { name: "PUBLIC_BASE_URL", parse: required(parseOrigin) },
  wechatApiBase: { name: "WECHAT_API_BASE", parse: withDefault(DEFAULTS.WECHAT_API_BASE, parseOrigin) },
  wechatPayApiBase: { name: "WECHATPAY_API_BASE", parse: withDefault(DEFAULTS.WECHATPAY_API_BASE, parseOrigin) },
  adminToken: { name: "ADMIN_TOKEN", parse: required(matching(/^[\x21-\x7e]{32,256}$/, "must be at least 32 printable characters")) },
  products: { name: "PRODUCTS", parse: required(parseCatalog) },
  sessionTtlSeconds: { name: "SESSION_TTL_SECONDS", parse: withDefault(String(DEFAULTS.SESSION_TTL_SECONDS), integerIn(LIMITS.sessionTtlSeconds)) },
  orderTtlSeconds: { name: "ORDER_TTL_SECONDS", parse: withDefault(String(DEFAULTS.ORDER_TTL_SECONDS), integerIn(LIMITS.orderTtlSeconds)) },
  apiVersion: { name: "WECHATPAY_API_VERSION", parse: withDefault("v2", (raw): { value: ApiVersion } | { problem: string } => (raw === "v2" || raw === "v3" ? { value: raw } : { problem: 'must be "v2" or "v3"' })) },
  // The v3 settings are required only in v3 (see load()); each is checked for shape, never printed.
  apiV3Key: { name: "WECHATPAY_APIV3_KEY", parse: required(matching(/^[\x21-\x7e]{32}$/, "must be the 32-character APIv3 key")) },
  merchantPrivateKey: { name: "WECHATPAY_PRIVATE_KEY", parse: required(pemOf(["PRIVATE KEY", "RSA PRIVATE KEY"], "the merchant API private key (apiclient_key.pem)")) },
  merchantCertSerial: { name: "WECHATPAY_CERT_SERIAL", parse: required((raw): { value: string } | { problem: string } => (raw !== undefined && /^[0-9A-Fa-f]{8,40}$/.test(raw) ? { value: raw.toUpperCase() } : { problem: "must be the merchant API certificate's serial number (hex)" })) },
  wechatPayPublicKey: { name: "WECHATPAY_PUBLIC_KEY", parse: optional(pemOf(["PUBLIC KEY", "RSA PUBLIC KEY"], "WeChat Pay's public key (pub_key.pem)")) },
  wechatPayPublicKeyId: { name: "WECHATPAY_PUBLIC_KEY_ID", parse: optional(matching(/^PUB_KEY_ID_[0-9A-Za-z]{1,64}$/, "must be the public key's id, PUB_KEY_ID_…")) },
  merchantWebhookUrl: { name: "MERCHANT_WEBHOOK_URL", parse: optional(parseWebhookUrl) },
  merchantWebhookSecret: {
    name: "MERCHANT_WEBHOOK_SECRET",
    parse: optional((raw): { value: string } | { problem: string } => {
      const problem = webhookSecretProblem(raw ?? "");
      return problem === null ? { value: raw ?? "" } : { problem };
    }),
  },
  shipping: {
    name: "WECHAT_SHIPPING",
    parse: withDefault("off", (raw): { value: ShippingMode } | { problem: string } =>
      raw === "off" || raw === "manual" || raw === "virtual" ? { value: raw } : { problem: 'must be "off", "manual" or "virtual"' },
    ),
  },
  // The push settings' shapes are WeChat's: the console accepts a Token of 3 to 32 letters or digits, and
  // generates an EncodingAESKey of 43 (base64 of a 32-byte key without its "=").
  pushToken: { name: "WECHAT_PUSH_TOKEN", parse: optional(matching(/^[0-9A-Za-z]{3,32}$/, "must be the message push Token: 3 to 32 letters or digits")) },
  pushAesKey: { name: "WECHAT_PUSH_AES_KEY", parse: optional(matching(/^[0-9A-Za-z]{43}$/, "must be the message push EncodingAESKey: 43 letters or digits")) },
};

/** Settings only API v2 needs, and settings only API v3 needs: the other version's are not required. */
const ONLY_V2: readonly ConfigKey[] = ["payKey", "signType"];
const ONLY_V3: readonly ConfigKey[] = ["apiV3Key", "merchantPrivateKey", "merchantCertSerial", "wechatPayPublicKey", "wechatPayPublicKeyId"];

interface Loaded {
  readonly values: Partial<Config>;
  readonly problems: Readonly<Partial<Record<ConfigKey, ConfigProblem>>>;
}

// env is one object per isolate, so settings are parsed once and not on every request.
const cache = new WeakMap<object, Loaded>();

function load(env: Env): Loaded {
  const cached = cache.get(env);
  if (cached) return cached;
  const values: Partial<Record<ConfigKey, unknown>> = {};
  const problems: Partial<Record<ConfigKey, ConfigProblem>> = {};
  for (const key of Object.keys(SETTINGS) as ConfigKey[]) {
    const { name, parse } = SETTINGS[key];
    const raw = env[name];
    const result = parse(typeof raw === "string" ? raw : raw === undefined ? undefined : String(raw));
    if ("value" in result) values[key] = result.value;
    else problems[key] = { setting: name, problem: result.problem };
  }
  // The API version decides which settings are required; WeChat Pay's public key comes with its id.
  for (const key of values.apiVersion === "v3" ? ONLY_V2 : ONLY_V3) delete problems[key];
  if (values.apiVersion === "v3" && (values.wechatPayPublicKey === null) !== (values.wechatPayPublicKeyId === null) && !problems.wechatPayPublicKey && !problems.wechatPayPublicKeyId) {
    const missing = values.wechatPayPublicKey === null ? "wechatPayPublicKey" : "wechatPayPublicKeyId";
    problems[missing] = { setting: SETTINGS[missing].name, problem: "is needed with the other half of WeChat Pay's public key (the key and its PUB_KEY_ID_…)" };
  }
  if (values.pushAesKey != null && values.pushToken === null) {
    problems.pushToken = { setting: SETTINGS.pushToken.name, problem: "is required with WECHAT_PUSH_AES_KEY (every push is signed with it)" };
  }
  if (values.merchantWebhookUrl != null && values.merchantWebhookSecret === null) {
    problems.merchantWebhookSecret = { setting: SETTINGS.merchantWebhookSecret.name, problem: "is required with MERCHANT_WEBHOOK_URL" };
  }
  // An operator token must be random, except against a loopback WeChat (the local simulator, where
  // the published example is the point): the one setting whose check depends on others. While a
  // base itself is unusable, that problem is the one to report.
  const bases = [values.wechatApiBase, values.wechatPayApiBase];
  if (values.adminToken !== undefined && bases.every((b) => b !== undefined) && !bases.every(isLoopbackOrigin)) {
    const weakness = adminTokenWeakness(values.adminToken as string);
    if (weakness !== null) {
      delete values.adminToken;
      problems.adminToken = { setting: SETTINGS.adminToken.name, problem: weakness };
    }
  }
  const loaded: Loaded = { values: values as Partial<Config>, problems };
  cache.set(env, loaded);
  return loaded;
}

/** Every setting that is missing or malformed, for /healthz. */
export function configProblems(env: Env): ConfigProblem[] {
  return Object.values(load(env).problems).filter((p): p is ConfigProblem => p !== undefined);
}

const keyChecks = new WeakMap<object, Promise<ConfigProblem[]>>();

/**
 * The v3 keys whose PEM reads but that Web Crypto will not take (a certificate under a key's label,
 * a key cut short or mistyped), which configProblems cannot see without importing them: for
 * /healthz, named and never printed. Empty in v2, and for a key configProblems already names.
 */
export function keyProblems(env: Env): Promise<ConfigProblem[]> {
  let checked = keyChecks.get(env);
  if (checked === undefined) {
    checked = importedKeyProblems(load(env));
    keyChecks.set(env, checked);
  }
  return checked;
}

async function importedKeyProblems({ values, problems }: Loaded): Promise<ConfigProblem[]> {
  if (values.apiVersion !== "v3") return [];
  const keys = [
    ["merchantPrivateKey", importMerchantPrivateKey],
    ["wechatPayPublicKey", importWeChatPayPublicKey],
  ] as const;
  const found: ConfigProblem[] = [];
  for (const [key, importKey] of keys) {
    const pem = values[key];
    if (typeof pem !== "string" || problems[key] !== undefined) continue;
    try {
      await importKey(pem);
    } catch (error) {
      if (!(error instanceof KeyFormatError)) throw error;
      found.push({ setting: SETTINGS[key].name, problem: error.message });
    }
  }
  return found;
}

/**
 * The settings a request needs. If any of them is unusable the request fails with 503
 * `not_configured`, naming the settings (never their values).
 */
export function requireConfig<K extends ConfigKey>(env: Env, keys: readonly K[]): Pick<Config, K> {
  const { values, problems } = load(env);
  // A setting the configured API version does not require may be absent: a request that needs it anyway is refused too.
  const bad = keys.map((k) => problems[k] ?? (values[k] === undefined ? { setting: SETTINGS[k].name, problem: "is missing" } : undefined)).filter((p): p is ConfigProblem => p !== undefined);
  if (bad.length > 0) {
    throw new ApiError(
      503,
      "not_configured",
      `The service is not configured: ${bad.map((p) => `${p.setting} ${p.problem}`).join("; ")}.`,
    );
  }
  const picked: Partial<Pick<Config, K>> = {};
  for (const key of keys) picked[key] = values[key];
  return picked as Pick<Config, K>;
}

// --- parsers -------------------------------------------------------------------------------

function required<T>(parse: Parser<T>): Parser<T> {
  return (raw) => (raw === undefined || raw.trim() === "" ? { problem: "is missing" } : parse(raw.trim()));
}

function optional<T>(parse: Parser<T>): Parser<T | null> {
  return (raw) => (raw === undefined || raw.trim() === "" ? { value: null } : parse(raw.trim()));
}

/** A PEM block of one of `labels` whose body is base64 of one DER SEQUENCE; `what` names it in the problem. */
function pemOf(labels: readonly string[], what: string): Parser<string> {
  return (raw) => {
    try {
      const { der } = readPem(raw ?? "", labels);
      if (der[0] !== 0x30 || der.byteLength < 64) return { problem: `is not ${what}: its PEM body is not a key` };
      return { value: raw ?? "" };
    } catch (error) {
      return { problem: `is not ${what}: it ${error instanceof KeyFormatError ? error.message : "cannot be read"}` };
    }
  };
}

function withDefault<T>(fallback: string, parse: Parser<T>): Parser<T> {
  return (raw) => parse(raw === undefined || raw.trim() === "" ? fallback : raw.trim());
}

function matching(pattern: RegExp, problem: string): Parser<string> {
  return (raw) => (raw !== undefined && pattern.test(raw) ? { value: raw } : { problem });
}

function parseSignType(raw: string | undefined): { value: SignType } | { problem: string } {
  return isSignType(raw) ? { value: raw } : { problem: 'must be "HMAC-SHA256" or "MD5"' };
}

function integerIn(range: { min: number; max: number }): Parser<number> {
  return (raw) => {
    const n = raw !== undefined && /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
    return Number.isSafeInteger(n) && n >= range.min && n <= range.max
      ? { value: n }
      : { problem: `must be a whole number of seconds from ${range.min} to ${range.max}` };
  };
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Whether an origin's host is this machine (the simulator in local development and tests). */
export function isLoopbackOrigin(origin: unknown): boolean {
  if (typeof origin !== "string") return false;
  try {
    const host = new URL(origin).hostname;
    return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/** The operator token printed in wrangler.toml's local environment and the README: public, so never a real one. */
export const EXAMPLE_ADMIN_TOKENS: readonly string[] = ["local-admin-token-change-me-in-production"];

/** Words that mark a placeholder someone forgot to replace. */
const PLACEHOLDER = /change-?me|example|password|placeholder/i;

/**
 * Why `token` cannot be a real operator token, or null. What is checked (beyond the length, checked
 * by its parser): it is not a published example and has no placeholder word in it; it is not one
 * short piece repeated; it is not mostly runs (each character equal to, or one after or before,
 * the previous one, as in "aaaa" or "abcd"); it has at least 10 different characters; and the
 * character frequencies give at least 96 bits in all (Shannon's estimate: length × entropy per
 * character). `openssl rand -hex 32` and `openssl rand -base64 32` pass with a wide margin.
 */
export function adminTokenWeakness(token: string): string | null {
  if (EXAMPLE_ADMIN_TOKENS.includes(token) || PLACEHOLDER.test(token)) {
    return "is the published example or a placeholder; set a random one, e.g. the output of `openssl rand -hex 32`";
  }
  const tooLittle = "has too little variety to be random; set a random one, e.g. the output of `openssl rand -hex 32`";
  for (let unit = 1; unit <= token.length / 2; unit++) {
    if (token.length % unit === 0 && token.slice(0, unit).repeat(token.length / unit) === token) return tooLittle;
  }
  let runs = 0;
  for (let i = 1; i < token.length; i++) if (Math.abs(token.charCodeAt(i) - token.charCodeAt(i - 1)) <= 1) runs++;
  if (runs * 2 > token.length - 1) return tooLittle;
  const counts = new Map<string, number>();
  for (const ch of token) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  if (counts.size < 10) return tooLittle;
  let bitsPerChar = 0;
  for (const n of counts.values()) bitsPerChar -= (n / token.length) * Math.log2(n / token.length);
  return bitsPerChar * token.length >= 96 ? null : tooLittle;
}

/** An origin (scheme://host[:port]) with no path, query or fragment; plain http only on loopback. */
function parseOrigin(raw: string | undefined): { value: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw ?? "");
  } catch {
    return { problem: "must be an absolute URL such as https://pay.example.com" };
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    return { problem: "must be an origin only, with no path, query, fragment or credentials" };
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackOrigin(url.origin))) return { value: url.origin };
  return { problem: "must use https:// (plain http:// is allowed only for loopback hosts)" };
}

/** The merchant's event receiver: https, or plain http on loopback; a path and query are fine, credentials and fragments are not. */
function parseWebhookUrl(raw: string | undefined): { value: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw ?? "");
  } catch {
    return { problem: "must be an absolute URL such as https://shop.example.com/webhooks/wxpay" };
  }
  if (url.hash !== "" || url.username !== "" || url.password !== "") return { problem: "must have no fragment or credentials" };
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackOrigin(url.origin))) return { value: url.href };
  return { problem: "must use https:// (plain http:// is allowed only for loopback hosts)" };
}

const SKU = /^[0-9A-Za-z_.-]{1,64}$/;

function parseCatalog(raw: string | undefined): { value: Catalog } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(raw ?? "");
  } catch {
    return { problem: "must be a JSON object of products" };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { problem: 'must be a JSON object like {"sku":{"name":"…","price":100}}' };
  }
  const products = new Map<string, Product>();
  for (const [sku, entry] of Object.entries(data)) {
    const { name, price } = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    if (!SKU.test(sku)) return { problem: `has an invalid sku (use 1-64 of 0-9 A-Z a-z _ . -)` };
    if (typeof name !== "string" || name.trim() === "" || name.length > 100) {
      return { problem: `product "${sku}" needs a name of 1-100 characters` };
    }
    // Names become the order's description, sent to WeChat inside XML.
    if (!isXmlText(name)) return { problem: `product "${sku}" has a name with a character WeChat's XML cannot carry` };
    if (typeof price !== "number" || !Number.isSafeInteger(price) || price < LIMITS.productPrice.min || price > LIMITS.productPrice.max) {
      return { problem: `product "${sku}" needs a price in whole fen from ${LIMITS.productPrice.min} to ${LIMITS.productPrice.max}` };
    }
    products.set(sku, { name: name.trim(), price });
  }
  if (products.size === 0) return { problem: "lists no products" };
  return { value: products };
}

// One list per env (one env per isolate): log.ts prepares each list it sees once, by identity.
const secretLists = new WeakMap<object, readonly (string | undefined)[]>();

/** The values that must never appear in a log line or a response (see log.ts): the same list for the same env. */
export function secretsOf(env: Env): readonly (string | undefined)[] {
  let secrets = secretLists.get(env);
  if (secrets === undefined) {
    secrets = Object.freeze([
      env.WECHAT_SECRET, env.WECHATPAY_KEY, env.ADMIN_TOKEN, env.MERCHANT_WEBHOOK_SECRET,
      env.WECHATPAY_APIV3_KEY, env.WECHATPAY_PRIVATE_KEY, env.WECHAT_PUSH_TOKEN, env.WECHAT_PUSH_AES_KEY,
    ]);
    secretLists.set(env, secrets);
  }
  return secrets;
}

/** Where merchant events go, when MERCHANT_WEBHOOK_URL is set at all. */
export interface MerchantWebhook {
  /** null while the URL or the secret is unusable (/healthz names which): events wait, recorded, until it is fixed */
  readonly target: { readonly url: string; readonly secret: string } | null;
}

/** The merchant webhook, or null when MERCHANT_WEBHOOK_URL is not set (then no event is recorded or sent). */
export function merchantWebhook(env: Env): MerchantWebhook | null {
  if (typeof env.MERCHANT_WEBHOOK_URL !== "string" || env.MERCHANT_WEBHOOK_URL.trim() === "") return null;
  const { values } = load(env);
  const url = values.merchantWebhookUrl;
  const secret = values.merchantWebhookSecret;
  return { target: typeof url === "string" && typeof secret === "string" ? { url, secret } : null };
}

/** The deployment's shipping mode; "off" while WECHAT_SHIPPING is unusable (/healthz names it). */
export function shippingMode(env: Env): ShippingMode {
  return load(env).values.shipping ?? "off";
}
