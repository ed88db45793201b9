/**
 * Lists across shards (pure). Two kinds: a list whose order is total across shards (its sort key
 * ends in an id unique everywhere, such as a transaction id) merges each shard's first page by
 * that key; a list keyed by a shard's own row ids (risk events) keeps one position per shard in
 * its cursor and merges the shards' streams, each consumed in its own order, so no row is
 * skipped or repeated from page to page.
 */

/** The first `limit` rows of the shards' pages (each sorted by `compare`), in `compare` order. */
export function mergeSorted<T>(pages: readonly (readonly T[])[], compare: (a: T, b: T) => number, limit: number): T[] {
  return pages.flat().sort(compare).slice(0, limit);
}

export interface ShardRow<T> {
  shard: number;
  row: T;
}

/**
 * Up to `limit` rows taken from per-shard streams (each in its own order), always the head that
 * `before` ranks first (ties: the lower shard); `more` says whether any fetched row was left.
 */
export function mergeStreams<T>(
  streams: readonly (readonly T[])[],
  before: (a: T, b: T) => boolean,
  limit: number,
): { taken: ShardRow<T>[]; more: boolean } {
  const heads = streams.map(() => 0);
  const taken: ShardRow<T>[] = [];
  while (taken.length < limit) {
    let best: number | undefined;
    for (const [shard, stream] of streams.entries()) {
      const head = stream[heads[shard] ?? 0];
      if (head === undefined) continue;
      const current = best === undefined ? undefined : streams[best]?.[heads[best] ?? 0];
      if (current === undefined || before(head, current)) best = shard;
    }
    if (best === undefined) break;
    const row = streams[best]?.[heads[best] ?? 0] as T;
    taken.push({ shard: best, row });
    heads[best] = (heads[best] ?? 0) + 1;
  }
  const more = streams.some((stream, shard) => (heads[shard] ?? 0) < stream.length);
  return { taken, more };
}
