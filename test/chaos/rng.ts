// Seeded randomness for the chaos scenario: every decision comes from here, never Math.random, so a
// run is replayed by its seed. Each user draws from its own stream (seed, user index), so the
// choices a user makes do not depend on how the concurrent users happen to interleave.

import { mulberry32 } from "../../sim/src/notifier";

/** mulberry32, the simulator's own seeded PRNG (numbers in [0, 1)). */
export { mulberry32 };

/** A seed for stream `stream`, item `index` of a run seeded with `seed` (a 32-bit mix). */
export function deriveSeed(seed: number, stream: number, index = 0): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  next(): number {
    return this.#next();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from nothing");
    return items[Math.floor(this.#next() * items.length)]!;
  }

  /** One of the keys, with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let x = this.#next() * total;
    for (const [key, w] of entries) {
      x -= w;
      if (x < 0) return key;
    }
    return entries.at(-1)![0];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.#next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** A 32-bit seed for something else (e.g. the simulator's shuffled release). */
  seed(): number {
    return Math.floor(this.#next() * 0x100000000) >>> 0;
  }
}

/**
 * `n` items dealt from `weights`: each key gets its share (rounded down), the remainder is drawn
 * at random, and the deck is shuffled. Small runs still see every kind with a weight ≥ 1/n.
 */
export function deal<K extends string>(rng: Rng, n: number, weights: Readonly<Record<K, number>>): K[] {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  const deck: K[] = [];
  for (const [key, w] of entries) for (let i = 0; i < Math.floor((n * w) / total); i++) deck.push(key);
  while (deck.length < n) deck.push(rng.weighted(weights));
  return rng.shuffle(deck.slice(0, n));
}
