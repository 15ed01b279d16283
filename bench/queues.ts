// The same number of no-op jobs through graphile-worker (PostgreSQL) and BullMQ (the machine's Redis) as Flare's
// end-to-end burst (bench/cpu.ts): 32 producers add jobs one by one, workers (concurrency 32) run a no-op; completed/s
// from the first add to the last completion, and CPU µs per job of this process (producers + workers) and of the
// database server apart (PostgreSQL backends of this run / the redis-server process). Side by side in `npm run bench`.
//   node --import tsx bench/queues.ts [n]    BENCH_REDIS_URL (redis://127.0.0.1:6379), BENCH_PG_URL
import { readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { BenchRow } from './stats.js';

const PG_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = new URL(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379');
const PRODUCERS = 32;
const CONCURRENCY = 32;
const TICK_US = 1e6 / 100;

function ticks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function producers(total: number, add: () => Promise<unknown>): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (sent < total) {
        sent++;
        await add();
      }
    }),
  );
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for the jobs to complete');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function graphile(total: number): Promise<BenchRow[]> {
  const { run, Logger } = await import('graphile-worker');
  const schema = `gw_q_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  let completed = 0;
  const runner = await run({
    // Its connections carry the schema name, so their backends' CPU can be told from anyone else's.
    connectionString: `${PG_BASE}${PG_BASE.includes('?') ? '&' : '?'}application_name=${schema}`,
    schema,
    concurrency: CONCURRENCY,
    maxPoolSize: CONCURRENCY + PRODUCERS,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: new Logger(() => () => undefined),
    taskList: { noop: async () => undefined },
  });
  runner.events.on('job:complete', () => completed++);
  const backends = async () => {
    const r = await admin.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [schema]);
    return (r.rows as Array<{ pid: number }>).map((x) => x.pid);
  };
  try {
    // Warm-up, as Flare's burst has.
    await producers(Math.min(2000, total / 5), () => runner.addJob('noop', {}));
    await until(() => completed >= Math.min(2000, total / 5), 120_000);
    completed = 0;
    const pids = await backends();
    const pg0 = pids.reduce((a, p) => a + ticks(p), 0);
    const c0 = cpuUs();
    const t0 = Date.now();
    await producers(total, () => runner.addJob('noop', {}));
    await until(() => completed >= total, 600_000);
    const ms = Date.now() - t0;
    const cpu = cpuUs() - c0;
    const pg1 = pids.reduce((a, p) => a + ticks(p), 0);
    return [
      { name: 'graphile-worker: completed end to end (/s, 32 producers)', value: Math.round((total / ms) * 1000), unit: '/s', column: 'graphile' },
      { name: 'graphile-worker: CPU per job, producers + workers', value: Math.round(cpu / total), unit: ' µs', column: 'graphile' },
      { name: 'graphile-worker: CPU per job, PostgreSQL backends', value: Math.round(((pg1 - pg0) * TICK_US) / total), unit: ' µs', column: 'graphile' },
    ];
  } finally {
    await runner.stop();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

async function bullmq(total: number): Promise<BenchRow[]> {
  const { Queue, Worker } = await import('bullmq');
  const connection = { host: REDIS_URL.hostname, port: Number(REDIS_URL.port || 6379), maxRetriesPerRequest: null };
  const name = `flare-bench-${randomBytes(4).toString('hex')}`;
  const queue = new Queue(name, { connection });
  let completed = 0;
  const worker = new Worker(name, async () => undefined, { connection, concurrency: CONCURRENCY });
  worker.on('completed', () => completed++);
  const redis = pidsNamed('redis-server');
  const add = () => queue.add('noop', {}, { removeOnComplete: true, removeOnFail: true });
  try {
    await worker.waitUntilReady();
    await producers(Math.min(2000, total / 5), add);
    await until(() => completed >= Math.min(2000, total / 5), 120_000);
    completed = 0;
    const r0 = redis.reduce((a, p) => a + ticks(p), 0);
    const c0 = cpuUs();
    const t0 = Date.now();
    await producers(total, add);
    await until(() => completed >= total, 600_000);
    const ms = Date.now() - t0;
    const cpu = cpuUs() - c0;
    const r1 = redis.reduce((a, p) => a + ticks(p), 0);
    return [
      { name: 'BullMQ: completed end to end (/s, 32 producers)', value: Math.round((total / ms) * 1000), unit: '/s', column: 'bullmq' },
      { name: 'BullMQ: CPU per job, producers + workers', value: Math.round(cpu / total), unit: ' µs', column: 'bullmq' },
      { name: 'BullMQ: CPU per job, redis-server*', value: Math.round(((r1 - r0) * TICK_US) / total), unit: ' µs', column: 'bullmq' },
    ];
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

/** Both side by side; a side that cannot run (no Redis, no PostgreSQL) is reported on stderr and left out. */
export async function benchQueues(total: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [label, side] of [['graphile-worker', graphile], ['BullMQ', bullmq]] as const) {
    try {
      rows.push(...(await side(total)));
    } catch (err) {
      console.error(`${label} skipped: ${(err as Error).message}`);
    }
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchQueues(Number(process.argv[2] ?? 10000)).then(
    (rows) => {
      for (const r of rows) console.log(`${r.name.padEnd(60)}${r.value}${r.unit}`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
