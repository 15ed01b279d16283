// Scale-out on PostgreSQL, end to end: 2 API nodes + 2 invoker nodes (real `flare serve` processes) on one schema.
// Always runs on PostgreSQL (FLARE_TEST_PG_URL or the machine's server), whatever FLARE_TEST_STORE says.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, waitFor, type TestServer } from './helpers/server.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `flare_mn_${randomBytes(6).toString('hex')}`;
const STORE_URL = (() => {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', SCHEMA);
  u.searchParams.set('pool_max', '6'); // 4 nodes share the server's connections with the other tests
  return u.toString();
})();

// The throttles would otherwise refuse 1,000 invocations a minute (D5 defaults).
const ENV = { FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '1000000', FLARE_LIMIT_CONCURRENT: '1000000' };

// Returns the activation id it ran as: a record whose result names another id would mean a mix-up.
const ECHO = `function main(params) { return { id: process.env.__OW_ACTIVATION_ID, n: params.n }; }`;
const SLOW = `async function main(params) {
  await new Promise((r) => setTimeout(r, 150));
  return { id: process.env.__OW_ACTIVATION_ID, n: params.n };
}`;

describe('multi-node on PostgreSQL: 2 API nodes, 2 invoker nodes, one schema', () => {
  const nodes: TestServer[] = [];
  let apiA: TestServer;
  let apiB: TestServer;
  let inv1: TestServer;
  let inv2: TestServer;
  let db: pg.Client;
  const namespace = `fn-mn-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();

  const start = async (role: 'api' | 'invoker') => {
    const s = await startServer({ namespace, auth, env: ENV, args: ['--store', STORE_URL, '--role', role] });
    nodes.push(s);
    return s;
  };

  before(async () => {
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    apiA = await start('api'); // creates the schema and the namespace
    [apiB, inv1, inv2] = await Promise.all([start('api'), start('invoker'), start('invoker')]);
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  });

  /** POST an invocation; returns the accepted activation id. */
  const invokeAsync = async (s: TestServer, action: string, n: number): Promise<string> => {
    const r = await s.api(`/api/v1/namespaces/_/actions/${action}?blocking=false`, { method: 'POST', json: { n } });
    const body = (await r.json()) as { activationId?: string };
    assert.equal(r.status, 202, JSON.stringify(body));
    assert.match(body.activationId ?? '', /^[0-9a-f]{32}$/);
    return body.activationId!;
  };

  /** Runs `total` invocations with `parallel` requests in flight, alternating the two API nodes. */
  const invokeMany = async (action: string, total: number, parallel: number): Promise<string[]> => {
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < total) {
          const n = next++;
          ids.push(await invokeAsync(n % 2 === 0 ? apiA : apiB, action, n));
        }
      }),
    );
    return ids;
  };

  const recordsOf = async (ids: string[]) => {
    const r = await db.query(`SELECT activation_id, status_code, record FROM "${SCHEMA}".activations WHERE activation_id = ANY($1)`, [ids]);
    return new Map(r.rows.map((row) => [row.activation_id as string, JSON.parse(row.record as string)]));
  };

  it('roles: invoker nodes serve only health; API nodes share entities', async () => {
    const h = await fetch(`${inv1.url}/health`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { role: string }).role, 'invoker');
    const noApi = await inv1.api('/api/v1/namespaces/_/actions');
    assert.equal(noApi.status, 404, 'an invoker node has no API');
    await noApi.arrayBuffer();

    await putAction(apiA, 'echo', ECHO);
    await putAction(apiA, 'slow', SLOW);
    const seen = await apiB.api('/api/v1/namespaces/_/actions/echo');
    assert.equal(seen.status, 200, 'deployed on A, visible on B');
    await seen.arrayBuffer();
  });

  it('a blocking call on API node A is run by an invoker and answered through NOTIFY', async () => {
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const api = i % 2 === 0 ? apiA : apiB;
      const t0 = performance.now();
      const r = await api.api('/api/v1/namespaces/_/actions/echo?blocking=true&result=true', { method: 'POST', json: { n: i } });
      times.push(performance.now() - t0);
      const body = (await r.json()) as { id: string; n: number };
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(body.n, i);
      assert.equal(body.id, r.headers.get('x-openwhisk-activation-id'), 'the result comes from this very activation');
    }
    const warm = times.slice(1).sort((a, b) => a - b);
    const median = warm[Math.floor(warm.length / 2)]!;
    console.log(`blocking invoke via API node (ms): ${times.map((t) => t.toFixed(1)).join(', ')}; warm median ${median.toFixed(1)}`);
    // The API node's fallback poll is 1 s: a median well under it shows the NOTIFY path carries the result.
    assert.ok(median < 500, `warm blocking median ${median.toFixed(0)} ms`);
  });

  it('every node re-LISTENs after its LISTEN connection is cut, and work keeps flowing', async () => {
    const listeners = async () =>
      (await db.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [`flare-listen:${SCHEMA}`])).rows.map((r) => r.pid as number);
    const before = await listeners();
    assert.equal(before.length, 4, 'one LISTEN connection per node');
    await db.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [before]);
    await waitFor(async () => {
      const now = await listeners();
      return now.length === 4 && now.every((p) => !before.includes(p)) ? true : undefined;
    }, 10_000, 50);
    // The invokers were woken by the reconnect and NOTIFY works again: an async invoke on B runs, a blocking one on A answers.
    const id = await invokeAsync(apiB, 'echo', 7);
    const t0 = performance.now();
    const r = await apiA.api('/api/v1/namespaces/_/actions/echo?blocking=true&result=true', { method: 'POST', json: { n: 8 } });
    const ms = performance.now() - t0;
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { n: number }).n, 8);
    assert.ok(ms < 900, `blocking answer after reconnect took ${ms.toFixed(0)} ms (the fallback poll is 1 s)`);
    await waitFor(async () => ((await recordsOf([id])).get(id) ? true : undefined), 10_000, 50);
  });

  it('1,000 async invocations through both API nodes all complete with their own records', async () => {
    const t0 = performance.now();
    const ids = await invokeMany('echo', 1000, 24);
    const accepted = performance.now() - t0;
    assert.equal(new Set(ids).size, 1000, 'distinct activation ids');
    await waitFor(async () => {
      const r = await db.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".activations WHERE activation_id = ANY($1)`, [ids]);
      return r.rows[0].n === 1000 ? true : undefined;
    }, 45_000, 100);
    const done = performance.now() - t0;
    console.log(`1000 async invocations: accepted in ${accepted.toFixed(0)} ms, all records after ${done.toFixed(0)} ms (${(1000 / (done / 1000)).toFixed(0)}/s)`);
    const records = await recordsOf(ids);
    for (const id of ids) {
      const rec = records.get(id);
      assert.equal(rec.statusCode, 0, `${id}: ${JSON.stringify(rec.response)}`);
      assert.equal(rec.response.result.id, id, 'each record holds its own run');
    }
    const q = await db.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".queue`);
    assert.equal(q.rows[0].n, 0, 'the queue is empty');
    // The API answers for these records from either node.
    const viaB = await apiB.api(`/api/v1/namespaces/_/activations/${ids[0]}`);
    assert.equal(viaB.status, 200);
    assert.equal(((await viaB.json()) as { activationId: string }).activationId, ids[0]);
    const count = await apiA.api('/api/v1/namespaces/_/activations?count=true&name=echo');
    assert.ok(((await count.json()) as { activations: number }).activations >= 1000);
  });

  it('kill -9 of an invoker mid-run: within 10 s every accepted id is resolved, none lost or run twice silently', async () => {
    const ids = await invokeMany('slow', 240, 24);
    // Let both invokers get going, then kill one while it holds running work.
    await waitFor(async () => {
      const r = await db.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".activations WHERE activation_id = ANY($1)`, [ids]);
      return r.rows[0].n >= 30 ? true : undefined;
    }, 30_000, 20);
    const pid = inv1.proc.pid!;
    await inv1.kill();
    const killedAt = performance.now();
    // What the dead node held: it can no longer change anything, and no one may take it before its lease expires.
    const held = await db.query(`SELECT activation_id FROM "${SCHEMA}".queue WHERE state = 'running' AND owner LIKE $1`, [`%-${pid}-%`]);
    const interrupted = new Set(held.rows.map((r) => r.activation_id as string));
    await waitFor(async () => {
      const r = await db.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".activations WHERE activation_id = ANY($1)`, [ids]);
      return r.rows[0].n === ids.length ? true : undefined;
    }, 10_000, 50);
    const resolvedIn = performance.now() - killedAt;
    const records = await recordsOf(ids);
    let ok = 0;
    let code3 = 0;
    for (const id of ids) {
      const rec = records.get(id);
      assert.ok(rec, `record for ${id}`);
      if (interrupted.has(id)) {
        // started on the dead node: resolved as interrupted, never re-run
        assert.equal(rec.statusCode, 3, `${id} was running on the killed node: ${JSON.stringify(rec.response)}`);
        code3++;
      } else {
        assert.equal(rec.statusCode, 0, `${id}: ${JSON.stringify(rec.response)}`);
        assert.equal(rec.response.result.id, id);
        ok++;
      }
    }
    console.log(`kill -9 invoker: ${interrupted.size} running on it → statusCode 3; ${ok} ran to success; all resolved ${resolvedIn.toFixed(0)} ms after the kill`);
    assert.ok(interrupted.size > 0, 'the killed invoker was running work');
    assert.equal(ok + code3, ids.length);
    const q = await db.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".queue`);
    assert.equal(q.rows[0].n, 0, 'nothing left in the queue');
    // The surviving invoker still serves blocking calls.
    const r = await apiB.api('/api/v1/namespaces/_/actions/echo?blocking=true&result=true', { method: 'POST', json: { n: 1 } });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { n: number }).n, 1);
    const h = await fetch(`${inv2.url}/health`);
    assert.equal(h.status, 200, 'the other invoker is alive');
    await h.arrayBuffer();
  });
});
