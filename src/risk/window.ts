/**
 * Sliding windows as bucketed counters (pure math; the SQL is in ./sql.ts).
 *
 * A window of W ms is split into BUCKETS_PER_WINDOW buckets of B = W / BUCKETS_PER_WINDOW ms
 * (W is whole seconds, so B is a whole number of ms). An event at time t is counted in bucket
 * floor(t / B). At `now` the window sum is the sum of the BUCKETS_PER_WINDOW + 1 buckets
 * floor(now / B) − BUCKETS_PER_WINDOW … floor(now / B), which cover [now − W, now] entirely and
 * reach back at most to now − W − B: an event is never left out while it is inside the window
 * (the limit is never under-enforced), and an event up to one bucket (W / 10) older than the
 * window may still be counted (it errs on the strict side). Every check reads at most
 * BUCKETS_PER_WINDOW + 1 counter rows, however long the history.
 */

export const BUCKETS_PER_WINDOW = 10;

export interface WindowSpec {
  windowMs: number;
  bucketMs: number;
}

export function windowSpec(windowSeconds: number): WindowSpec {
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError(`bad window ${windowSeconds}`);
  const windowMs = windowSeconds * 1000;
  return { windowMs, bucketMs: windowMs / BUCKETS_PER_WINDOW };
}

/** The bucket an event at `t` (ms) is counted in. */
export function bucketOf(spec: WindowSpec, t: number): number {
  return Math.floor(t / spec.bucketMs);
}

/** The buckets (inclusive) whose sum is the window's count at `now`. */
export function windowBuckets(spec: WindowSpec, now: number): { first: number; last: number } {
  const last = bucketOf(spec, now);
  return { first: last - BUCKETS_PER_WINDOW, last };
}

/** From this instant on, bucket `bucket` is in no window sum any more (its row may be pruned). */
export function bucketExpiresAt(spec: WindowSpec, bucket: number): number {
  return (bucket + BUCKETS_PER_WINDOW + 1) * spec.bucketMs;
}

/** The worst case: how much older than the window an event that is still counted can be (one bucket). */
export function maxOvercountMs(spec: WindowSpec): number {
  return spec.bucketMs;
}
