// Summary statistics for repeated measurements: median and spread, never a single best run.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** median, min, max and the spread as (max - min) / median, in percent. */
export function summarize(values) {
  const med = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median: med, min, max, spreadPct: med > 0 ? ((max - min) / med) * 100 : null, runs: values.length };
}
