// Live logs across nodes on PostgreSQL: the function runs on an invoker node, the follower reads an api node; lines
// travel by the live-lines table and NOTIFY. Always runs on PostgreSQL (FLARE_TEST_PG_URL or the machine's server).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, waitForRecord, type TestServer } from './helpers/server.js';
import { readEvents } from './helpers/sse.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `flare_ll_${randomBytes(6).toString('hex')}`;
const STORE_URL = (() => {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', SCHEMA);
  u.searchParams.set('pool_max', '4');
  return u.toString();
})();

describe('live logs across nodes: api node + invoker node on PostgreSQL', () => {
  const nodes: TestServer[] = [];
  let api: TestServer;
  const namespace = `fn-ll-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();

  before(async () => {
    api = await startServer({ namespace, auth, args: ['--store', STORE_URL, '--role', 'api'] });
    nodes.push(api);
    nodes.push(await startServer({ namespace, auth, args: ['--store', STORE_URL, '--role', 'invoker'] }));
    await putAction(
      api,
      'ticker',
      `async function main(args, context) {
        for (let i = 1; i <= 30; i++) {
          console.log('tick ' + i + ' ' + Date.now());
          if (i === 10) context.progress({ at: i });
          await new Promise((r) => setTimeout(r, 100));
        }
        return { ok: true };
      }`,
    );
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  });

  it('a follower on the api node sees every line once, in order, while it runs; a resumed and a late follower miss nothing', async () => {
    const r = await api.api('/api/v1/namespaces/_/actions/ticker', { method: 'POST', json: {} });
    assert.equal(r.status, 202);
    const id = (await r.json()).activationId as string;
    const url = `/api/v1/namespaces/_/activations/${id}/logs?follow=true`;
    const first = await readEvents(await api.api(url), { stamp: true, until: (e) => e.event === 'log' && Number(e.id) >= 8 });
    const lastId = first.filter((e) => e.event === 'log').at(-1)!.id!;
    const rest = await readEvents(await api.api(url, { headers: { 'last-event-id': lastId } }), { stamp: true });
    const logs = [...first, ...rest].filter((e) => e.event === 'log');
    assert.deepEqual(logs.map((e) => Number(e.id)), logs.map((_, i) => i + 1), 'every line once, in order');
    assert.equal(logs.length, 30);
    assert.deepEqual(JSON.parse(rest.find((e) => e.event === 'progress')?.data ?? 'null'), { at: 10 });
    assert.deepEqual(JSON.parse(rest.at(-1)!.data), { state: 'succeeded', statusCode: 0, status: 'success' });
    const lags = logs.map((e) => e.at! - Number(/tick \d+ (\d+)/.exec(e.data)![1])).sort((a, b) => a - b);
    assert.ok(lags[Math.floor(lags.length / 2)]! < 1000, `median write-to-follower lag ${lags[Math.floor(lags.length / 2)]} ms`);
    const rec = await waitForRecord(api, id);
    assert.deepEqual(logs.map((e) => e.data), rec.logs);
    const late = await readEvents(await api.api(url));
    assert.deepEqual(late.filter((e) => e.event === 'log').map((e) => e.data), rec.logs);
    assert.equal(late.at(-1)!.event, 'end');
  });
});
