// Two `--role all` nodes on one PostgreSQL schema (the simplest scale-out): each accepts and runs work, new
// invocations may be committed already claimed by the accepting node's own invoker, and when one node is killed
// the other resolves what it held. Always runs on PostgreSQL (FLARE_TEST_PG_URL or the machine's server).
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
  u.searchParams.set('pool_max', '6');
  return u.toString();
})();
const ENV = { FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '1000000', FLARE_LIMIT_CONCURRENT: '1000000' };
const SLOW = `async function main(params) {
  await new Promise((r) => setTimeout(r, 200));
  return { id: process.env.__OW_ACTIVATION_ID, n: params.n };
}`;

describe('multi-node on PostgreSQL: two --role all nodes, one schema', () => {
  const nodes: TestServer[] = [];
  let a: TestServer;
  let b: TestServer;
  let db: pg.Client;
  const namespace = `fn-mn-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();
  const start = async () => {
    const s = await startServer({ namespace, auth, env: ENV, args: ['--store', STORE_URL, '--role', 'all'] });
    nodes.push(s);
    return s;
  };

  before(async () => {
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    a = await start();
    b = await start();
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  });

  const count = async (ids: string[]) =>
    (await db.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".activations WHERE activation_id = ANY($1)`, [ids])).rows[0].n as number;

  it('both nodes accept and run; killing one leaves nothing unresolved', async () => {
    await putAction(a, 'slow', SLOW);
    // blocking on each node
    for (const s of [a, b]) {
      const r = await s.api('/api/v1/namespaces/_/actions/slow?blocking=true&result=true', { method: 'POST', json: { n: 1 } });
      const body = (await r.json()) as { id: string; n: number };
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(body.id, r.headers.get('x-openwhisk-activation-id'));
    }
    // async through both, 16 in flight
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 160) {
          const n = next++;
          const r = await (n % 2 ? a : b).api('/api/v1/namespaces/_/actions/slow?blocking=false', { method: 'POST', json: { n } });
          assert.equal(r.status, 202);
          ids.push(((await r.json()) as { activationId: string }).activationId);
        }
      }),
    );
    await waitFor(async () => ((await count(ids)) >= 20 ? true : undefined), 30_000, 20);
    const pid = b.proc.pid!;
    await b.kill();
    const killedAt = performance.now();
    const held = await db.query(`SELECT activation_id FROM "${SCHEMA}".queue WHERE state = 'running' AND owner LIKE $1`, [`%-${pid}-%`]);
    const interrupted = new Set(held.rows.map((r) => r.activation_id as string));
    await waitFor(async () => ((await count(ids)) === ids.length ? true : undefined), 12_000, 50);
    const resolvedIn = performance.now() - killedAt;
    const rows = await db.query(`SELECT activation_id, record FROM "${SCHEMA}".activations WHERE activation_id = ANY($1)`, [ids]);
    let ok = 0;
    for (const row of rows.rows) {
      const rec = JSON.parse(row.record as string);
      if (interrupted.has(row.activation_id)) assert.equal(rec.statusCode, 3, 'started on the dead node: interrupted, not re-run');
      else {
        assert.equal(rec.statusCode, 0, JSON.stringify(rec.response));
        assert.equal(rec.response.result.id, row.activation_id);
        ok++;
      }
    }
    console.log(`two all-role nodes: ${interrupted.size} interrupted on the killed node, ${ok} succeeded, resolved ${resolvedIn.toFixed(0)} ms after the kill`);
    assert.ok(interrupted.size > 0, 'the killed node was running work');
    assert.ok(resolvedIn < 10_000, `resolved in ${resolvedIn.toFixed(0)} ms`);
    const q = await db.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".queue`);
    assert.equal(q.rows[0].n, 0);
  });
});
