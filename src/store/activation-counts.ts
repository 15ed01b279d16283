// Counts that stay cheap (issue 12): both adapters keep exact per-hour counters of the records of each
// (namespace, filter key, status code), written in the transaction that inserts or sweeps the records. A count reads
// the whole hours of its period off the counters and counts only the partial hours at its edges from the records
// (an index range of at most two hours). A `cause` filter is counted from its own (small, partial) index instead.
import type { ActivationListFilter } from '../types.js';

export const COUNT_BUCKET_MS = 3_600_000;

export type CountFilter = Omit<ActivationListFilter, 'limit' | 'skip'>;

export interface CountPlan {
  /** Hours [from, to) (bucket starts) read from the counters; absent when no whole hour lies inside the period. */
  buckets?: { from?: number; to?: number };
  /** Periods counted from the records themselves (the same filter with these since/upto). */
  exact: Array<{ since?: number; upto?: number }>;
}

export function bucketOf(start: number): number {
  return Math.floor(start / COUNT_BUCKET_MS) * COUNT_BUCKET_MS;
}

/** Splits a count into counter hours and exact edges. Only for filters without `cause` (see countFromRecords). */
export function planCount(f: CountFilter): CountPlan {
  const lo = f.since;
  const hi = f.upto; // inclusive
  // First whole hour starting at or after `since`; end (exclusive) of the last whole hour ending at or before `upto`.
  const fullLo = lo === undefined ? undefined : Math.ceil(lo / COUNT_BUCKET_MS) * COUNT_BUCKET_MS;
  const fullHi = hi === undefined ? undefined : Math.floor((hi + 1) / COUNT_BUCKET_MS) * COUNT_BUCKET_MS;
  if (fullLo !== undefined && fullHi !== undefined && fullLo >= fullHi) {
    return { exact: lo !== undefined && hi !== undefined && lo > hi ? [] : [{ ...(lo !== undefined ? { since: lo } : {}), ...(hi !== undefined ? { upto: hi } : {}) }] };
  }
  const exact: CountPlan['exact'] = [];
  if (lo !== undefined && fullLo !== undefined && lo < fullLo) exact.push({ since: lo, upto: fullLo - 1 });
  if (hi !== undefined && fullHi !== undefined && fullHi <= hi) exact.push({ since: fullHi, upto: hi });
  return { buckets: { ...(fullLo !== undefined ? { from: fullLo } : {}), ...(fullHi !== undefined ? { to: fullHi } : {}) }, exact };
}

/** Per-(namespace, key, status, hour) deltas of a set of inserted (+1) or deleted (-1) records, in lock order. */
export interface CountDelta {
  namespace: string;
  filterKey: string;
  statusCode: number;
  hour: number;
  n: number;
}

export function countDeltas(rows: Iterable<{ namespace: string; filterKey: string; statusCode: number; start: number }>, sign: 1 | -1): CountDelta[] {
  const by = new Map<string, CountDelta>();
  for (const r of rows) {
    const hour = bucketOf(r.start);
    const k = `${r.namespace}\u0000${r.filterKey}\u0000${r.statusCode}\u0000${hour}`;
    const d = by.get(k);
    if (d) d.n += sign;
    else by.set(k, { namespace: r.namespace, filterKey: r.filterKey, statusCode: r.statusCode, hour, n: sign });
  }
  // One order for every writer, so two transactions never take the same counter rows in opposite orders.
  return [...by.values()].sort((a, b) =>
    a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1
      : a.filterKey < b.filterKey ? -1 : a.filterKey > b.filterKey ? 1
        : a.statusCode - b.statusCode || a.hour - b.hour,
  );
}
