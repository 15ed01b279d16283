// `npm run bench:records`: activation records at scale (issue 12). Fills 10M synthetic records (1M with BENCH_QUICK=1)
// through the Store interface, one namespace, 100 functions, over the 72 h retention, then prints store-side p50/p99
// of the list, cursor page, filter, count and by-id reads; then a retention sweep of a day of records while a real
// server takes non-blocking invokes (invoke p99 quiet vs during the sweep); then steady churn and the size of the
// file / tables after each round. A benchmark, never a test.
//   BENCH_QUICK=1                  1M records
//   BENCH_RECORDS=n                any number
//   BENCH_STORES=sqlite,postgres   which stores
//   BENCH_PG_URL                   postgres://postgres@127.0.0.1:5432/test
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Store } from '../src/store/store.js';
import type { ActivationRecord } from '../src/types.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { percentile } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.env.BENCH_QUICK === '1';
const TOTAL = Number(process.env.BENCH_RECORDS ?? (QUICK ? 1_000_000 : 10_000_000));
const FUNCTIONS = 100;
const NS = 'bench';
const HOUR = 3_600_000;
const SPAN = 72 * HOUR;
const PG_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Result {
  name: string;
  p50?: number;
  p99?: number;
  value?: string;
}

const hex = (n: number) => n.toString(16).padStart(32, '0');

/** A no-op function's record (the shape the invoker writes), ~600 bytes. */
function synthetic(i: number, t0: number): ActivationRecord {
  const f = i % FUNCTIONS;
  const start = t0 + Math.floor((i / TOTAL) * SPAN);
  const r = i % 100;
  const statusCode = r < 90 ? 0 : r < 95 ? 1 : r < 98 ? 2 : 3;
  const id = hex(i * 2654435761 % 2 ** 52) ; // spread ids (random-looking, unique)
  return {
    namespace: NS,
    name: `f${f}`,
    version: '0.0.1',
    subject: 'bench',
    activationId: id.slice(0, 20) + i.toString(16).padStart(12, '0'),
    start,
    end: start + 3,
    duration: 3,
    statusCode,
    response: { status: ['success', 'application error', 'action developer error', 'whisk internal error'][statusCode]!, statusCode, success: statusCode === 0, result: statusCode === 0 ? { ok: true } : { error: 'boom' } },
    logs: ['2026-01-01T00:00:00.000Z stdout: hello'],
    annotations: [
      { key: 'path', value: `${NS}/f${f}` },
      { key: 'waitTime', value: 2 },
      { key: 'kind', value: 'nodejs:20' },
      { key: 'timeout', value: false },
      { key: 'limits', value: { concurrency: 1, logs: 10, memory: 256, timeout: 60000 } },
    ],
    publish: false,
  };
}

async function fill(store: Store, t0: number): Promise<number> {
  const t = Date.now();
  const BATCH = 2000;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const from = next;
      if (from >= TOTAL) return;
      next += BATCH;
      const batch: ActivationRecord[] = [];
      for (let i = from; i < Math.min(TOTAL, from + BATCH); i++) batch.push(synthetic(i, t0));
      await store.complete(batch);
      if ((from / BATCH) % 250 === 0) process.stdout.write(`\r  filled ${from.toLocaleString()} / ${TOTAL.toLocaleString()}   `);
    }
  };
  await Promise.all(Array.from({ length: store.kind === 'postgres' ? 3 : 1 }, worker));
  process.stdout.write('\n');
  return Date.now() - t;
}

async function time(name: string, n: number, fn: (i: number) => Promise<unknown>, out: Result[]): Promise<void> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(i); // warm
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  out.push({ name, p50: percentile(times, 50), p99: percentile(times, 99) });
}

async function reads(store: Store, t0: number): Promise<Result[]> {
  const out: Result[] = [];
  const rnd = (n: number) => Math.floor(Math.random() * n);
  const fn = () => `f${rnd(FUNCTIONS)}`;
  const N = 300;
  await time('newest 100 of one function', N, () => store.listActivations({ namespace: NS, name: fn(), limit: 100, skip: 0 }, false), out);
  await time('newest 100 (no filter)', N, () => store.listActivations({ namespace: NS, limit: 100, skip: 0 }, false), out);
  // Cursor pages: follow one function's pages, and jump to any point (a cursor anywhere in the 72 h).
  let after: { start: number; activationId: string } | undefined;
  const name = fn();
  await time('next cursor page of one function (100)', N, async () => {
    const page = await store.listActivations({ namespace: NS, name, limit: 100, skip: 0, ...(after ? { after } : {}) }, false);
    const last = page[page.length - 1];
    after = last ? { start: last.start, activationId: last.activationId } : undefined;
  }, out);
  await time('cursor page anywhere, one function (100)', N, () =>
    store.listActivations({ namespace: NS, name: fn(), limit: 100, skip: 0, after: { start: t0 + rnd(SPAN), activationId: 'f'.repeat(32) } }, false), out);
  await time('cursor page anywhere, no filter (100)', N, () =>
    store.listActivations({ namespace: NS, limit: 100, skip: 0, after: { start: t0 + rnd(SPAN), activationId: 'f'.repeat(32) } }, false), out);
  await time('status filter statusCode=1 (100)', N, () => store.listActivations({ namespace: NS, statusCodes: [1], limit: 100, skip: 0 }, false), out);
  await time('status filter statusCode=1,2,3 of one function (100)', N, () => store.listActivations({ namespace: NS, name: fn(), statusCodes: [1, 2, 3], limit: 100, skip: 0 }, false), out);
  await time('period filter (1 h window anywhere, 100)', N, () => {
    const since = t0 + rnd(SPAN - HOUR);
    return store.listActivations({ namespace: NS, since, upto: since + HOUR, limit: 100, skip: 0 }, false);
  }, out);
  await time('period + function + status (6 h window, 100)', N, () => {
    const since = t0 + rnd(SPAN - 6 * HOUR);
    return store.listActivations({ namespace: NS, name: fn(), statusCodes: [0], since, upto: since + 6 * HOUR, limit: 100, skip: 0 }, false);
  }, out);
  await time('skip=5000, one function (OpenWhisk paging)', 50, () => store.listActivations({ namespace: NS, name: fn(), limit: 100, skip: 5000 }, false), out);
  await time('count=true', 50, () => store.countActivations({ namespace: NS }), out);
  await time('count=true&name=f42', 50, () => store.countActivations({ namespace: NS, name: fn() }), out);
  await time('count=true&statusCode=1,2', 50, () => store.countActivations({ namespace: NS, statusCodes: [1, 2] }), out);
  await time('count=true&since (any point)', 50, () => store.countActivations({ namespace: NS, since: t0 + rnd(SPAN) }), out);
  await time('count=true&name&since&upto (any 6 h)', 50, () => {
    const since = t0 + rnd(SPAN - 6 * HOUR);
    return store.countActivations({ namespace: NS, name: fn(), since, upto: since + 6 * HOUR });
  }, out);
  await time('record by id', 2000, () => {
    const r = synthetic(rnd(TOTAL), t0);
    return store.getActivation(NS, r.activationId).then((x) => {
      if (!x) throw new Error('record by id not found');
    });
  }, out);
  return out;
}

// ---------------------------------------------------------------- sweep under invoke load (a real server)

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function startServer(store: string, dir: string, auth: string, retentionHours: number): Promise<{ url: string; h: Record<string, string>; proc: ChildProcess }> {
  const args = ['serve', '--port', '0', '--data-dir', dir];
  if (store !== 'sqlite') args.push('--store', store);
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'flare'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      FLARE_BOOTSTRAP_NAMESPACE: NS,
      FLARE_BOOTSTRAP_AUTH: auth,
      FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000000',
      FLARE_LIMIT_CONCURRENT: '100000000',
      FLARE_RETENTION_HOURS: String(retentionHours),
      FLARE_LOG_LEVEL: 'error',
    },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const on = (d: Buffer) => {
      buf += d;
      const m = /API host:\s+(\S+)/.exec(buf);
      if (m) {
        proc.stdout!.off('data', on);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', (d) => (buf += d));
    proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${buf}`)));
  });
  return { url, h: { authorization: 'Basic ' + Buffer.from(auth).toString('base64') }, proc };
}

async function stopServer(p: ChildProcess): Promise<void> {
  await new Promise<void>((r) => {
    p.once('exit', () => r());
    p.kill('SIGTERM');
  });
}

/**
 * Non-blocking invoke latencies until `stop()` says so: 4 clients, each paced to 50/s (200/s, below what the node
 * completes, so no backlog builds up and the latencies are the API's, not a queue's).
 */
async function invokeLoad(url: string, h: Record<string, string>, stop: () => boolean): Promise<{ p50: number; p99: number; n: number }> {
  const times: number[] = [];
  const client = async () => {
    let next = Date.now();
    while (!stop()) {
      next += 20;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = process.hrtime.bigint();
      const r = await request(`${url}/api/v1/namespaces/_/actions/noop?blocking=false`, 'POST', h, '{}');
      if (r.status !== 202) throw new Error(`invoke ${r.status} ${r.body}`);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: 4 }, client));
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), n: times.length };
}

async function count(url: string, h: Record<string, string>): Promise<number> {
  const r = await request(`${url}/api/v1/namespaces/_/activations?count=true`, 'GET', h);
  return JSON.parse(r.body).activations as number;
}

/**
 * Quiet: the server with 73 h retention (nothing to sweep) takes invokes for 5 s. Then it restarts with 48 h: its
 * sweeper deletes the oldest day at start while the same load runs; measured until the count has dropped by a day.
 */
async function sweepUnderLoad(storeArg: string, dir: string, t0: number): Promise<Result[]> {
  const auth = `${randomUUID()}:${randomBytes(32).toString('hex')}`;
  // The records end where the fill began; retention counts back from now.
  let s = await startServer(storeArg, dir, auth, Math.ceil((Date.now() - t0) / HOUR) + 2);
  const put = await request(`${s.url}/api/v1/namespaces/_/actions/noop?overwrite=true`, 'PUT', s.h, JSON.stringify({ exec: { kind: 'nodejs:20', code: 'function main(){return {}}' } }));
  if (put.status !== 200) throw new Error(`PUT ${put.status} ${put.body}`);
  await invokeLoad(s.url, s.h, (() => { const end = Date.now() + 1000; return () => Date.now() > end; })());
  const quietEnd = Date.now() + 5000;
  const quiet = await invokeLoad(s.url, s.h, () => Date.now() > quietEnd);
  const before = await count(s.url, s.h);
  await stopServer(s.proc);
  const oneDay = Math.floor(TOTAL / 3);
  // A little more than the oldest day (36 s more), so the count drops by at least a day.
  s = await startServer(storeArg, dir, auth, (Date.now() - t0) / HOUR - 24 - 0.01);
  const t = Date.now();
  let swept = false;
  let sweepMs = 0;
  const watcher = (async () => {
    while (!swept) {
      await new Promise((r) => setTimeout(r, 100));
      if ((await count(s.url, s.h)) <= before - oneDay + 1000) {
        swept = true;
        sweepMs = Date.now() - t;
      }
      if (Date.now() - t > 30 * 60_000) swept = true;
    }
  })();
  const during = await invokeLoad(s.url, s.h, () => swept);
  await watcher;
  const afterEnd = Date.now() + 5000;
  const after = await invokeLoad(s.url, s.h, () => Date.now() > afterEnd);
  await stopServer(s.proc);
  const q = Math.max(quiet.p99, after.p99);
  return [
    { name: 'non-blocking invoke, quiet before (200/s)', p50: quiet.p50, p99: quiet.p99 },
    { name: `non-blocking invoke, during the sweep of a day (${oneDay.toLocaleString()} records)`, p50: during.p50, p99: during.p99, value: `${sweepMs ? `sweep ${(sweepMs / 1000).toFixed(1)} s` : 'sweep NOT finished within 30 min'}, p99 ${(during.p99 / q).toFixed(2)}× quiet` },
    { name: 'non-blocking invoke, quiet after (same server)', p50: after.p50, p99: after.p99 },
  ];
}

/** Steady churn: rounds of inserting 5% new records and sweeping the oldest 5%; the size after each round. */
async function churn(store: Store, t0: number, size: () => Promise<number>): Promise<Result[]> {
  const per = Math.floor(TOTAL / 20);
  const sizes: number[] = [await size()];
  let base = TOTAL;
  let sweptUpTo = t0 + 24 * HOUR; // the sweep under load took the first day
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < per; i += 2000) {
      const batch: ActivationRecord[] = [];
      for (let j = i; j < Math.min(per, i + 2000); j++) {
        const r = synthetic(base + j, t0);
        batch.push(r);
      }
      await store.complete(batch);
    }
    base += per;
    sweptUpTo += Math.floor((per / TOTAL) * SPAN);
    while ((await store.sweepActivations(sweptUpTo, 1000)) > 0) await new Promise((r) => setImmediate(r));
    sizes.push(await size());
  }
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)}`;
  return [{ name: `size under churn (6 rounds of +5% / -5%), MB`, value: sizes.map(mb).join(' → ') }];
}

function print(column: string, rows: Result[]): void {
  const f = (n?: number) => (n === undefined ? '' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(`\n${column}`);
  console.log(`${'measurement'.padEnd(64)}${'p50 ms'.padEnd(10)}${'p99 ms'.padEnd(10)}`);
  for (const r of rows) console.log(`${r.name.padEnd(64)}${f(r.p50).padEnd(10)}${f(r.p99).padEnd(10)}${r.value ?? ''}`);
}

async function benchSqlite(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flare-records-'));
  const path = join(dir, 'flare.db');
  const t0 = Date.now() - SPAN;
  try {
    let store = await openSqliteStore(path);
    const ms = await fill(store, t0);
    const rows: Result[] = [{ name: `fill ${TOTAL.toLocaleString()} records through Store.complete`, value: `${((TOTAL / ms) * 1000).toFixed(0)}/s, ${(ms / 1000).toFixed(0)} s` }];
    rows.push(...(await reads(store, t0)));
    await store.close();
    print(`sqlite, ${TOTAL.toLocaleString()} records`, rows);
    const sweep = await sweepUnderLoad('sqlite', dir, t0);
    print('sqlite: retention sweep under load', sweep);
    store = await openSqliteStore(path);
    const fileSize = async () => (existsSync(path) ? statSync(path).size : 0);
    print('sqlite: churn (main file; the WAL is checkpointed apart)', await churn(store, t0, fileSize));
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(): Promise<void> {
  const schema = `flare_records_${randomBytes(4).toString('hex')}`;
  const url = `${PG_BASE}?schema=${schema}`;
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  const dir = mkdtempSync(join(tmpdir(), 'flare-records-'));
  const t0 = Date.now() - SPAN;
  try {
    let store = await openPostgresStore(url);
    const ms = await fill(store, t0);
    await admin.query(`VACUUM ANALYZE "${schema}".activations`);
    await admin.query(`VACUUM ANALYZE "${schema}".activation_counts`);
    const rows: Result[] = [{ name: `fill ${TOTAL.toLocaleString()} records through Store.complete`, value: `${((TOTAL / ms) * 1000).toFixed(0)}/s, ${(ms / 1000).toFixed(0)} s (+ VACUUM ANALYZE)` }];
    rows.push(...(await reads(store, t0)));
    await store.close();
    print(`postgres, ${TOTAL.toLocaleString()} records`, rows);
    const sweep = await sweepUnderLoad(url, dir, t0);
    print('postgres: retention sweep under load', sweep);
    store = await openPostgresStore(url);
    const size = async () => Number((await admin.query(`SELECT pg_total_relation_size('"${schema}".activations') AS b`)).rows[0].b);
    print('postgres: churn (autovacuum as configured)', await churn(store, t0, size));
    await store.close();
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const stores = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
  console.log(`Flare records benchmark — ${TOTAL.toLocaleString()} records, ${FUNCTIONS} functions, one namespace; store-side latencies`);
  if (stores.includes('sqlite')) await benchSqlite();
  if (stores.includes('postgres')) await benchPostgres();
  agent.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
