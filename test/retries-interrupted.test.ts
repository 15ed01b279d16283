// The interrupted rule (issue 11 point 2, run-control §4.7), with kill -9: work whose node died after `running` was
// committed gets a statusCode 3 `interrupted` record and is never started again — unless its retry policy lists
// `interrupted`, then it runs its next attempt. Work still queued at the kill simply runs after it.
// The functions leave marks on the host to prove what started, so they run unsandboxed (FLARE_SANDBOX=off): this
// checks the queue and invoker, not the isolation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, waitFor, waitForRecord, type TestServer } from './helpers/server.js';

const ENV = { FLARE_LEASE_MS: '2000', FLARE_SANDBOX: 'off' };

function marksOf(file: string, id: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter((l) => l.startsWith(id));
}

const ann = (rec: any, key: string) => rec.annotations.find((a: any) => a.key === key)?.value;

/**
 * Deploys `once` (no policy for interrupted) and `again` (on: interrupted), starts one of each, kills the node running
 * them with kill -9 once both have started, and lets `revive` bring an invoker back. Checks the records and marks.
 */
async function scenario(api: TestServer, killRunner: () => Promise<void>, revive: () => Promise<TestServer>): Promise<void> {
  const marks = join(mkdtempSync(join(tmpdir(), 'flare-interrupted-')), 'runs');
  const code = `
    const fs = require('fs');
    async function main() {
      const attempt = process.env.__OW_ATTEMPT;
      fs.appendFileSync(${JSON.stringify(marks)}, process.env.__OW_ACTIVATION_ID + ' ' + attempt + '\\n');
      console.log('started attempt ' + attempt);
      if (attempt === '1') await new Promise((r) => setTimeout(r, 30000));
      return { attempt: Number(attempt) };
    }`;
  await putAction(api, 'once', code, { annotations: [{ key: 'retry', value: { maxAttempts: 3, initialMs: 10, maxMs: 10 } }] });
  await putAction(api, 'again', code, { annotations: [{ key: 'retry', value: { maxAttempts: 2, on: ['interrupted'], initialMs: 10, maxMs: 10 } }] });
  await putAction(api, 'plain', code);
  const ids: Record<string, string> = {};
  for (const name of ['once', 'again', 'plain']) {
    const r = await api.api(`/api/v1/namespaces/_/actions/${name}`, { method: 'POST', json: {} });
    assert.equal(r.status, 202);
    ids[name] = ((await r.json()) as { activationId: string }).activationId;
  }
  await waitFor(async () => (Object.values(ids).every((id) => marksOf(marks, id).length === 1) ? true : undefined), 30_000);
  // Long enough for the first live-log flush (100 ms) of the running attempts.
  await new Promise((r) => setTimeout(r, 700));
  await killRunner();
  const live = await revive();

  const once = await waitForRecord(live, ids.once!, 60_000);
  assert.equal(once.statusCode, 3);
  assert.equal(once.response.status, 'whisk internal error');
  assert.deepEqual(once.response.result, { error: 'The activation was interrupted: its node stopped while it ran.' });
  assert.equal(ann(once, 'interrupted'), true);
  assert.equal(ann(once, 'attempts'), 1);
  assert.deepEqual(ann(once, 'attemptHistory').map((h: any) => h.reason), ['interrupted']);
  const plain = await waitForRecord(live, ids.plain!, 60_000);
  assert.equal(plain.statusCode, 3);
  assert.equal(ann(plain, 'interrupted'), true);
  assert.equal(ann(plain, 'attempts'), undefined, 'no policy: the record has no attempt annotations');

  const again = await waitForRecord(live, ids.again!, 60_000);
  assert.equal(again.statusCode, 0);
  assert.deepEqual(again.response.result, { attempt: 2 });
  assert.equal(ann(again, 'attempts'), 2);
  assert.deepEqual(ann(again, 'attemptHistory').map((h: any) => [h.statusCode, h.reason]), [[3, 'interrupted'], [0, 'succeeded']]);
  const text = again.logs.map((l: string) => l.replace(/^\S+\s+(stdout|stderr): /, ''));
  assert.ok(text.includes('--- attempt 1 ---') && text.includes('--- attempt 2 ---'));
  assert.ok(text.includes('started attempt 1'), 'the lines attempt 1 published before the kill are kept');
  assert.ok(text.indexOf('started attempt 2') > text.indexOf('--- attempt 2 ---'));

  // Give a wrong re-run time to happen, then check the marks: `once` and `plain` started once, `again` twice.
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(marksOf(marks, ids.once!), [`${ids.once} 1`]);
  assert.deepEqual(marksOf(marks, ids.plain!), [`${ids.plain} 1`]);
  assert.deepEqual(marksOf(marks, ids.again!), [`${ids.again} 1`, `${ids.again} 2`]);
}

test('kill -9 after running: interrupted and never started again, unless the policy lists interrupted (one node)', async () => {
  let s = await startServer({ env: ENV });
  try {
    await scenario(
      s,
      () => s.kill(),
      async () => (s = await s.restart(ENV)),
    );
  } finally {
    await s.stop();
    s.cleanup();
  }
});

test('kill -9 of the invoker node under an API node on PostgreSQL: the same rule across nodes', async () => {
  const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `flare_ri_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  u.searchParams.set('pool_max', '4');
  const namespace = `fn-ri-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();
  const nodes: TestServer[] = [];
  const start = async (role: 'api' | 'invoker') => {
    const s = await startServer({ namespace, auth, env: ENV, args: ['--store', u.toString(), '--role', role] });
    nodes.push(s);
    return s;
  };
  try {
    const api = await start('api');
    const invoker = await start('invoker');
    await scenario(
      api,
      () => invoker.kill(),
      async () => {
        await start('invoker');
        return api;
      },
    );
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  }
});
