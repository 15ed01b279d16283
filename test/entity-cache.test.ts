// The API's entity cache (src/entity-cache/) never serves an action or package older than a write that returned:
// on PostgreSQL across two API nodes (PUT on A, then invoke on B sees the new version at once), on SQLite on one node.
// Always runs the two-node case on PostgreSQL (FLARE_TEST_PG_URL or the machine's server), whatever FLARE_TEST_STORE says.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, type TestServer } from './helpers/server.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ENV = { FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '1000000', FLARE_LIMIT_CONCURRENT: '1000000' };
const code = (v: number) => `function main(p) { return { v: ${v}, param: p.param, pkgParam: p.pkgParam }; }`;

async function invoke(s: TestServer, name: string): Promise<any> {
  const r = await s.api(`/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`, { method: 'POST', json: {} });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}

async function putPackage(s: TestServer, name: string, pkgParam: number): Promise<void> {
  const r = await s.api(`/api/v1/namespaces/_/packages/${name}?overwrite=true`, { method: 'PUT', json: { parameters: [{ key: 'pkgParam', value: pkgParam }] } });
  assert.equal(r.status, 200, await r.clone().text());
}

/** Alternating writes on `writer` and invokes on `reader`: every invoke sees the write before it. */
async function writeThenRead(writer: TestServer, reader: TestServer): Promise<void> {
  await putPackage(writer, 'tools', 0);
  await putAction(writer, 'fn', code(0), { parameters: [{ key: 'param', value: 'p0' }] });
  await putAction(writer, 'tools/pf', code(0));
  // Warm the reader's cache with the first versions.
  assert.deepEqual(await invoke(reader, 'fn'), { v: 0, param: 'p0' });
  assert.deepEqual(await invoke(reader, 'tools/pf'), { v: 0, pkgParam: 0 });
  for (let i = 1; i <= 8; i++) {
    await putAction(writer, 'fn', code(i), { parameters: [{ key: 'param', value: `p${i}` }] });
    assert.deepEqual(await invoke(reader, 'fn'), { v: i, param: `p${i}` }, `action version ${i} right after its PUT`);
    await putPackage(writer, 'tools', i);
    assert.deepEqual(await invoke(reader, 'tools/pf'), { v: 0, pkgParam: i }, `package parameters ${i} right after their PUT`);
  }
  // A deleted action is gone at once, and the same name made again is the new one.
  assert.equal((await writer.api('/api/v1/namespaces/_/actions/fn', { method: 'DELETE' })).status, 200);
  const gone = await reader.api('/api/v1/namespaces/_/actions/fn?blocking=true', { method: 'POST', json: {} });
  assert.equal(gone.status, 404);
  await putAction(writer, 'fn', code(99));
  assert.deepEqual(await invoke(reader, 'fn'), { v: 99 });
}

describe('entity cache: an invoke never sees an action or package older than a write that returned', () => {
  it('PostgreSQL: PUT on API node A, invoke on API node B sees the new version immediately', async () => {
    const schema = `flare_ec_${randomBytes(6).toString('hex')}`;
    const u = new URL(PG_URL);
    u.searchParams.set('schema', schema);
    u.searchParams.set('pool_max', '4');
    const namespace = `ec-${randomBytes(4).toString('hex')}`;
    const auth = newAuth();
    const nodes: TestServer[] = [];
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    try {
      const start = async (role: string) => {
        const s = await startServer({ namespace, auth, env: ENV, args: ['--store', u.toString(), '--role', role] });
        nodes.push(s);
        return s;
      };
      const a = await start('api');
      const [b] = await Promise.all([start('api'), start('invoker')]);
      await writeThenRead(a, b!);
      // And the other way round, after B cached everything.
      await writeThenRead(b!, a);
    } finally {
      await Promise.all(nodes.map((n) => n.kill()));
      for (const n of nodes) n.cleanup();
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.end();
    }
  });

  it('the configured store on one node: a PUT is seen by the next invoke', async () => {
    const s = await startServer({ env: ENV });
    try {
      await writeThenRead(s, s);
    } finally {
      await s.stop();
      s.cleanup();
    }
  });
});
