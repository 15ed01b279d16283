// A rolling restart of a PostgreSQL deployment (2 API + 2 invoker `flare serve` processes) under steady load: each
// node in turn gets SIGTERM (its /ready turns 503 at once, it exits 0) and is started again while a client keeps
// sending async invocations. At the end every 202 id has exactly one record, a success, and its function ran exactly
// once (each run appends its activation id to a file: the side effect a double run would repeat).
// Always runs on PostgreSQL (FLARE_TEST_PG_URL or the machine's server), whatever FLARE_TEST_STORE says.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { newAuth, putAction, startServer, waitFor, type TestServer } from './helpers/server.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `flare_rr_${randomBytes(6).toString('hex')}`;
const STORE_URL = (() => {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', SCHEMA);
  u.searchParams.set('pool_max', '5');
  return u.toString();
})();

// The side effect needs the host's file system: functions run in unsafe dev mode here (the sandbox has its own
// tests); the lease is the default 5 s so runs longer than a lease cross a restart.
const ENV = {
  FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '1000000',
  FLARE_LIMIT_CONCURRENT: '1000000',
  FLARE_SANDBOX: 'off',
  FLARE_SHUTDOWN_GRACE_MS: '25000',
  FLARE_LEASE_MS: '5000',
  FLARE_LOG_LEVEL: 'info',
};

const ACTION = `const fs = require('fs');
async function main(p) {
  await new Promise((r) => setTimeout(r, p.ms));
  fs.appendFileSync(p.file, process.env.__OW_ACTIVATION_ID + '\\n');
  return { id: process.env.__OW_ACTIVATION_ID, n: p.n };
}`;

describe('rolling restart on PostgreSQL: 2 API + 2 invoker nodes under steady load', () => {
  const live: TestServer[] = [];
  const all: TestServer[] = [];
  let db: pg.Client;
  const namespace = `fn-rr-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();
  const dir = mkdtempSync(join(tmpdir(), 'flare-rr-'));
  const runs = join(dir, 'runs.log');

  const start = async (role: 'api' | 'invoker', port?: number) => {
    // A node starting while the others run under load (on a shared 2-core box) may take longer than the default.
    const s = await startServer({ namespace, auth, env: ENV, args: ['--store', STORE_URL, '--role', role], startTimeoutMs: 60_000, ...(port ? { port } : {}) });
    all.push(s);
    return s;
  };

  before(async () => {
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    // One at a time: the first creates the schema and the namespace (and a loaded box starts them slowly).
    for (const role of ['api', 'api', 'invoker', 'invoker'] as const) live.push(await start(role));
  });

  after(async () => {
    const keep = process.env.FLARE_TEST_KEEP_LOGS;
    if (keep) all.forEach((n, i) => writeFileSync(join(keep, `all-${i}.log`), n.output()));
    await Promise.all(all.map((n) => n.kill()));
    for (const n of all) n.cleanup();
    rmSync(dir, { recursive: true, force: true });
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  });

  it('every accepted invocation is recorded once, none failed or ran twice, every node exits 0', async () => {
    await putAction(live[0]!, 'work', ACTION);
    const accepted: string[] = [];
    const sent = new Map<string, { ms: number; at: number }>();
    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${Date.now() - t0} ms ${what}`);
    const refusals: string[] = [];
    let stop = false;
    let n = 0;
    // Steady load: 3 clients, each alternating the API nodes; a refused request (node restarting) goes to the other.
    const client = async (c: number) => {
      let turn = c;
      while (!stop) {
        const i = n++;
        // Mostly short runs; every 8th runs longer than a lease, so some are running when their invoker restarts.
        const ms = i % 8 === 0 ? 7_000 : 150 + (i % 5) * 100;
        for (let attempt = 0; attempt < 20 && !stop; attempt++) {
          const api = live[turn++ % 2]!;
          try {
            const r = await api.api('/api/v1/namespaces/_/actions/work?blocking=false', { method: 'POST', json: { n: i, ms, file: runs } });
            const body = (await r.json().catch(() => ({}))) as { activationId?: string };
            if (r.status === 202 && body.activationId) {
              accepted.push(body.activationId);
              sent.set(body.activationId, { ms, at: Date.now() - t0 });
              break;
            }
            refusals.push(`${r.status} ${JSON.stringify(body)}`);
          } catch (err) {
            refusals.push(String((err as Error).cause ?? err));
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    };
    const clients = Promise.all([0, 1, 2].map(client));

    const waitReady = (s: TestServer) =>
      waitFor(async () => ((await fetch(`${s.url}/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 30_000, 100);

    await new Promise((r) => setTimeout(r, 3_000));
    // API A, invoker 1, API B, invoker 2: each stopped and started again on its port while the load goes on.
    for (const idx of [0, 2, 1, 3]) {
      const node = live[idx]!;
      const before = accepted.length;
      mark(`SIGTERM node ${idx}`);
      node.proc.kill('SIGTERM');
      const ready = await waitFor(async () => {
        const r = await fetch(`${node.url}/ready`).catch(() => undefined);
        return r === undefined || r.status === 503 ? r ?? null : undefined;
      }, 5_000, 20);
      // 503 at once: the node's own answer ("shutting down") or, once an API node closes its listener, Fastify's.
      if (ready) assert.equal(ready.status, 503);
      const code = await new Promise<number | null>((r) => (node.proc.exitCode !== null ? r(node.proc.exitCode) : node.proc.once('exit', (c) => r(c))));
      assert.equal(code, 0, `node ${idx} exit code\n${node.output()}`);
      mark(`exit node ${idx}`);
      if (process.env.FLARE_TEST_KEEP_LOGS) writeFileSync(join(process.env.FLARE_TEST_KEEP_LOGS, `node-${idx}-${Date.now() - t0}.log`), node.output());
      const again = await start(idx < 2 ? 'api' : 'invoker', Number(new URL(node.url).port));
      live[idx] = again;
      await waitReady(again);
      mark(`ready node ${idx} (process ${all.length - 1})`);
      assert.ok(accepted.length > before, 'the load went on during the restart');
      await new Promise((r) => setTimeout(r, 2_000));
    }
    await new Promise((r) => setTimeout(r, 2_000));
    stop = true;
    await clients;

    assert.ok(accepted.length >= 50, `steady load: ${accepted.length} accepted`);
    assert.equal(new Set(accepted).size, accepted.length);
    // Refusals while a node restarts are connection errors or 503s from the closing node, never a 500.
    for (const r of refusals) assert.doesNotMatch(r, /^5(?!03)\d\d/, r);

    // Every accepted id gets exactly one record: a success that ran as itself.
    const records = await waitFor(async () => {
      const { rows } = await db.query(`SELECT activation_id, record AS doc FROM "${SCHEMA}".activations WHERE activation_id = ANY($1)`, [accepted]);
      return rows.length === accepted.length ? rows : undefined;
    }, 60_000, 500);
    const bad = records
      .map((r) => ({ id: r.activation_id as string, doc: (typeof r.doc === 'string' ? JSON.parse(r.doc) : r.doc) as { response: { status: string; result: { id?: string } } } }))
      .filter((r) => r.doc.response.status !== 'success' || r.doc.response.result.id !== r.id)
      .map((r) => ({ id: r.id, ...sent.get(r.id), start: (r.doc as unknown as { start: number }).start - t0, status: r.doc.response.status, end: (r.doc as unknown as { end: number }).end - t0, result: r.doc.response.result }));
    // On failure: the warnings and errors of every node (which node took what over, and why).
    const noise = () =>
      all.map((n, i) => `node process ${i} (${n.url}):\n` + n.output().split('\n').filter((l) => /"level":[456]0/.test(l)).slice(0, 8).join('\n')).join('\n');
    if (bad.length) timeline.push(noise());
    assert.deepEqual(bad, [], `records that failed or ran as another id; timeline:\n${timeline.join('\n')}`);
    const { rows: queued } = await db.query(`SELECT count(*)::int AS c FROM "${SCHEMA}".queue`);
    assert.equal(queued[0].c, 0, 'nothing left in the queue');

    // The side effect: each accepted id ran exactly once.
    assert.ok(existsSync(runs));
    const counts = new Map<string, number>();
    for (const line of readFileSync(runs, 'utf8').split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
    const twice = [...counts].filter(([, c]) => c > 1);
    assert.deepEqual(twice, [], 'ran more than once');
    const missing = accepted.filter((id) => counts.get(id) !== 1);
    assert.deepEqual(missing, [], 'accepted but not run exactly once');
  });
});
