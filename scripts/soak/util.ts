/**
 * Small helpers of the bank test. No Node or Workers APIs beyond the web platform, so the bank test
 * runs in Node (npm run soak) and inside workerd (test/soak/bank.test.ts) alike.
 */

/** A seeded PRNG (mulberry32): the workload's choices are reproducible from the seed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.next() * items.length)];
  }
  /** A key of `weights`, with probability proportional to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** RFC 3339 UTC with whole seconds, as the API renders times. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The p-quantile (0..1) of ascending-sorted values (nearest rank). */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

/** An exact decimal as integer units × 10^-scale (the bank test's own oracle, independent of src/rates). */
export interface Dec {
  units: bigint;
  scale: number;
}

export function dec(s: string): Dec {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new Error(`not a plain decimal: ${s}`);
  const frac = m[2] ?? "";
  return { units: BigInt(`${m[1]}${frac}`), scale: frac.length };
}

export function decMul(a: Dec, b: Dec): Dec {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function decFloor(a: Dec): bigint {
  return a.units / 10n ** BigInt(a.scale);
}

/** ⌈a / b⌉ for positive decimals. */
export function decDivCeil(a: Dec, b: Dec): bigint {
  // a.units / 10^a.scale ÷ b.units / 10^b.scale = a.units × 10^b.scale ÷ (b.units × 10^a.scale)
  const num = a.units * 10n ** BigInt(b.scale);
  const den = b.units * 10n ** BigInt(a.scale);
  return (num + den - 1n) / den;
}

/** Micros (10^-6) of a decimal string with at most 6 decimals. */
export function micros(s: string): number {
  const d = dec(s);
  if (d.scale > 6) throw new Error(`more than 6 decimals: ${s}`);
  return Number(d.units * 10n ** BigInt(6 - d.scale));
}

export function formatMicros(m: number): string {
  const sign = m < 0 ? "-" : "";
  const a = Math.abs(m);
  return `${sign}${Math.floor(a / 1_000_000)}.${String(a % 1_000_000).padStart(6, "0")}`;
}

/** Micros of a signed decimal string ("-12.5", "0.000120"); undefined when it is not one or is finer than micros. */
export function signedMicros(s: unknown): number | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return undefined;
  const frac = (m[3] ?? "").replace(/0+$/, "");
  if (frac.length > 6) return undefined;
  const v = Number(m[2]) * 1_000_000 + Number(frac.padEnd(6, "0") || "0");
  return m[1] === "-" ? -v : v;
}
