// Insights read latency at scale: N synthetic records (default 1,000,000) over the last 7 days, 50 functions, written
// through Store.complete (so records and rollups are as in production), then GET-equivalent readInsights calls
// for every period, namespace-wide and per function. A benchmark, never a test.
//   node --import tsx bench/insights.ts            (BENCH_INSIGHTS_RECORDS=1000000, BENCH_STORES=sqlite,postgres)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Store } from '../src/store/store.js';
import type { ActivationRecord } from '../src/types.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { readInsights, type Period } from '../src/insights/insights.js';
import { percentile } from './stats.js';

const N = Number(process.env.BENCH_INSIGHTS_RECORDS ?? 1_000_000);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NS = 'bench-ns';
const FUNCTIONS = 50;
const BATCH = 2_000;

function record(i: number, now: number): ActivationRecord {
  const start = now - Math.floor(Math.random() * 7 * 86_400_000);
  const duration = Math.max(1, Math.round(Math.exp(3 + Math.random() * 3)));
  const r = Math.random();
  const statusCode = (r < 0.9 ? 0 : r < 0.96 ? 1 : r < 0.99 ? 2 : 3) as 0 | 1 | 2 | 3;
  return {
    namespace: NS,
    name: `fn-${i % FUNCTIONS}`,
    version: '0.0.1',
    subject: NS,
    activationId: `${i.toString(16).padStart(12, '0')}${randomBytes(10).toString('hex')}`,
    start,
    end: start + duration,
    duration,
    statusCode,
    response: { status: statusCode === 0 ? 'success' : 'application error', statusCode, success: statusCode === 0, result: { i } } as ActivationRecord['response'],
    logs: [],
    annotations: [{ key: 'path', value: `${NS}/fn-${i % FUNCTIONS}` }, ...(Math.random() < 0.05 ? [{ key: 'initTime', value: 40 }] : [])],
    publish: false,
  };
}

async function bench(name: string, store: Store): Promise<void> {
  const now = Date.now();
  const t0 = Date.now();
  for (let i = 0; i < N; i += BATCH) {
    const batch: ActivationRecord[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(record(j, now));
    await store.complete(batch);
  }
  console.log(`${name}: wrote ${N} records in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const period of ['1h', '24h', '7d'] as Period[]) {
    for (const fn of ['', 'fn-7']) {
      await readInsights(store, NS, fn, period); // warm
      const times: number[] = [];
      let total = 0;
      for (let k = 0; k < 30; k++) {
        const s = process.hrtime.bigint();
        const r = await readInsights(store, NS, fn, period);
        times.push(Number(process.hrtime.bigint() - s) / 1e6);
        total = r.totals.invocations;
      }
      times.sort((a, b) => a - b);
      console.log(`${name} insights period=${period} ${fn ? 'name=fn-7' : 'namespace'}: p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms (${total} invocations in the period)`);
    }
  }
}

if (STORES.includes('sqlite')) {
  const dir = mkdtempSync(join(tmpdir(), 'flare-bench-insights-'));
  const store = await openSqliteStore(join(dir, 'flare.db'));
  try {
    await bench('sqlite', store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
if (STORES.includes('postgres')) {
  const schema = `flare_bench_ins_${randomBytes(4).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  const store = await openPostgresStore(u.toString());
  try {
    await bench('postgres', store);
  } finally {
    await store.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
}
