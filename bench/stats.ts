// Shared by the benchmark files: the row shape bench/run.ts prints, and percentiles.

export interface BenchRow {
  name: string;
  p50?: number;
  p99?: number;
  value?: number;
  unit: string;
  column?: string;
}

/** The p-th percentile (nearest rank) of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Times `n` sequential calls of `fn`; p50/p99 in ms. */
export async function timeCalls(n: number, fn: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}
