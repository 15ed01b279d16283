// Pre-aggregated activation counts for Insights: every stored record adds to one row per (namespace, function,
// resolution, interval) — for its function and for the namespace as a whole (fn '') at minute, 15-minute and hour resolution —
// and to a duration histogram row, in the transaction that stores the record. Reading a period then reads at most a
// few thousand small rows, however many records there are.
import type { ActivationRecord } from '../types.js';
import { activationFilterKey } from '../store/store.js';

export const RES_MINUTE = 60_000;
export const RES_QUARTER = 900_000;
export const RES_HOUR = 3_600_000;
export const RESOLUTIONS = [RES_MINUTE, RES_QUARTER, RES_HOUR] as const;

/** Histogram buckets are 2^(1/8) wide (≈ 9 %): bucket b holds durations in (2^((b-1)/8), 2^(b/8)] ms. */
const PER_OCTAVE = 8;

export function durationBucket(ms: number): number {
  return ms <= 1 ? 0 : Math.ceil(Math.log2(ms) * PER_OCTAVE - 1e-9);
}

/** The upper bound (ms) of a bucket: what a percentile falling in it is reported as. */
export function bucketUpper(b: number): number {
  return Math.round(2 ** (b / PER_OCTAVE));
}

/** A cold start ran the function's init (the record has an initTime annotation). */
export function isColdStart(r: Pick<ActivationRecord, 'annotations'>): boolean {
  return r.annotations.some((a) => a.key === 'initTime');
}

export function durationOf(r: Pick<ActivationRecord, 'duration' | 'start' | 'end'>): number {
  return Math.max(0, r.duration ?? (r.end ?? r.start) - r.start);
}

export interface RollupRow {
  namespace: string;
  fn: string;
  res: number;
  t: number;
  s: [number, number, number, number];
  cold: number;
  durSum: number;
}

export interface HistRow {
  namespace: string;
  fn: string;
  res: number;
  t: number;
  b: number;
  n: number;
}

/** The rows the given (newly stored) records add, merged per key. */
export function rollupOf(records: ActivationRecord[]): { rows: RollupRow[]; hist: HistRow[] } {
  const rows = new Map<string, RollupRow>();
  const hist = new Map<string, HistRow>();
  for (const r of records) {
    const fnKey = activationFilterKey(r);
    const dur = durationOf(r);
    const b = durationBucket(dur);
    const cold = isColdStart(r) ? 1 : 0;
    for (const fn of [fnKey, '']) {
      for (const res of RESOLUTIONS) {
        const t = r.start - (r.start % res);
        const k = `${r.namespace}\u0000${fn}\u0000${res}\u0000${t}`;
        let row = rows.get(k);
        if (!row) rows.set(k, (row = { namespace: r.namespace, fn, res, t, s: [0, 0, 0, 0], cold: 0, durSum: 0 }));
        row.s[r.statusCode]++;
        row.cold += cold;
        row.durSum += dur;
        const hk = `${k}\u0000${b}`;
        const h = hist.get(hk);
        if (h) h.n++;
        else hist.set(hk, { namespace: r.namespace, fn, res, t, b, n: 1 });
      }
    }
  }
  return { rows: [...rows.values()], hist: [...hist.values()] };
}
