// PostgreSQL queue benchmark: Flare's PostgreSQL store next to graphile-worker on the same server, same loop shape.
//   - add→complete latency: one job at a time; a producer adds it, a worker pool (10 workers, woken by LISTEN/NOTIFY)
//     runs a no-op and writes the completion; measured from the add call to the completion being committed.
//   - no-op throughput: 10 producers add jobs one by one (unbatched); 10 workers take one job per query; jobs/s from
//     the first add to the last completion; the median of 3 rounds of 2,000, alternating between the two (so
//     background load on a shared machine hits both alike; latency samples alternate too).
// Flare's shape: producer = an "API node" store, workers = an "invoker node" store (separate pools and LISTEN
// connections, like two processes), claim(owner, 1) → complete([record]). Each side gets its own fresh schema.
// Run alone: node --import tsx bench/postgres.ts   (FLARE_BENCH_PG_URL overrides the server URL)
//            node --import tsx bench/postgres.ts --scale 2000000   (list/sweep cost with millions of records)
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { run, Logger, type Runner } from 'graphile-worker';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import type { Store } from '../src/store/store.js';
import type { ActivationRecord, Invocation } from '../src/types.js';
import { percentile, type BenchRow } from './stats.js';

export type { BenchRow };

const PG_URL = process.env.FLARE_BENCH_PG_URL ?? process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WORKERS = 10;
const PRODUCERS = 10;
const LATENCY_N = Number(process.env.FLARE_BENCH_PG_LATENCY_N ?? 300);
const THROUGHPUT_N = Number(process.env.FLARE_BENCH_PG_THROUGHPUT_N ?? 2000);
const WARMUP_N = 100;
const ROUNDS = Number(process.env.FLARE_BENCH_PG_ROUNDS ?? 3);

export async function benchPostgres(): Promise<BenchRow[]> {
  const suffix = randomBytes(4).toString('hex');
  const flareSchema = `flare_bench_${suffix}`;
  const gwSchema = `gw_bench_${suffix}`;
  const only = process.env.FLARE_BENCH_PG_ONLY; // "flare" or "graphile" (for profiling one side)
  const sides: Side[] = [];
  try {
    if (only !== 'flare') sides.push(await graphileSide(gwSchema));
    if (only !== 'graphile') sides.push(await flareSide(flareSchema));
    for (const side of sides) for (let i = 0; i < WARMUP_N; i++) await side.one();
    const rows: BenchRow[] = [];
    // Latency samples alternate between the two as well (one job each in turn), so background load hits both alike.
    const samples = new Map<Side, { adds: number[]; totals: number[]; notifies: number[] }>(sides.map((side) => [side, { adds: [], totals: [], notifies: [] }]));
    for (let i = 0; i < LATENCY_N; i++) {
      for (const side of sides) {
        const r = await side.one();
        const m = samples.get(side)!;
        m.adds.push(r.add);
        m.totals.push(r.total);
        if (r.notify !== undefined) m.notifies.push(r.notify);
      }
    }
    for (const side of sides) {
      const { adds, totals, notifies } = samples.get(side)!;
      rows.push({ name: `${side.name} ${side.latencyLabel}`, p50: pct(totals, 50), p99: pct(totals, 99), unit: 'ms' });
      rows.push({ name: `${side.name} ${side.addLabel}`, p50: pct(adds, 50), p99: pct(adds, 99), unit: 'ms' });
      if (notifies.length) rows.push({ name: `${side.name} completion seen by the API node (NOTIFY)`, p50: pct(notifies, 50), p99: pct(notifies, 99), unit: 'ms' });
    }
    // Throughput rounds alternate between the two so both see the same background load; the median is reported.
    const rates = new Map<Side, number[]>(sides.map((side) => [side, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of sides) {
        const base = side.completed();
        const t0 = performance.now();
        await producers(THROUGHPUT_N, side.add);
        await waitUntil(() => side.completed() - base >= THROUGHPUT_N, 120_000);
        rates.get(side)!.push(THROUGHPUT_N / ((performance.now() - t0) / 1000));
      }
    }
    for (const side of sides) {
      rows.push({ name: `${side.name} no-op throughput (unbatched)`, value: round(pct(rates.get(side)!, 50)), unit: 'jobs/s' });
    }
    return rows;
  } finally {
    for (const side of sides) await side.close().catch(() => undefined);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${flareSchema}" CASCADE`);
    await c.query(`DROP SCHEMA IF EXISTS "${gwSchema}" CASCADE`);
    await c.end();
  }
}

interface Side {
  name: string;
  latencyLabel: string;
  addLabel: string;
  /** Adds one job and waits for its completion to be committed. */
  one(): Promise<{ add: number; total: number; notify?: number }>;
  /** Adds one job (throughput rounds). */
  add: () => Promise<void>;
  completed(): number;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- graphile-worker

async function graphileSide(schema: string): Promise<Side> {
  const quiet = new Logger(() => (level, message) => {
    if (level === 'error') process.stderr.write(`[graphile-worker] ${message}\n`);
  });
  const runner: Runner = await run({
    connectionString: PG_URL,
    schema,
    concurrency: WORKERS,
    maxPoolSize: WORKERS + 2,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: quiet,
    taskList: { noop: async () => undefined },
  });
  const waiting = new Map<string, () => void>();
  const early = new Set<string>(); // completions seen before their waiter was registered
  let completed = 0;
  runner.events.on('job:complete', ({ job }) => {
    completed++;
    const id = String(job.id);
    const w = waiting.get(id);
    if (w) {
      waiting.delete(id);
      w();
    } else if (tracking) early.add(id);
  });
  let tracking = false;
  return {
    name: 'graphile-worker',
    latencyLabel: 'add→complete latency',
    addLabel: 'addJob (add only)',
    async one() {
      tracking = true;
      const t0 = performance.now();
      let resolveDone!: () => void;
      const done = new Promise<void>((r) => (resolveDone = r));
      const job = await runner.addJob('noop', {});
      const add = performance.now() - t0;
      if (early.delete(String(job.id))) resolveDone();
      else waiting.set(String(job.id), resolveDone);
      await done;
      tracking = false;
      return { add, total: performance.now() - t0 };
    },
    add: async () => {
      await runner.addJob('noop', {});
    },
    completed: () => completed,
    close: () => runner.stop(),
  };
}

// ---------------------------------------------------------------- Flare's PostgreSQL store

async function flareSide(schema: string): Promise<Side> {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  const api = await openPostgresStore(u.toString());
  const invoker = await openPostgresStore(u.toString());
  const pool = new WorkerPool(invoker, WORKERS);
  const notified = new Map<string, number>();
  let tracking = false;
  api.onCompleted((id) => {
    if (tracking) notified.set(id, performance.now());
  });
  return {
    name: 'flare-pg',
    latencyLabel: 'enqueue→claim→complete latency',
    addLabel: 'enqueue (add only, one round trip)',
    async one() {
      tracking = true;
      const inv = invocationFor();
      const t0 = performance.now();
      const done = pool.waitFor(inv.activationId);
      await api.enqueue(inv);
      const add = performance.now() - t0;
      const total = (await done) - t0;
      await waitUntil(() => notified.has(inv.activationId), 5000);
      const notify = notified.get(inv.activationId)! - t0;
      notified.delete(inv.activationId);
      tracking = false;
      return { add, total, notify };
    },
    add: () => api.enqueue(invocationFor()),
    completed: () => pool.completed,
    async close() {
      await pool.stop();
      await api.close();
      await invoker.close();
    },
  };
}

/** `n` workers, each: claim one invocation, complete it with a no-op record; idle workers sleep until a NOTIFY. */
class WorkerPool {
  completed = 0;
  private stopped = false;
  private generation = 0;
  private sleepers: (() => void)[] = [];
  private readonly waiters = new Map<string, (t: number) => void>();
  private readonly loops: Promise<void>[];
  private readonly off: () => void;

  constructor(private readonly store: Store, n: number) {
    this.off = store.onEnqueued(() => this.wakeOne());
    this.loops = Array.from({ length: n }, (_, i) => this.loop(`bench-worker-${i}`));
  }

  waitFor(id: string): Promise<number> {
    return new Promise((r) => this.waiters.set(id, r));
  }

  /** One wake-up per NOTIFY, like graphile-worker's nudge: a busy worker claims again anyway when it finishes. */
  private wakeOne(): void {
    this.generation++;
    this.sleepers.shift()?.();
  }

  private wake(): void {
    this.generation++;
    const s = this.sleepers;
    this.sleepers = [];
    for (const w of s) w();
  }

  private async loop(owner: string): Promise<void> {
    while (!this.stopped) {
      const gen = this.generation;
      const [inv] = await this.store.claim(owner, 1, 30_000);
      if (!inv) {
        if (gen !== this.generation) continue; // a wake-up arrived while we were claiming
        await new Promise<void>((r) => {
          const wake = () => {
            clearTimeout(t);
            r();
          };
          // Same poll fallback as graphile-worker's pollInterval here; a timed-out sleeper leaves the list, or a
          // later wake-up would be spent on it and lost.
          const t = setTimeout(() => {
            this.sleepers = this.sleepers.filter((w) => w !== wake);
            r();
          }, 1000);
          this.sleepers.push(wake);
        });
        continue;
      }
      await this.store.complete([noopRecord(inv)]);
      this.completed++;
      const w = this.waiters.get(inv.activationId);
      if (w) {
        this.waiters.delete(inv.activationId);
        w(performance.now());
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.off();
    this.wake();
    await Promise.all(this.loops);
  }
}

function invocationFor(): Invocation {
  return {
    activationId: randomUUID().replace(/-/g, ''),
    namespace: 'bench',
    subject: 'bench',
    actionNamespace: 'bench',
    actionName: 'noop',
    params: {},
    transactionId: randomUUID().replace(/-/g, ''),
    received: Date.now(),
    blocking: true, // a caller waits on another node: its completion crosses by NOTIFY
  };
}

function noopRecord(inv: Invocation): ActivationRecord {
  const now = Date.now();
  return {
    namespace: inv.namespace,
    name: inv.actionName,
    version: '0.0.1',
    subject: inv.subject,
    activationId: inv.activationId,
    start: now,
    end: now,
    duration: 0,
    statusCode: 0,
    response: { status: 'success', statusCode: 0, success: true, result: {} },
    logs: [],
    annotations: [],
    publish: false,
  };
}

// ---------------------------------------------------------------- helpers

async function producers(total: number, add: () => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < total) {
        next++;
        await add();
      }
    }),
  );
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('benchmark timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}

function pct(xs: number[], p: number): number {
  return round(percentile([...xs].sort((a, b) => a - b), p));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Scale check (not part of `npm run bench`; minutes of setup): `n` activation records in one schema, then list, get,
 * count and sweep through the store, and complete() latency while a sweep loop runs.
 * Run: node --import tsx bench/postgres.ts --scale 2000000
 */
export async function benchPostgresScale(n: number): Promise<BenchRow[]> {
  const schema = `flare_scale_${randomBytes(4).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  const s = await openPostgresStore(u.toString());
  const rows: BenchRow[] = [];
  const T0 = 1_700_000_000_000;
  const SPAN = 864_000_000; // 10 days
  try {
    const t = performance.now();
    // 20 namespaces, 50 function names, a third of them in 10 packages; one small namespace (1 record in 10,000).
    await c.query(`INSERT INTO "${schema}".activations (activation_id, namespace, filter_key, start, "end", status_code, record)
      SELECT md5(g::text), CASE WHEN g % 10000 = 0 THEN 'small' ELSE 'ns' || (g % 20) END, CASE WHEN g % 3 = 0 THEN 'pkg' || (g % 10) || '/fn' || (g % 50) ELSE 'fn' || (g % 50) END,
        ${T0} + g * (${SPAN} / ${n}), ${T0} + g * (${SPAN} / ${n}) + 5, 0,
        json_build_object('namespace', 'ns' || (g % 20), 'name', 'fn' || (g % 50), 'version', '0.0.1', 'subject', 's',
          'activationId', md5(g::text), 'start', ${T0} + g * (${SPAN} / ${n}), 'end', ${T0} + g * (${SPAN} / ${n}) + 5,
          'duration', 5, 'statusCode', 0,
          'response', json_build_object('status', 'success', 'statusCode', 0, 'success', true, 'result', json_build_object('ok', true)),
          'logs', json_build_array(), 'annotations', json_build_array(), 'publish', false)::text
      FROM generate_series(1, ${n}) g`);
    await c.query(`VACUUM ANALYZE "${schema}".activations`);
    rows.push({ name: `scale: insert ${n} records (setup)`, value: round((performance.now() - t) / 1000), unit: 's' });
    const time = async (name: string, fn: () => Promise<unknown>, reps = 20) => {
      await fn();
      const xs: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        await fn();
        xs.push(performance.now() - t0);
      }
      rows.push({ name: `scale(${n}): ${name}`, p50: pct(xs, 50), p99: pct(xs, 99), unit: 'ms' });
    };
    await time('list newest 30', () => s.listActivations({ namespace: 'ns7', limit: 30, skip: 0 }, false));
    await time('list newest 30 of the small namespace', () => s.listActivations({ namespace: 'small', limit: 30, skip: 0 }, false));
    await time('list newest 200, docs=true', () => s.listActivations({ namespace: 'ns7', limit: 200, skip: 0 }, true));
    await time('list 30, name=fn7', () => s.listActivations({ namespace: 'ns7', name: 'fn7', limit: 30, skip: 0 }, false));
    await time('list 30, name=pkg7/fn27', () => s.listActivations({ namespace: 'ns7', name: 'pkg7/fn27', limit: 30, skip: 0 }, false));
    await time('list 30, name=pkg7 (package)', () => s.listActivations({ namespace: 'ns7', name: 'pkg7', limit: 30, skip: 0 }, false));
    await time('list 30, since/upto', () => s.listActivations({ namespace: 'ns7', since: T0 + 300_000_000, upto: T0 + 400_000_000, limit: 30, skip: 0 }, false));
    await time('get by id', () => s.getActivation('ns7', 'c8ffe9a587b126f152ed3d89a146b445'));
    await time('count, name=fn7', () => s.countActivations({ namespace: 'ns7', name: 'fn7' }), 5);
    await time('sweep one batch of 1000', () => s.sweepActivations(T0 + SPAN / 2, 1000));
    // Writers are not blocked by a running sweep (ctid batches, SKIP LOCKED).
    let sweeping = true;
    const loop = (async () => {
      while (sweeping) await s.sweepActivations(T0 + SPAN / 2, 1000);
    })();
    const lat: number[] = [];
    for (let i = 0; i < 100; i++) {
      const inv = invocationFor();
      const t0 = performance.now();
      await s.complete([{ ...noopRecord(inv), start: T0 + SPAN + i }]);
      lat.push(performance.now() - t0);
    }
    sweeping = false;
    await loop;
    rows.push({ name: `scale(${n}): complete() while a sweep loop runs`, p50: pct(lat, 50), p99: pct(lat, 99), unit: 'ms' });
    return rows;
  } finally {
    await s.close();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const scaleAt = process.argv.indexOf('--scale');
  const job = scaleAt > 0 ? benchPostgresScale(Number(process.argv[scaleAt + 1] ?? 1_000_000)) : benchPostgres();
  job.then(
    (rows) => {
      for (const r of rows) {
        const v = r.value !== undefined ? `${r.value}` : `p50 ${r.p50}  p99 ${r.p99}`;
        process.stdout.write(`${r.name.padEnd(52)} ${v} ${r.unit}\n`);
      }
    },
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
