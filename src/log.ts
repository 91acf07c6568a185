// Structured JSON log lines, one per event, each with the id of the request (or alarm run) it
// belongs to. Every line is redacted before it is written: fields whose names say secret, and any
// occurrence of a configured secret, a bearer token, an access_token URL parameter or a WeChat sign, whoever put it there.
import { AsyncLocalStorage } from "node:async_hooks";

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

interface LogContext {
  readonly requestId: string;
  /** the values of this deployment's secrets as written inside a JSON string, to be cut out of every line */
  readonly secrets: readonly string[];
}

const context = new AsyncLocalStorage<LogContext>();

// Each list of secrets is filtered and escaped once, not for every line: config.secretsOf gives one list per env.
const preparedSecrets = new WeakMap<readonly (string | undefined)[], readonly string[]>();

/** Runs `fn` with every log line it writes tagged with `requestId` and cleaned of `secrets`. */
export function withLogContext<T>(requestId: string, secrets: readonly (string | undefined)[], fn: () => T): T {
  let prepared = preparedSecrets.get(secrets);
  if (prepared === undefined) {
    prepared = secrets.filter((s): s is string => typeof s === "string" && s.length >= 8).map(asInJson);
    preparedSecrets.set(secrets, prepared);
  }
  return context.run({ requestId, secrets: prepared }, fn);
}

/** How `text` reads inside a JSON string, where a line will contain it. */
function asInJson(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

const SECRET_NAMES = /key|secret|token|sign|password|authorization|session/i;
const BEARER_TOKEN = /wxe_[A-Za-z0-9_-]{43}/g;
// A mini-program access token travels in URLs only (?access_token=…): should a URL reach a line, its token does not.
const ACCESS_TOKEN_PARAM = /(access_token=)[^&\s"\\]+/gi;
// WeChat signs: MD5 (32) or HMAC-SHA256 (64) as upper-case hex.
const SIGN = /\b[0-9A-F]{32}(?:[0-9A-F]{32})?\b/g;

// Field names come from the code, so a few dozen of them: whether each says secret is decided once.
const secretNamed = new Map<string, boolean>();
function isSecretNamed(name: string): boolean {
  let secret = secretNamed.get(name);
  if (secret === undefined) {
    secret = SECRET_NAMES.test(name) && name !== "requestId";
    if (secretNamed.size < 1024) secretNamed.set(name, secret);
  }
  return secret;
}

/** The line as it will be written: secret-named fields dropped to "[redacted]", secret values cut out. */
export function redactLine(record: Record<string, unknown>, secrets: readonly string[]): string {
  return redact(record, secrets.map(asInJson));
}

/** redactLine, with the secrets already as they read inside JSON. */
function redact(record: Record<string, unknown>, secrets: readonly string[]): string {
  const names = Object.keys(record);
  let safe = record;
  if (names.some(isSecretNamed)) {
    safe = {};
    for (const name of names) safe[name] = isSecretNamed(name) ? "[redacted]" : record[name];
  }
  let line = JSON.stringify(safe);
  for (const secret of secrets) if (line.includes(secret)) line = line.split(secret).join("[redacted]");
  // Each pattern is looked for only where its fixed part occurs.
  if (line.includes("wxe_")) line = line.replace(BEARER_TOKEN, "wxe_[redacted]");
  return line.replace(ACCESS_TOKEN_PARAM, "$1[redacted]").replace(SIGN, "[redacted-sign]");
}

export function log(level: LogLevel, event: string, fields: LogFields = {}): void {
  const store = context.getStore();
  const line = redact({ level, event, requestId: store?.requestId ?? null, ...fields, at: new Date().toISOString() }, store?.secrets ?? []);
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
