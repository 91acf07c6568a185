// WeChat v2 timestamps (time_start, time_expire, time_end): yyyyMMddHHmmss in Beijing time (UTC+8, no DST). Pure; never reads the clock.
const OFFSET_MS = 8 * 60 * 60 * 1000;

/** Formats an instant (ms since the epoch) as `yyyyMMddHHmmss` in Beijing time. */
export function formatBeijingTime(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError("time must be a finite number of milliseconds");
  // Shifting by +8 h and reading the UTC fields gives the wall clock in Beijing.
  const shifted = new Date(ms + OFFSET_MS);
  const year = shifted.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError("time is outside the years 0000-9999");
  return (
    String(year).padStart(4, "0") +
    two(shifted.getUTCMonth() + 1) +
    two(shifted.getUTCDate()) +
    two(shifted.getUTCHours()) +
    two(shifted.getUTCMinutes()) +
    two(shifted.getUTCSeconds())
  );
}

/** Parses `yyyyMMddHHmmss` (Beijing time) into ms since the epoch; throws RangeError on any invalid date or time. */
export function parseBeijingTime(s: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (match === null) throw new RangeError("expected yyyyMMddHHmmss");
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const ms = date.getTime() - OFFSET_MS;
  // Date silently rolls 31 February over into March; a round trip catches every out-of-range field.
  if (Number.isNaN(ms) || formatBeijingTime(ms) !== s) throw new RangeError("not a valid date and time");
  return ms;
}

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * An instant (ms) as RFC 3339 in Beijing time: 2022-12-15T13:29:35+08:00, or with milliseconds
 * (2022-12-15T13:29:35.120+08:00) where WeChat's example shows them (shipping's upload_time).
 */
export function formatRfc3339Beijing(ms: number, options: { millis?: boolean } = {}): string {
  // The wall clock (and its checks: finite, years 0000-9999) is formatBeijingTime's; only the layout differs.
  const t = formatBeijingTime(ms);
  const millis = options.millis ? `.${String(((Math.floor(ms) % 1000) + 1000) % 1000).padStart(3, "0")}` : "";
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}${millis}+08:00`;
}
