// Reading WeChat's JSON answers: the one helper that turns text into a JSON object, or says it is
// not one. Callers decide what "not one" means for them (a malformed answer, a FAIL reply, …).

/** The JSON object `text` holds, or null for anything else (invalid JSON, an array, a string, null). */
export function jsonObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
