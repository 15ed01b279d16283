// `npm run bench`: Flare's platform overhead measured against a bare-HTTP floor in the same run.
// Prints p50/p99 (ms) and ratios to the floor; writes bench-results.json. A benchmark, never a test.
//   BENCH_QUICK=1       fewer iterations
//   BENCH_STORES=sqlite,postgres   which stores to measure (postgres needs 127.0.0.1:5432)
//   BENCH_ONLY=live-logs  only the run-control rows (followers, waiters) of each store
//   BENCH_ONLY=cancel     only the cancel-to-dead rows (bench/cancel.ts)
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { percentile, timeCalls, type BenchRow } from './stats.js';
import { sseEvents } from '../src/live-logs/sse-reader.js';
import { benchCpu } from './cpu.js';
import { benchQueues } from './queues.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.env.BENCH_QUICK === '1';
const N = QUICK ? 500 : 3000;
/** No-op activations (and jobs) in the CPU / end-to-end burst, the same for Flare, graphile-worker and BullMQ. */
const BURST = QUICK ? 3000 : 15000;
const ONLY_LIVE = process.env.BENCH_ONLY === 'live-logs';
const ONLY_CANCEL = process.env.BENCH_ONLY === 'cancel';

type Row = BenchRow;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : headers, agent }, (res) => {
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

async function timeLoop(n: number, fn: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(200, n / 5); i++) await fn(); // warm-up
  return timeCalls(n, fn);
}

function waitForLine(proc: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = re.exec(out);
      if (m) {
        proc.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d) => (out += d));
    proc.on('exit', (c) => reject(new Error(`exited ${c}: ${out}`)));
  });
}

/** The floor: a bare Fastify server in its own process answering a small JSON POST. */
async function floor(): Promise<{ p50: number; p99: number }> {
  const script = `
    import Fastify from 'fastify';
    const app = Fastify({ logger: false });
    app.post('/', async () => ({ activationId: '0123456789abcdef0123456789abcdef' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    console.log('FLOOR ' + app.server.address().port);`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await waitForLine(proc, /FLOOR (\d+)/);
  const url = `http://127.0.0.1:${port}/`;
  const r = await timeLoop(N, async () => {
    await request(url, 'POST', {}, '{}');
  });
  proc.kill();
  return r;
}

interface Flare {
  url: string;
  auth: string;
  raw: string;
  proc: ChildProcess;
  dir: string;
}

async function startFlare(store: string, role = 'all', reuse?: { dir: string; auth: string }): Promise<Flare> {
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'flare-bench-'));
  const auth = reuse?.auth ?? `${randomUUID()}:${randomBytes(32).toString('hex')}`;
  const args = ['serve', '--port', '0', '--data-dir', dir, '--role', role];
  if (store !== 'sqlite') args.push('--store', store);
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'flare'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      FLARE_BOOTSTRAP_NAMESPACE: 'bench',
      FLARE_BOOTSTRAP_AUTH: auth,
      FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000000',
      FLARE_LIMIT_CONCURRENT: '100000000',
      FLARE_LOG_LEVEL: 'error',
    },
  });
  const url = await waitForLine(proc, /API host:\s+(\S+)/);
  return { url, auth: 'Basic ' + Buffer.from(auth).toString('base64'), proc, dir, raw: auth };
}

async function stopFlare(f: Flare, keep = false): Promise<void> {
  await new Promise<void>((r) => {
    f.proc.once('exit', () => r());
    f.proc.kill('SIGTERM');
  });
  if (!keep) rmSync(f.dir, { recursive: true, force: true });
}

/**
 * The invoker's capacity alone: an API-only node accepts N invocations (nothing runs them), then a node with the
 * invoker starts on the same store and drains the queue; rate = N / time until every record is committed.
 */
async function benchDrain(store: string, column: string): Promise<Row[]> {
  const total = QUICK ? 3000 : 10000;
  const api = await startFlare(store, 'api');
  const h = { authorization: api.auth };
  try {
    await put(api, 'noop', 'function main(){ return {} }');
    let sent = 0;
    const client = async () => {
      while (sent < total) {
        sent++;
        const r = await request(`${api.url}/api/v1/namespaces/_/actions/noop?blocking=false`, 'POST', h, '{}');
        if (r.status !== 202) throw new Error(`drain enqueue: ${r.status} ${r.body}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));
  } finally {
    await stopFlare(api, true);
  }
  const node = await startFlare(store, 'all', { dir: api.dir, auth: api.raw });
  try {
    const t0 = Date.now();
    for (;;) {
      if ((await countRecords(node)) >= total) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return [{ name: 'invoker drain (queued → records durable)', value: Math.round((total / (Date.now() - t0)) * 1000), unit: '/s', column }];
  } finally {
    await stopFlare(node);
  }
}

async function put(f: Flare, name: string, code: string): Promise<void> {
  const r = await request(`${f.url}/api/v1/namespaces/_/actions/${name}?overwrite=true`, 'PUT', { authorization: f.auth }, JSON.stringify({ exec: { kind: 'nodejs:20', code } }));
  if (r.status !== 200) throw new Error(`PUT ${name}: ${r.status} ${r.body}`);
}

async function countRecords(f: Flare): Promise<number> {
  const r = await request(`${f.url}/api/v1/namespaces/_/activations?count=true`, 'GET', { authorization: f.auth });
  return JSON.parse(r.body).activations;
}

async function benchFlare(store: string, column: string): Promise<Row[]> {
  const f = await startFlare(store);
  const rows: Row[] = [];
  const h = { authorization: f.auth };
  try {
    await put(f, 'noop', 'function main(){ return {} }');
    // Non-blocking invoke → 202, sequential.
    const accepted = await timeLoop(N, async () => {
      const r = await request(`${f.url}/api/v1/namespaces/_/actions/noop?blocking=false`, 'POST', h, '{}');
      if (r.status !== 202) throw new Error(`invoke: ${r.status} ${r.body}`);
    });
    rows.push({ name: 'non-blocking invoke → 202', ...accepted, unit: 'ms', column });
    // Let the backlog drain before measuring blocking latency.
    const target = await countRecords(f);
    void target;
    await new Promise((r) => setTimeout(r, 500));
    const warm = await timeLoop(Math.floor(N / 2), async () => {
      const r = await request(`${f.url}/api/v1/namespaces/_/actions/noop?blocking=true`, 'POST', h, '{}');
      if (r.status !== 200) throw new Error(`blocking: ${r.status} ${r.body}`);
    });
    rows.push({ name: 'warm blocking no-op invoke', ...warm, unit: 'ms', column });
    // Cold start: every iteration deploys a new version (a new executor must start).
    const coldTimes: number[] = [];
    const initTimes: number[] = [];
    for (let i = 0; i < (QUICK ? 8 : 25); i++) {
      await put(f, 'cold', `function main(){ return { v: ${i} } }`);
      const t0 = process.hrtime.bigint();
      const r = await request(`${f.url}/api/v1/namespaces/_/actions/cold?blocking=true`, 'POST', h, '{}');
      coldTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const rec = JSON.parse(r.body);
      const it = rec.annotations?.find((a: { key: string }) => a.key === 'initTime')?.value;
      if (typeof it === 'number') initTimes.push(it);
    }
    coldTimes.sort((a, b) => a - b);
    initTimes.sort((a, b) => a - b);
    rows.push({ name: 'cold start blocking invoke (Node)', p50: percentile(coldTimes, 50), p99: percentile(coldTimes, 99), unit: 'ms', column });
    if (initTimes.length) rows.push({ name: '  of which initTime', p50: percentile(initTimes, 50), unit: 'ms', column });
    // Async throughput: many clients fire non-blocking invokes; done when every record is committed.
    const total = QUICK ? 3000 : 15000;
    const before = await countRecords(f);
    const t0 = Date.now();
    let sent = 0;
    const client = async () => {
      while (sent < total) {
        sent++;
        const r = await request(`${f.url}/api/v1/namespaces/_/actions/noop?blocking=false`, 'POST', h, '{}');
        if (r.status !== 202) throw new Error(`throughput: ${r.status} ${r.body}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, client));
    const acceptedMs = Date.now() - t0;
    for (;;) {
      if ((await countRecords(f)) - before >= total) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = Date.now() - t0;
    rows.push({ name: 'async accepted (202/s, 32 clients)', value: Math.round((total / acceptedMs) * 1000), unit: '/s', column });
    rows.push({ name: 'async throughput (completed, records durable)', value: Math.round((total / ms) * 1000), unit: '/s', column });
  } finally {
    await stopFlare(f);
  }
  return rows;
}

const TICKER = `async function main(a) {
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < a.n; i++) { console.log('t ' + Date.now()); await new Promise((r) => setTimeout(r, 50)); }
  return {};
}`;

/** Write-to-follower latency: a function logs a timestamped line every 50 ms; a follower on `api` measures arrival. */
async function followerLag(api: Flare, column: string): Promise<Row[]> {
  await put(api, 'ticker', TICKER);
  const lags: number[] = [];
  for (let round = 0; round < (QUICK ? 1 : 3); round++) {
    const r = await request(`${api.url}/api/v1/namespaces/_/actions/ticker`, 'POST', { authorization: api.auth }, JSON.stringify({ n: 60 }));
    const id = JSON.parse(r.body).activationId;
    const res = await fetch(`${api.url}/api/v1/namespaces/_/activations/${id}/logs?follow=true`, { headers: { authorization: api.auth, accept: 'text/event-stream' } });
    for await (const e of sseEvents(res.body!)) {
      if (e.event === 'log') lags.push(Date.now() - Number(/ t (\d+)$/.exec(e.data)?.[1] ?? Date.now()));
      if (e.event === 'end') break;
    }
  }
  lags.sort((a, b) => a - b);
  return [{ name: 'write-to-follower latency (live log line)', p50: percentile(lags, 50), p99: percentile(lags, 99), unit: 'ms', column }];
}

/** RSS and CPU ticks of a Flare process. */
function procStat(f: Flare): { cpuTicks: number; rss: number } {
  const pid = f.proc.pid!;
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const rss = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  return { cpuTicks: Number(st[11]) + Number(st[12]), rss };
}

/**
 * Memory and CPU of `n` idle connections parked on one running activation (the API node's RSS and CPU time over 5 s
 * while they wait): followers of its live logs, or `?wait` waiters on its status.
 */
async function idleConnections(f: Flare, column: string, n: number, label: string, path: (id: string) => string, headers: Record<string, string>): Promise<Row[]> {
  await put(f, 'sleeper', 'async function main() { await new Promise((r) => setTimeout(r, 20000)); return {}; }');
  const r = await request(`${f.url}/api/v1/namespaces/_/actions/sleeper`, 'POST', { authorization: f.auth }, JSON.stringify({}));
  const id = JSON.parse(r.body).activationId;
  await new Promise((res) => setTimeout(res, 1000));
  const before = procStat(f);
  // One socket per parked request (the shared agent caps sockets).
  const own = new http.Agent({ keepAlive: false, maxSockets: n + 10 });
  const reqs: http.ClientRequest[] = [];
  const following = Boolean(headers.accept?.includes('event-stream'));
  let answered = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(`${f.url}${path(id)}`, { headers: { authorization: f.auth, ...headers }, agent: own });
        req.on('error', () => undefined);
        req.on('response', (res) => {
          if (following && res.statusCode === 200) return resolve();
          answered++;
          reject(new Error(`${label}: answered ${res.statusCode} at once`));
        });
        // A waiter has no response until the record commits: counted once its request is sent (then 2 s to park).
        if (!following) req.on('socket', (sock) => sock.once('connect', () => setTimeout(resolve, 0)));
        req.end();
        reqs.push(req);
      }),
    ),
  );
  await new Promise((res) => setTimeout(res, 2000)); // the server has read and parked every request
  const opened = procStat(f);
  await new Promise((res) => setTimeout(res, 5000));
  const idle = procStat(f);
  if (answered) throw new Error(`${label}: ${answered} answered before the activation ended`);
  for (const q of reqs) q.destroy();
  own.destroy();
  const hz = 100;
  return [
    // A GC during the idle window can shrink RSS: the larger of the two readings.
    { name: `${n} idle ${label}: API node memory`, value: Math.round((Math.max(opened.rss, idle.rss) - before.rss) / 1024 / 1024), unit: ' MB', column },
    { name: `${n} idle ${label}: API node CPU (5 s idle)`, value: Number((((idle.cpuTicks - opened.cpuTicks) / hz / 5) * 100).toFixed(1)), unit: ' %', column },
  ];
}

const idleFollowers = (f: Flare, column: string) =>
  idleConnections(f, column, 100, 'followers', (id) => `/api/v1/namespaces/_/activations/${id}/logs?follow=true`, { accept: 'text/event-stream' });
const idleWaiters = (f: Flare, column: string) =>
  idleConnections(f, column, 1000, 'waiters', (id) => `/api/v1/namespaces/_/activations/${id}/status?wait=60000`, { accept: 'application/json' });

/**
 * Record-to-waiter latency: a `GET …/status?wait=` parked on `api` answers when the record commits (store
 * notification; NOTIFY across nodes). Measured from the record's `end` (taken just before the commit) to the answer.
 */
async function waiterLag(api: Flare, column: string): Promise<Row[]> {
  await put(api, 'nap', 'async function main() { await new Promise((r) => setTimeout(r, 150)); return {}; }');
  const lags: number[] = [];
  const rounds = QUICK ? 4 : 20;
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        const r = await request(`${api.url}/api/v1/namespaces/_/actions/nap`, 'POST', { authorization: api.auth }, JSON.stringify({}));
        const id = JSON.parse(r.body).activationId;
        const w = await request(`${api.url}/api/v1/namespaces/_/activations/${id}?wait=60000`, 'GET', { authorization: api.auth });
        const at = Date.now();
        if (w.status !== 200) throw new Error(`wait answered ${w.status}`);
        lags.push(at - JSON.parse(w.body).end);
      }),
    );
  }
  lags.sort((a, b) => a - b);
  return [{ name: 'record-to-waiter latency (?wait)', p50: percentile(lags, 50), p99: percentile(lags, 99), unit: 'ms', column }];
}

async function benchLiveLogs(store: string, column: string): Promise<Row[]> {
  process.env.FLARE_LOG_FOLLOWERS_PER_NAMESPACE = '200';
  if (store === 'sqlite') {
    const f = await startFlare('sqlite');
    try {
      return [
        ...(await followerLag(f, column)),
        ...(await waiterLag(f, column)),
        ...(await idleFollowers(f, column)),
        ...(await idleWaiters(f, column)),
      ];
    } finally {
      await stopFlare(f);
    }
  }
  // Across nodes: the function runs on an invoker node, the follower reads an API node.
  const api = await startFlare(store, 'api');
  const inv = await startFlare(store, 'invoker', { dir: mkdtempSync(join(tmpdir(), 'flare-bench-')), auth: api.raw });
  try {
    const x = `${column === 'postgres' ? 'pg' : column} x-node`;
    return [...(await followerLag(api, x)), ...(await waiterLag(api, x)), ...(await idleFollowers(api, x)), ...(await idleWaiters(api, x))];
  } finally {
    await stopFlare(inv);
    await stopFlare(api);
  }
}

async function optional(file: string, fn: string): Promise<Row[]> {
  const path = join(ROOT, 'bench', file);
  if (!existsSync(path)) return [];
  try {
    const mod = (await import(path)) as Record<string, () => Promise<Row[]>>;
    return mod[fn] ? await mod[fn]!() : [];
  } catch (err) {
    console.error(`bench/${file}: ${(err as Error).message}`);
    return [];
  }
}

function fmt(n: number | undefined, digits = 3): string {
  return n === undefined ? '' : n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

const PG_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const pgSchemas: string[] = [];

/** A fresh schema per measurement; all are dropped when the run ends. */
function pgUrl(): string {
  const schema = `flare_bench_${randomBytes(4).toString('hex')}`;
  pgSchemas.push(schema);
  return `${PG_BASE}?schema=${schema}`;
}

async function dropPgSchemas(): Promise<void> {
  if (!pgSchemas.length) return;
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: PG_BASE });
  try {
    await c.connect();
    for (const s of pgSchemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } catch (err) {
    console.error(`could not drop bench schemas: ${(err as Error).message}`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  console.log(`Flare benchmark — ${cpus().length} cores, Node ${process.version}${QUICK ? ' (quick)' : ''}`);
  const fl = await floor();
  const rows: Row[] = [{ name: 'floor: bare Fastify POST', ...fl, unit: 'ms', column: 'floor' }];
  const stores = ONLY_CANCEL ? [] : (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
  for (const store of stores) {
    if (store === 'sqlite') {
      if (!ONLY_LIVE) rows.push(...(await benchFlare('sqlite', 'sqlite')));
      if (!ONLY_LIVE) rows.push(...(await benchCpu('sqlite', BURST)));
      if (!ONLY_LIVE) rows.push(...(await benchDrain('sqlite', 'sqlite')));
      rows.push(...(await benchLiveLogs('sqlite', 'sqlite')));
    }
    if (store === 'postgres') {
      const url = pgUrl();
      try {
        if (!ONLY_LIVE) rows.push(...(await benchFlare(url, 'postgres')));
        if (!ONLY_LIVE) rows.push(...(await benchCpu('postgres', BURST)));
        if (!ONLY_LIVE) rows.push(...(await benchDrain(pgUrl(), 'postgres')));
        rows.push(...(await benchLiveLogs(pgUrl(), 'postgres')));
      } catch (err) {
        console.error(`postgres column skipped: ${(err as Error).message}`);
      }
    }
  }
  // The same burst through graphile-worker and BullMQ, so the ratios are measured in the same run.
  if (!ONLY_LIVE && !ONLY_CANCEL) rows.push(...(await benchQueues(BURST)));
  if (!ONLY_LIVE && !ONLY_CANCEL) rows.push(...(await optional('runtime.ts', 'benchRuntime')));
  if (!ONLY_LIVE && !ONLY_CANCEL) rows.push(...(await optional('postgres.ts', 'benchPostgres')));
  if (!ONLY_LIVE) rows.push(...(await optional('cancel.ts', 'benchCancel')));

  const pad = (s: string, n: number) => s.padEnd(n);
  console.log();
  console.log(`${pad('measurement', 52)}${pad('column', 12)}${pad('p50', 10)}${pad('p99', 10)}${pad('value', 10)}ratio p50/floor`);
  for (const r of rows) {
    const ratio = r.p50 !== undefined && r.unit === 'ms' ? `${(r.p50 / fl.p50).toFixed(1)}×` : '';
    console.log(`${pad(r.name, 52)}${pad(r.column ?? '', 12)}${pad(fmt(r.p50), 10)}${pad(fmt(r.p99), 10)}${pad(r.value !== undefined ? `${r.value}${r.unit}` : '', 10)}${ratio}`);
  }
  writeFileSync(join(ROOT, 'bench-results.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
  await dropPgSchemas();
  agent.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
