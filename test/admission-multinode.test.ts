// Exact admission across API nodes on PostgreSQL: two API processes and an invoker process (real `flare serve`) on one
// schema, flooded by 64 clients at 10× a namespace's limits. In flight never passes the concurrency limit (checked by
// polling the queue table itself), admissions in a minute never pass the per-minute limit, every 429 tells the truth,
// and every accepted invocation gets its record. Always runs on PostgreSQL, whatever FLARE_TEST_STORE says.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, startServer, waitFor, type TestServer } from './helpers/server.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { hashKey } from '../src/api/auth.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `flare_adm_${randomBytes(6).toString('hex')}`;
const STORE_URL = (() => {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', SCHEMA);
  u.searchParams.set('pool_max', '6');
  return u.toString();
})();
const CLIENTS = 64;

interface Tenant {
  name: string;
  authHeader: string;
}

describe('exact admission across two API nodes on PostgreSQL', () => {
  const nodes: TestServer[] = [];
  let apis: TestServer[] = [];
  let db: pg.Client;
  const tenants: Record<'cc' | 'pm', Tenant> = {} as never;

  before(async () => {
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    const env = { FLARE_LIMIT_CONCURRENT: '100000', FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000' };
    const start = async (role: string) => {
      const s = await startServer({ env, args: ['--store', STORE_URL, '--role', role] });
      nodes.push(s);
      return s;
    };
    const first = await start('api'); // creates the schema
    apis = [first, ...(await Promise.all([start('api'), start('invoker')])).slice(0, 1)];
    // Two namespaces with limits of their own (NamespaceRow.limits, what Identity.limits is built from).
    const store = await openPostgresStore(STORE_URL);
    try {
      const limits = { cc: { concurrentInvocations: 10, invocationsPerMinute: 100_000 }, pm: { concurrentInvocations: 100_000, invocationsPerMinute: 30 } };
      for (const k of ['cc', 'pm'] as const) {
        const auth = newAuth();
        const [uuid, key] = auth.split(':') as [string, string];
        const name = `${k}-${randomBytes(4).toString('hex')}`;
        assert.ok(await store.createNamespace({ name, uuid, keyHash: hashKey(key), subject: name, created: Date.now(), limits: limits[k] }));
        tenants[k] = { name, authHeader: `Basic ${Buffer.from(auth).toString('base64')}` };
      }
    } finally {
      await store.close();
    }
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  });

  const call = (node: TestServer, t: Tenant, path: string, init: RequestInit & { json?: unknown } = {}) =>
    fetch(`${node.url}${path}`, {
      ...init,
      headers: { authorization: t.authHeader, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });

  const putAction = async (t: Tenant, name: string, code: string) => {
    const r = await call(apis[0]!, t, `/api/v1/namespaces/_/actions/${name}?overwrite=true`, { method: 'PUT', json: { exec: { kind: 'nodejs:20', code } } });
    assert.equal(r.status, 200, await r.text());
  };

  /** `total` non-blocking invokes from CLIENTS concurrent clients, alternating between the two API nodes. */
  const flood = async (t: Tenant, action: string, total: number) => {
    const out: Array<{ status: number; body: any }> = [];
    let next = 0;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < total; i = next++) {
        const r = await call(apis[i % 2]!, t, `/api/v1/namespaces/_/actions/${action}?blocking=false`, { method: 'POST', json: { i } });
        out.push({ status: r.status, body: await r.json() });
      }
    }));
    return out;
  };

  const allRecorded = async (t: Tenant, ids: string[]) => {
    for (const id of ids) {
      const rec = await waitFor(async () => {
        const r = await call(apis[1]!, t, `/api/v1/namespaces/_/activations/${id}`);
        return r.status === 200 ? r.json() : undefined;
      }, 60_000);
      assert.equal(rec.response.statusCode, 0, JSON.stringify(rec.response));
    }
  };

  it('concurrent invocations: 100 requests for a limit of 10, never 11 in flight', async () => {
    const t = tenants.cc;
    await putAction(t, 'slow', 'function main(){ return new Promise(r => setTimeout(() => r({}), 4000)) }');
    let maxInFlight = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await db.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".queue WHERE namespace = $1`, [t.name]);
        maxInFlight = Math.max(maxInFlight, r.rows[0].n);
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    const t0 = Date.now();
    const rs = await flood(t, 'slow', 100);
    const floodMs = Date.now() - t0;
    const accepted = rs.filter((r) => r.status === 202).map((r) => r.body.activationId as string);
    try {
      assert.deepEqual(rs.filter((r) => r.status !== 202 && r.status !== 429), [], 'only 202 and 429');
      for (const r of rs.filter((x) => x.status === 429)) {
        assert.deepEqual(r.body.error, 'Too many concurrent requests in flight (count: 11, allowed: 10).');
        assert.equal(typeof r.body.code, 'string');
      }
      assert.ok(accepted.length >= 10, `the limit is filled (${accepted.length})`);
      // Nothing admitted could have finished during a flood shorter than a run: then exactly the limit was admitted.
      if (floodMs < 3_000) assert.equal(accepted.length, 10, `admitted in a ${floodMs} ms flood`);
      await allRecorded(t, accepted);
    } finally {
      polling = false;
      await poller;
    }
    assert.ok(maxInFlight <= 10, `at most 10 in flight at once in the queue table, saw ${maxInFlight}`);
    assert.equal(maxInFlight, 10);
  });

  it('invocations per minute: 300 requests for a limit of 30 in one minute', async () => {
    const t = tenants.pm;
    await putAction(t, 'noop', 'function main(){ return {} }');
    // Start well inside a minute window so the flood stays in it (the store's windows are wall-clock minutes).
    const into = Date.now() % 60_000;
    if (into > 40_000) await new Promise((r) => setTimeout(r, 60_000 - into + 250));
    const minute = Math.floor(Date.now() / 60_000);
    const rs = await flood(t, 'noop', 300);
    const sameWindow = Math.floor(Date.now() / 60_000) === minute;
    const accepted = rs.filter((r) => r.status === 202).map((r) => r.body.activationId as string);
    assert.deepEqual(rs.filter((r) => r.status !== 202 && r.status !== 429).map((r) => r.status), [], 'only 202 and 429');
    if (sameWindow) {
      assert.equal(accepted.length, 30, 'exactly the per-minute limit is admitted');
      for (const r of rs.filter((x) => x.status === 429)) {
        assert.equal(r.body.error, 'Too many requests in the last minute (count: 31, allowed: 30).');
      }
    } else {
      assert.ok(accepted.length <= 60, `two windows admit at most twice the limit (${accepted.length})`);
    }
    await allRecorded(t, accepted);
  });
});
