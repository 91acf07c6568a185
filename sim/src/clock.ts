// Simulated time: an injectable base clock plus an offset that the control API advances, and
// WeChat's time formats: v2's `yyyyMMddHHmmss` Beijing time (UTC+8) and v3's RFC 3339.

/** A millisecond clock (ms since the epoch). */
export interface SimClock {
  now(): number;
}

export const systemClock: SimClock = { now: () => Date.now() };

/** Sim time = base clock + offset. Advancing never touches the base clock, so tests stay in control. */
export class SimTime {
  #offsetMs = 0;
  readonly #base: SimClock;

  constructor(base: SimClock) {
    this.#base = base;
  }

  now(): number {
    return this.#base.now() + this.#offsetMs;
  }

  /** What /__sim/clock/advance added so far; a store keeps it. */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  advance(ms: number): void {
    this.#offsetMs += ms;
  }

  reset(): void {
    this.#offsetMs = 0;
  }

  restore(offsetMs: number): void {
    this.#offsetMs = offsetMs;
  }
}

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** `yyyyMMddHHmmss` in Beijing time, as used by time_start, time_expire and time_end. */
export function formatBeijingTime(ms: number): string {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return (
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1) +
    pad(d.getUTCDate()) +
    pad(d.getUTCHours()) +
    pad(d.getUTCMinutes()) +
    pad(d.getUTCSeconds())
  );
}

/** The epoch ms of a Beijing `yyyyMMddHHmmss`, or null if it is not a real calendar time. */
export function parseBeijingTime(text: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number, number, number, number, number, number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - BEIJING_OFFSET_MS;
  // Date.UTC rolls 20250230 over into March; a round trip catches every such impossible date.
  return formatBeijingTime(ms) === text ? ms : null;
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time, as refunds report success_time. */
export function formatBeijingDateTime(ms: number): string {
  const t = formatBeijingTime(ms);
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)} ${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}`;
}

/** The `yyyyMMdd` Beijing date, used inside transaction ids. */
export function beijingDate(ms: number): string {
  return formatBeijingTime(ms).slice(0, 8);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** RFC 3339 in Beijing time, as v3 writes every time: 2026-05-20T10:00:00+08:00. */
export function rfc3339(ms: number): string {
  return `${isoTime(ms + BEIJING_OFFSET_MS).slice(0, 19)}+08:00`;
}

/** The epoch ms of an RFC 3339 time with seconds and an offset (or Z), or null if it is not a real time. */
export function parseRfc3339(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  // Date.UTC rolls 02-30 over into March: a round trip catches impossible dates and times.
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || check.getUTCHours() !== hour || check.getUTCMinutes() !== minute) return null;
  const offsetMinutes = match[8] === "Z" ? 0 : (match[9] === "-" ? -1 : 1) * (Number(match[10]) * 60 + Number(match[11]));
  if (Math.abs(offsetMinutes) > 14 * 60) return null;
  return local - offsetMinutes * 60_000 + Math.floor(Number(match[7] ?? 0) * 1000);
}
