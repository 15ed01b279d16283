// Insights of a namespace or one function over a period: per-interval counts by status, p50/p95 duration, cold
// starts and errors, computed from the rollup rows (src/insights/rollup.ts), never from the records themselves.
import type { Store } from '../store/store.js';
import { bucketUpper, RES_HOUR, RES_MINUTE, RES_QUARTER } from './rollup.js';

/** Each period: the rollup resolution it reads and the interval it reports (60 to 168 intervals). */
export const PERIODS = {
  '1h': { ms: 3_600_000, res: RES_MINUTE, step: 60_000 },
  '24h': { ms: 86_400_000, res: RES_QUARTER, step: 900_000 },
  '7d': { ms: 604_800_000, res: RES_HOUR, step: 3_600_000 },
} as const;

export type Period = keyof typeof PERIODS;

export interface InsightsCounts {
  invocations: number;
  success: number;
  applicationErrors: number;
  developerErrors: number;
  internalErrors: number;
  /** statusCode 1, 2 or 3. */
  errors: number;
  coldStarts: number;
  /** Mean duration (ms), exact; null without invocations. */
  avgDurationMs: number | null;
  /** Percentiles (ms) from the duration histogram: the upper bound of the bucket holding them (≤ 9 % above). */
  p50DurationMs: number | null;
  p95DurationMs: number | null;
}

export interface Insights {
  namespace: string;
  name: string | null;
  period: Period;
  from: number;
  to: number;
  intervalMs: number;
  totals: InsightsCounts;
  intervals: Array<{ start: number } & InsightsCounts>;
}

function percentile(hist: Map<number, number>, total: number, q: number): number | null {
  if (!total) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const b of [...hist.keys()].sort((x, y) => x - y)) {
    seen += hist.get(b)!;
    if (seen >= rank) return bucketUpper(b);
  }
  return null;
}

function counts(s: [number, number, number, number], cold: number, durSum: number, hist: Map<number, number>): InsightsCounts {
  const n = s[0] + s[1] + s[2] + s[3];
  return {
    invocations: n,
    success: s[0],
    applicationErrors: s[1],
    developerErrors: s[2],
    internalErrors: s[3],
    errors: s[1] + s[2] + s[3],
    coldStarts: cold,
    avgDurationMs: n ? Math.round((durSum / n) * 10) / 10 : null,
    p50DurationMs: percentile(hist, n, 0.5),
    p95DurationMs: percentile(hist, n, 0.95),
  };
}

export async function readInsights(store: Store, namespace: string, fn: string, period: Period, now = Date.now()): Promise<Insights> {
  const p = PERIODS[period];
  const to = now - (now % p.step) + p.step;
  const from = to - p.ms;
  const { rows, hist } = await store.readInsights({ namespace, fn, res: p.res, from, to, step: p.step });
  const byT = new Map(rows.map((r) => [r.t, r]));
  const histByT = new Map<number, Map<number, number>>();
  const all = new Map<number, number>();
  for (const h of hist) {
    let m = histByT.get(h.t);
    if (!m) histByT.set(h.t, (m = new Map()));
    m.set(h.b, h.n);
    all.set(h.b, (all.get(h.b) ?? 0) + h.n);
  }
  const total: [number, number, number, number] = [0, 0, 0, 0];
  let cold = 0;
  let durSum = 0;
  const intervals: Insights['intervals'] = [];
  for (let t = from; t < to; t += p.step) {
    const r = byT.get(t);
    const s = r?.s ?? [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) total[i]! += s[i]!;
    cold += r?.cold ?? 0;
    durSum += r?.durSum ?? 0;
    intervals.push({ start: t, ...counts(s, r?.cold ?? 0, r?.durSum ?? 0, histByT.get(t) ?? new Map()) });
  }
  return { namespace, name: fn || null, period, from, to, intervalMs: p.step, totals: counts(total, cold, durSum, all), intervals };
}
