// CPU per activation (issue 12): a burst of no-op non-blocking invocations from 32 HTTP clients against one node,
// until every record is committed; CPU time read from /proc for the server process, its executors (every process
// below it, sandboxes included) and, on PostgreSQL, the database backends serving this node (apart).
//   node --import tsx bench/cpu.ts [sqlite|postgres] [n]     FLARE_BENCH_CPU_PROF=dir adds --cpu-prof to the server
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { BenchRow } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PG_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TICK_US = 1e6 / 100; // USER_HZ

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

/** utime + stime (+ the exited children's, for the process itself) in ticks, and the parent pid. */
function stat(pid: number): { ticks: number; children: number; ppid: number } | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]), children: Number(rest[13]) + Number(rest[14]) };
  } catch {
    return undefined;
  }
}

/** CPU ticks of `root` and, apart, of everything below it (exited descendants included via cutime/cstime). */
export function treeTicks(root: number): { self: number; below: number } {
  const procs = new Map<number, { ticks: number; children: number; ppid: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(Number(d));
    if (s) procs.set(Number(d), s);
  }
  const kids = new Map<number, number[]>();
  for (const [pid, s] of procs) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), pid]);
  const self = procs.get(root);
  let below = self?.children ?? 0;
  const walk = (pid: number) => {
    for (const k of kids.get(pid) ?? []) {
      const s = procs.get(k)!;
      below += s.ticks + s.children;
      // children's cutime is counted in `s.children` already; their own live descendants are walked.
      walk(k);
    }
  };
  walk(root);
  return { self: self?.ticks ?? 0, below };
}

async function pgBackendTicks(admin: pg.Client, schema: string): Promise<number> {
  const r = await admin.query(`SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1`, [`%:${schema}`]);
  return r.rows.reduce((a: number, row: { pid: number }) => a + (stat(row.pid)?.ticks ?? 0), 0);
}

interface Node {
  url: string;
  h: Record<string, string>;
  proc: ChildProcess;
  dir: string;
}

async function start(store: string, profDir?: string): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'flare-cpu-'));
  const auth = `${randomUUID()}:${randomBytes(32).toString('hex')}`;
  const args = ['serve', '--port', '0', '--data-dir', dir];
  if (store !== 'sqlite') args.push('--store', store);
  const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const proc = spawn(process.execPath, [...prof, join(ROOT, 'bin', 'flare'), ...args], {
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
    if (process.env.FLARE_BENCH_SERVER_LOG) {
      proc.stdout!.on('data', (d) => process.stderr.write(d));
      proc.stderr!.on('data', (d) => process.stderr.write(d));
    }
    proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${buf}`)));
  });
  return { url, h: { authorization: 'Basic ' + Buffer.from(auth).toString('base64') }, proc, dir };
}

async function count(n: Node): Promise<number> {
  const r = await request(`${n.url}/api/v1/namespaces/_/activations?count=true`, 'GET', n.h);
  return JSON.parse(r.body).activations as number;
}

/** flare_activation_starts_total by kind (cold, prewarmed, warm), from /metrics. */
async function starts(n: Node): Promise<Record<string, number>> {
  const r = await request(`${n.url}/metrics`, 'GET', n.h);
  const out: Record<string, number> = {};
  for (const m of r.body.matchAll(/^flare_activation_starts_total\{[^}]*kind="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

async function burst(n: Node, total: number): Promise<{ ms: number; acceptedMs: number }> {
  const before = await count(n);
  const t0 = Date.now();
  let sent = 0;
  const client = async () => {
    while (sent < total) {
      sent++;
      const r = await request(`${n.url}/api/v1/namespaces/_/actions/noop?blocking=false`, 'POST', n.h, '{}');
      if (r.status !== 202) throw new Error(`invoke ${r.status} ${r.body}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, client));
  const acceptedMs = Date.now() - t0;
  while ((await count(n)) - before < total) await new Promise((r) => setTimeout(r, 10));
  return { ms: Date.now() - t0, acceptedMs };
}

/** CPU µs per activation (server, executors, PostgreSQL apart) and completed/s, for one store. */
export async function benchCpu(store: 'sqlite' | 'postgres', total: number, column = store): Promise<BenchRow[]> {
  let storeArg = 'sqlite';
  let schema = '';
  let admin: pg.Client | undefined;
  if (store === 'postgres') {
    schema = `flare_cpu_${randomBytes(4).toString('hex')}`;
    storeArg = `${PG_BASE}?schema=${schema}`;
    admin = new pg.Client({ connectionString: PG_BASE });
    await admin.connect();
  }
  const node = await start(storeArg, process.env.FLARE_BENCH_CPU_PROF);
  try {
    const put = await request(`${node.url}/api/v1/namespaces/_/actions/noop?overwrite=true`, 'PUT', node.h, JSON.stringify({ exec: { kind: 'nodejs:20', code: 'function main(){return {}}' } }));
    if (put.status !== 200) throw new Error(`PUT ${put.status} ${put.body}`);
    await burst(node, Math.min(2000, total / 5)); // warm: executors started, JIT warm
    const pid = node.proc.pid!;
    const a = treeTicks(pid);
    const pa = admin ? await pgBackendTicks(admin, schema) : 0;
    const sa = await starts(node);
    const { ms, acceptedMs } = await burst(node, total);
    const sb = await starts(node);
    const b = treeTicks(pid);
    const pb = admin ? await pgBackendTicks(admin, schema) : 0;
    const per = (ticks: number) => Math.round((ticks * TICK_US) / total);
    const rows: BenchRow[] = [
      { name: 'CPU per activation: server', value: per(b.self - a.self), unit: ' µs', column },
      { name: 'CPU per activation: executors', value: per(b.below - a.below), unit: ' µs', column },
      { name: 'CPU per activation: server + executors', value: per(b.self - a.self + b.below - a.below), unit: ' µs', column },
    ];
    if (admin) rows.push({ name: 'CPU per activation: PostgreSQL backends', value: per(pb - pa), unit: ' µs', column });
    const kinds = Object.keys(sb).map((k) => `${k} ${(sb[k] ?? 0) - (sa[k] ?? 0)}`).join(', ');
    console.log(`  ${column}: executor starts during the burst: ${kinds}`);
    rows.push({ name: 'async accepted (202/s, 32 clients)', value: Math.round((total / acceptedMs) * 1000), unit: '/s', column });
    rows.push({ name: 'async completed end to end (/s, 32 clients)', value: Math.round((total / ms) * 1000), unit: '/s', column });
    return rows;
  } finally {
    await new Promise<void>((r) => {
      node.proc.once('exit', () => r());
      node.proc.kill('SIGTERM');
    });
    rmSync(node.dir, { recursive: true, force: true });
    if (admin) {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await admin.end();
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const store = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'postgres';
  const n = Number(process.argv[3] ?? 10000);
  benchCpu(store, n)
    .then((rows) => {
      for (const r of rows) console.log(`${r.name.padEnd(48)}${r.value}${r.unit}`);
      agent.destroy();
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
