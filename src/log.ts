// Structured JSON log lines. Callers pass only fields that are safe to keep: ids, codes, kinds,
// never keys, secrets, tokens, session_key, signs or raw bodies.

export type LogLevel = "info" | "warn" | "error";

export function log(level: LogLevel, event: string, fields: Readonly<Record<string, string | number | boolean | null | undefined>> = {}): void {
  const line = JSON.stringify({ level, event, ...fields, at: new Date().toISOString() });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
