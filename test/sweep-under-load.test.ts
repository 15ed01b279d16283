// The retention sweep under load: a store holding 10,000 expired records and 500 fresh ones is served by a node with
// 1 h retention; its sweeper deletes the expired ones while clients keep invoking. Every invoke is accepted and
// recorded, every expired record goes, every fresh one stays, and the counts agree with the lists all along.
// Runs on the configured store (FLARE_TEST_STORE).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, waitFor } from './helpers/server.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import type { ActivationRecord } from '../src/types.js';

const HOUR = 3_600_000;
const ENV = { FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '1000000', FLARE_LIMIT_CONCURRENT: '1000000', FLARE_RETENTION_HOURS: '1' };

function old(namespace: string, i: number, start: number): ActivationRecord {
  return {
    namespace,
    name: `f${i % 10}`,
    version: '0.0.1',
    subject: 's',
    activationId: randomBytes(16).toString('hex'),
    start,
    end: start + 1,
    duration: 1,
    statusCode: i % 7 === 0 ? 1 : 0,
    response: { status: 'success', statusCode: 0, success: true, result: {} },
    logs: [],
    annotations: [{ key: 'path', value: `${namespace}/f${i % 10}` }],
    publish: false,
  };
}

describe('retention sweep under load', () => {
  it('deletes the expired records while invokes keep being accepted and recorded', async () => {
    const namespace = `sw-${randomUUID()}`;
    const auth = newAuth();
    const dataDir = mkdtempSync(join(tmpdir(), 'flare-test-'));
    const onPg = process.env.FLARE_TEST_STORE === 'postgres';
    let args: string[] = [];
    let schema = '';
    const pgUrl = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    if (onPg) {
      schema = `flare_t_${process.env.FLARE_TEST_RUN_ID ?? 'x'}_${randomBytes(6).toString('hex')}`;
      const u = new URL(pgUrl);
      u.searchParams.set('schema', schema);
      u.searchParams.set('pool_max', '4');
      args = ['--store', u.toString()];
    }
    // Records written through the Store before the node starts: 10,000 expired (2–3 h old), 500 fresh (10 min old).
    const now = Date.now();
    const store = onPg ? await openPostgresStore(args[1]!) : await openSqliteStore(join(dataDir, 'flare.db'));
    const expired = Array.from({ length: 10_000 }, (_, i) => old(namespace, i, now - 3 * HOUR + i * 300));
    const fresh = Array.from({ length: 500 }, (_, i) => old(namespace, i, now - 10 * 60_000 + i));
    for (let i = 0; i < expired.length; i += 1000) await store.complete(expired.slice(i, i + 1000));
    await store.complete(fresh);
    await store.close();

    const s = await startServer({ namespace, auth, dataDir, env: ENV, args });
    try {
      await putAction(s, 'noop', 'function main() { return {} }');
      const count = async (q = '') => (await (await s.api(`/api/v1/namespaces/_/activations?count=true${q}`)).json()).activations as number;
      // Invokes from 4 clients until the expired records are gone (and at least 200 were sent).
      const accepted: string[] = [];
      let swept = false;
      const clients = Array.from({ length: 4 }, async () => {
        while (!swept || accepted.length < 200) {
          const r = await s.api('/api/v1/namespaces/_/actions/noop?blocking=false', { method: 'POST', json: {} });
          assert.equal(r.status, 202, await r.clone().text());
          accepted.push((await r.json()).activationId);
        }
      });
      const upto = `&upto=${now - 2 * HOUR + 60_000}`;
      const watcher = (async () => {
        await waitFor(async () => ((await count(upto)) === 0 ? true : undefined), 180_000, 100);
        swept = true;
      })();
      await Promise.all([...clients, watcher]);
      // Every accepted invocation gets its record; the fresh records all stayed.
      await waitFor(async () => ((await count('&name=noop')) === accepted.length ? true : undefined), 120_000, 200);
      for (const id of accepted.slice(0, 20)) assert.equal((await s.api(`/api/v1/namespaces/_/activations/${id}`)).status, 200);
      assert.equal(await count(`&since=${now - 11 * 60_000}&upto=${now}`), fresh.length, 'fresh records stay');
      assert.equal((await s.api(`/api/v1/namespaces/_/activations/${expired[0]!.activationId}`)).status, 404);
      // Counts equal the lists after the sweep.
      for (const q of ['', '&name=f3', '&statusCode=1', `&since=${now - HOUR}`]) {
        const list = (await (await s.api(`/api/v1/namespaces/_/activations?limit=200${q}`)).json()) as unknown[];
        const total = await count(q);
        if (total <= 200) assert.equal(list.length, total, `count = list (${q})`);
        else assert.equal(list.length, 200);
      }
      assert.equal(await count('&name=f3'), fresh.length / 10);
    } finally {
      await s.stop();
      s.cleanup();
      if (onPg) {
        const db = new pg.Client({ connectionString: pgUrl });
        await db.connect();
        await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await db.end();
      }
    }
  });
});
