// Three Flare nodes (role all + two invokers, each running the scheduler) on one PostgreSQL schema: a `* * * * *`
// scheduled trigger fires once per minute cluster-wide. The scheduler clocks are shifted by the test-only
// FLARE_SCHEDULER_CLOCK_OFFSET_MS so the minute boundary comes a few seconds after start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, waitFor, type TestServer } from './helpers/server.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

test('scheduled trigger on 3 nodes sharing PostgreSQL: each minute fires once', async () => {
  const schema = `flare_tr_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  u.searchParams.set('pool_max', '4');
  const storeUrl = u.toString();
  const namespace = `fn-tr-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();
  const lead = 10_000;
  const t0 = Date.now();
  let boundary = Math.ceil((t0 + lead) / 60_000) * 60_000;
  if (boundary === t0 + lead) boundary += 60_000;
  const env = { FLARE_SANDBOX: process.env.FLARE_SANDBOX ?? 'off', FLARE_SCHEDULER_CLOCK_OFFSET_MS: String(boundary - (t0 + lead)) };
  const nodes: TestServer[] = [];
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  try {
    const start = async (role: string) => {
      const s = await startServer({ namespace, auth, env, args: ['--store', storeUrl, '--role', role] });
      nodes.push(s);
      return s;
    };
    const main = await start('all'); // creates the schema and the namespace
    await Promise.all([start('invoker'), start('invoker')]);
    await putAction(main, 'beat', 'function main(a) { return { beat: a.n }; }');
    const created = await main.api('/v2/functions/namespaces/_/triggers', {
      method: 'POST',
      json: { name: 'heartbeat', function: 'beat', type: 'SCHEDULED', is_enabled: true, scheduled_details: { cron: '* * * * *', body: { n: 1 } } },
    });
    assert.equal(created.status, 200);
    const first = await waitFor(async () => {
      const list = (await (await main.api('/api/v1/namespaces/_/activations?name=beat')).json()) as any[];
      return list.length ? list : undefined;
    }, 75_000, 200);
    assert.equal(first.length, 1);
    // Every node has ticked past the boundary by now (1 s ticks); the others must have deferred to the owner.
    await new Promise((r) => setTimeout(r, 3_000));
    const after = (await (await main.api('/api/v1/namespaces/_/activations?name=beat&docs=true')).json()) as any[];
    assert.equal(after.length, 1, 'one run for the minute across three schedulers');
    assert.deepEqual(after[0].response.result, { beat: 1 });
    const keys = await db.query(`SELECT count(*)::int AS n FROM "${schema}".settings WHERE key LIKE 'trigger-fire:%'`);
    assert.equal(keys.rows[0].n, 1);
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  }
});
