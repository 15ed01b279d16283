// Cancel-to-dead latency (issue 10 point 5; targets ≤ 100 ms on one node, ≤ 1 s across nodes): a running function
// (grace 0, a grandchild process too) is cancelled with DELETE …/activations/{id}; measured from sending the DELETE
// until every process of its sandbox is gone from the host's process table (polled in /proc), and until the DELETE's
// answer (the cancelled record, written after the sandbox is gone). Run by bench/run.ts (BENCH_STORES selects stores).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { percentile, type BenchRow } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = process.env.BENCH_QUICK === '1' ? 5 : 15;
const PG_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const VICTIM = `const { spawn } = require('child_process');
async function main(p) {
  process.title = 'flarebench-' + p.marker;
  spawn('/bin/sh', ['-c', 'while :; do sleep 0.2; done', 'flarebench-' + p.marker + '-child'], { stdio: 'ignore' });
  for (;;) { console.log('tick'); await new Promise((r) => setTimeout(r, 100)); }
}`;

interface Node {
  url: string;
  auth: string;
  proc: ChildProcess;
  dir: string;
}

async function start(store: string | undefined, role: string, rawAuth: string): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'flare-bench-cancel-'));
  const args = [join(ROOT, 'bin', 'flare'), 'serve', '--port', '0', '--data-dir', dir, '--role', role, ...(store ? ['--store', store] : [])];
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FLARE_BOOTSTRAP_NAMESPACE: 'bench', FLARE_BOOTSTRAP_AUTH: rawAuth, FLARE_LOG_LEVEL: 'error' },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`flare did not start: ${out}`)), 60_000);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = /API host:\s+(\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.once('exit', (c) => reject(new Error(`flare exited ${c}: ${out}`)));
  });
  return { url, auth: 'Basic ' + Buffer.from(rawAuth).toString('base64'), proc, dir };
}

async function stop(n: Node): Promise<void> {
  await new Promise<void>((r) => {
    n.proc.once('exit', () => r());
    n.proc.kill('SIGTERM');
  });
  rmSync(n.dir, { recursive: true, force: true });
}

/** Pids of host processes whose command line carries the marker. */
function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`flarebench-${marker}`)) out.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** A pid is gone once /proc has no entry for it, or only a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function measure(api: Node, column: string, label: string): Promise<BenchRow[]> {
  const h = { authorization: api.auth, 'content-type': 'application/json' };
  const put = await fetch(`${api.url}/api/v1/namespaces/_/actions/victim?overwrite=true`, {
    method: 'PUT',
    headers: h,
    body: JSON.stringify({ exec: { kind: 'nodejs:20', code: VICTIM }, limits: { timeout: 120_000 }, annotations: [{ key: 'cancel-grace-ms', value: 0 }] }),
  });
  if (put.status !== 200) throw new Error(`PUT victim: ${put.status}`);
  const dead: number[] = [];
  const answered: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const marker = randomBytes(6).toString('hex');
    const r = await fetch(`${api.url}/api/v1/namespaces/_/actions/victim?blocking=false`, { method: 'POST', headers: h, body: JSON.stringify({ marker }) });
    const id = ((await r.json()) as { activationId: string }).activationId;
    let pids: number[] = [];
    for (const until = Date.now() + 60_000; pids.length < 2 && Date.now() < until; ) {
      await new Promise((res) => setTimeout(res, 20));
      pids = pidsWith(marker);
    }
    if (pids.length < 2) throw new Error('the victim never started');
    await new Promise((res) => setTimeout(res, 200));
    const t0 = performance.now();
    const answer = fetch(`${api.url}/api/v1/namespaces/_/activations/${id}`, { method: 'DELETE', headers: { authorization: api.auth } }).then(async (res) => {
      await res.arrayBuffer();
      answered.push(performance.now() - t0);
      return res.status;
    });
    while (pids.some(alive)) await new Promise((res) => setImmediate(res));
    dead.push(performance.now() - t0);
    const status = await answer;
    if (status !== 200 && status !== 202) throw new Error(`DELETE answered ${status}`);
  }
  dead.sort((a, b) => a - b);
  answered.sort((a, b) => a - b);
  return [
    { name: `cancel-to-dead, grace 0 (${label})`, p50: percentile(dead, 50), p99: percentile(dead, 99), unit: 'ms', column },
    { name: `cancel answered with the record (${label})`, p50: percentile(answered, 50), p99: percentile(answered, 99), unit: 'ms', column },
  ];
}

export async function benchCancel(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const stores = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
  const raw = `${randomUUID()}:${randomBytes(32).toString('hex')}`;
  if (stores.includes('sqlite')) {
    const n = await start(undefined, 'all', raw);
    try {
      rows.push(...(await measure(n, 'sqlite', 'one node')));
    } finally {
      await stop(n);
    }
  }
  if (stores.includes('postgres')) {
    const schema = `flare_bench_cancel_${randomBytes(4).toString('hex')}`;
    const url = `${PG_BASE}?schema=${schema}`;
    const api = await start(url, 'api', raw);
    const inv = await start(url, 'invoker', raw);
    try {
      rows.push(...(await measure(api, 'pg x-node', 'api → invoker node')));
    } finally {
      await stop(inv);
      await stop(api);
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: PG_BASE });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => c.end());
    }
  }
  return rows;
}

// `node --import tsx bench/cancel.ts` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchCancel().then(
    (rows) => {
      for (const r of rows) console.log(`${r.name.padEnd(52)}${(r.column ?? '').padEnd(12)}p50 ${r.p50?.toFixed(1)} ms  p99 ${r.p99?.toFixed(1)} ms`);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
