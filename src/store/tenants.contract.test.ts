// Store contract, issue 13 part: per-namespace limits, several keys per namespace, revocation, the change
// notification every node hears, and the Insights rollups. Run against both adapters like store.contract.test.ts.
import { describe, it, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Store } from './store.js';
import type { ActivationRecord } from '../types.js';
import { durationBucket } from '../insights/rollup.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { openPostgresStore } from './postgres/postgres-store.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const tempDirs: string[] = [];
const schemas: string[] = [];
const opened: Store[] = [];

/** Opens a fresh store; `again` opens another store (another "node" or the admin CLI) on the same data. */
const adapters: Array<{ name: string; open(): Promise<{ store: Store; again(): Promise<Store> }> }> = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'flare-tenants-'));
      tempDirs.push(dir);
      const path = join(dir, 'flare.db');
      const o = async () => {
        const s = await openSqliteStore(path);
        opened.push(s);
        return s;
      };
      return { store: await o(), again: o };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `flare_c_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      const u = new URL(PG_URL);
      u.searchParams.set('schema', schema);
      u.searchParams.set('pool_max', '2');
      const o = async () => {
        const s = await openPostgresStore(u.toString());
        opened.push(s);
        return s;
      };
      return { store: await o(), again: o };
    },
  },
];

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
});

after(async () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  if (schemas.length) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await c.end();
  }
});

const ns = (name: string, uuid: string) => ({ name, uuid, keyHash: `hash-${uuid}`, subject: name, created: 1_000 });

/** Resolves with the namespaces reported by onTenantChanged until `until` returns true (or rejects after `ms`). */
function heard(store: Store, until: (seen: string[]) => boolean, ms = 5_000): Promise<string[]> {
  const seen: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no tenant change heard within ${ms} ms (seen: ${seen.join(',')})`));
    }, ms);
    const off = store.onTenantChanged((n) => {
      seen.push(n);
      if (until(seen)) {
        clearTimeout(timer);
        off();
        resolve(seen);
      }
    });
  });
}

for (const adapter of adapters) {
  describe(`Store contract (tenants): ${adapter.name}`, () => {
    it('setNamespaceLimits stores overrides, undefined resets them, an unknown namespace is false', async () => {
      const { store } = await adapter.open();
      assert.equal(await store.createNamespace(ns('a', 'u-a')), true);
      assert.equal((await store.getNamespace('a'))!.limits, undefined);
      assert.equal(await store.setNamespaceLimits('a', { concurrentInvocations: 3, allowedKinds: ['python:3'], storeActivations: false }), true);
      assert.deepEqual((await store.getNamespace('a'))!.limits, { concurrentInvocations: 3, allowedKinds: ['python:3'], storeActivations: false });
      assert.deepEqual((await store.getNamespaceByKey('u-a'))!.limits, { concurrentInvocations: 3, allowedKinds: ['python:3'], storeActivations: false });
      assert.equal(await store.setNamespaceLimits('a', undefined), true);
      assert.equal((await store.getNamespace('a'))!.limits, undefined);
      assert.equal(await store.setNamespaceLimits('nope', { concurrentInvocations: 1 }), false);
    });

    it('keys: create, list (oldest first, no secrets), open the namespace by key, revoke any key including the first', async () => {
      const { store } = await adapter.open();
      await store.createNamespace(ns('a', 'u-a'));
      await store.createNamespace(ns('b', 'u-b'));
      assert.equal(await store.createKey('a', { uuid: 'k2', keyHash: 'h2', created: 2_000 }), true);
      assert.equal(await store.createKey('a', { uuid: 'k3', keyHash: 'h3', created: 3_000 }), true);
      assert.equal(await store.createKey('a', { uuid: 'k2', keyHash: 'hx', created: 4_000 }), false, 'a uuid is unique');
      assert.equal(await store.createKey('a', { uuid: 'u-b', keyHash: 'hx', created: 4_000 }), false, "another namespace's first key uuid is taken");
      assert.equal(await store.createKey('missing', { uuid: 'k9', keyHash: 'h9', created: 4_000 }), false);
      assert.deepEqual(await store.listKeys('a'), [
        { uuid: 'u-a', created: 1_000, first: true },
        { uuid: 'k2', created: 2_000, first: false },
        { uuid: 'k3', created: 3_000, first: false },
      ]);
      const byKey = (await store.getNamespaceByKey('k2'))!;
      assert.equal(byKey.name, 'a');
      assert.equal(byKey.uuid, 'k2');
      assert.equal(byKey.keyHash, 'h2');
      assert.equal((await store.getNamespaceByKey('u-a'))!.keyHash, 'hash-u-a', 'the first key works as before');
      assert.equal(await store.getNamespaceByKey('nope'), undefined);

      assert.equal(await store.revokeKey('b', 'k2'), false, "a key is revoked only through its own namespace");
      assert.equal(await store.revokeKey('a', 'k2'), true);
      assert.equal(await store.revokeKey('a', 'k2'), false);
      assert.equal(await store.getNamespaceByKey('k2'), undefined);
      assert.equal(await store.revokeKey('a', 'u-a'), true, 'the first key can be revoked (rotation)');
      assert.equal(await store.getNamespaceByKey('u-a'), undefined);
      assert.deepEqual((await store.listKeys('a')).map((k) => k.uuid), ['k3']);
      assert.equal((await store.getNamespace('a'))!.name, 'a', 'the namespace stays');
      assert.equal((await store.getNamespaceByKey('k3'))!.name, 'a');

      assert.equal(await store.deleteNamespace('a'), true);
      assert.equal(await store.getNamespaceByKey('k3'), undefined, 'deleting a namespace deletes its keys');
      assert.deepEqual(await store.listKeys('a'), []);
    });

    it('onTenantChanged: heard by another store on the same data (another node, or the admin CLI writing)', async () => {
      const { store, again } = await adapter.open();
      await store.createNamespace(ns('a', 'u-a'));
      const admin = await again();
      const local = heard(store, (s) => s.includes('a') || s.includes('*'));
      const own = heard(admin, (s) => s.includes('a'));
      await admin.setNamespaceLimits('a', { invocationsPerMinute: 5 });
      await local;
      await own;
      const revoked = heard(store, (s) => s.includes('a') || s.includes('*'));
      await admin.createKey('a', { uuid: 'k2', keyHash: 'h2', created: 2_000 });
      await admin.revokeKey('a', 'k2');
      await revoked;
    });

    it('insights: complete() adds each stored record once to the rollups; readInsights sums per interval; sweepInsights drops old rows', async () => {
      const { store } = await adapter.open();
      const base = 1_700_002_800_000; // a multiple of the hour
      const rec = (id: string, name: string, start: number, statusCode: 0 | 1 | 2 | 3, duration: number, cold: boolean): ActivationRecord => ({
        namespace: 'ns', name, version: '0.0.1', subject: 'ns', activationId: id, start, end: start + duration, duration, statusCode,
        response: { status: 'success', statusCode, success: statusCode === 0, result: {} },
        logs: [], annotations: [{ key: 'path', value: `ns/${name}` }, ...(cold ? [{ key: 'initTime', value: 5 }] : [])], publish: false,
      });
      const recs = [
        rec('a1', 'f', base + 1_000, 0, 10, true),
        rec('a2', 'f', base + 2_000, 0, 20, false),
        rec('a3', 'f', base + 61_000, 1, 30, false),
        rec('a4', 'g', base + 62_000, 3, 40, true),
      ];
      await store.complete(recs.slice(0, 2));
      await store.complete(recs.slice(1)); // a2 again: stored once, counted once
      const minute = await store.readInsights({ namespace: 'ns', fn: '', res: 60_000, from: base, to: base + 3_600_000, step: 60_000 });
      assert.deepEqual(minute.rows, [
        { t: base, s: [2, 0, 0, 0], cold: 1, durSum: 30 },
        { t: base + 60_000, s: [0, 1, 0, 1], cold: 1, durSum: 70 },
      ]);
      const b = (ms: number) => durationBucket(ms);
      assert.deepEqual(
        minute.hist.map((h) => [h.t, h.b, h.n]),
        [[base, b(10), 1], [base, b(20), 1], [base + 60_000, b(30), 1], [base + 60_000, b(40), 1]].sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!),
      );
      const f = await store.readInsights({ namespace: 'ns', fn: 'f', res: 3_600_000, from: base, to: base + 3_600_000, step: 3_600_000 });
      assert.deepEqual(f.rows, [{ t: base, s: [2, 1, 0, 0], cold: 1, durSum: 60 }]);
      const grouped = await store.readInsights({ namespace: 'ns', fn: '', res: 60_000, from: base, to: base + 3_600_000, step: 900_000 });
      assert.deepEqual(grouped.rows, [{ t: base, s: [2, 1, 0, 1], cold: 2, durSum: 100 }]);
      assert.deepEqual((await store.readInsights({ namespace: 'other', fn: '', res: 60_000, from: base, to: base + 3_600_000, step: 60_000 })).rows, []);

      // Minute rows before base + 60 s go; hour rows stay (their bound is older).
      let swept = 0;
      for (let n; (n = await store.sweepInsights(base + 60_000, base, 2)) > 0; ) swept += n;
      assert.ok(swept > 0);
      const after = await store.readInsights({ namespace: 'ns', fn: '', res: 60_000, from: base, to: base + 3_600_000, step: 60_000 });
      assert.deepEqual(after.rows.map((r) => r.t), [base + 60_000]);
      assert.equal((await store.readInsights({ namespace: 'ns', fn: '', res: 3_600_000, from: base, to: base + 3_600_000, step: 3_600_000 })).rows[0]!.s[0], 2);
    });
  });
}
