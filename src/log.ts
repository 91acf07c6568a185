// Structured JSON log lines, one per event, each with the id of the request (or alarm run) it
// belongs to. Every line is redacted before it is written: fields whose names say secret, and any
// occurrence of a configured secret, a bearer token, an access_token URL parameter or a WeChat sign, whoever put it there.
import { AsyncLocalStorage } from "node:async_hooks";

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

interface LogContext {
  readonly requestId: string;
  /** the values of this deployment's secrets, to be cut out of every line */
  readonly secrets: readonly string[];
}

const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with every log line it writes tagged with `requestId` and cleaned of `secrets`. */
export function withLogContext<T>(requestId: string, secrets: readonly (string | undefined)[], fn: () => T): T {
  return context.run({ requestId, secrets: secrets.filter((s): s is string => typeof s === "string" && s.length >= 8) }, fn);
}

const SECRET_NAMES = /key|secret|token|sign|password|authorization|session/i;
const BEARER_TOKEN = /wxe_[A-Za-z0-9_-]{43}/g;
// A mini-program access token travels in URLs only (?access_token=…): should a URL reach a line, its token does not.
const ACCESS_TOKEN_PARAM = /(access_token=)[^&\s"\\]+/gi;
// WeChat signs: MD5 (32) or HMAC-SHA256 (64) as upper-case hex.
const SIGN = /\b(?:[0-9A-F]{64}|[0-9A-F]{32})\b/g;

/** The line as it will be written: secret-named fields dropped to "[redacted]", secret values cut out. */
export function redactLine(record: Record<string, unknown>, secrets: readonly string[]): string {
  const safe: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record)) {
    safe[name] = SECRET_NAMES.test(name) && name !== "requestId" ? "[redacted]" : value;
  }
  let line = JSON.stringify(safe);
  for (const secret of secrets) line = line.split(JSON.stringify(secret).slice(1, -1)).join("[redacted]");
  return line.replace(BEARER_TOKEN, "wxe_[redacted]").replace(ACCESS_TOKEN_PARAM, "$1[redacted]").replace(SIGN, "[redacted-sign]");
}

export function log(level: LogLevel, event: string, fields: LogFields = {}): void {
  const store = context.getStore();
  const line = redactLine({ level, event, requestId: store?.requestId ?? null, ...fields, at: new Date().toISOString() }, store?.secrets ?? []);
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
