// The Store contract, run against both adapters: SQLite (a temp file) and PostgreSQL (a fresh schema per test on the
// machine's server, FLARE_TEST_PG_URL or postgres://postgres@127.0.0.1:5432/test). Every method, real semantics.
import { describe, it, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { IdempotencyKeyRow, Store } from './store.js';
import type { ActionDoc, ActivationCursor, ActivationListFilter, ActivationRecord, Invocation, KeyValue, PackageDoc } from '../types.js';
import { listOrder } from './activation-pages.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { openPostgresStore, PostgresStore } from './postgres/postgres-store.js';
import { asCancelled, isCancelledRecord } from '../cancel/cancelled-record.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Adapter {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty store; `shared` returns more stores on the same data (PostgreSQL only). */
  open(): Promise<{ store: Store; url: string }>;
}

const tempDirs: string[] = [];
const schemas: string[] = [];
const opened: Store[] = [];

const adapters: Adapter[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'flare-contract-'));
      tempDirs.push(dir);
      const path = join(dir, 'flare.db');
      const store = await openSqliteStore(path);
      opened.push(store);
      return { store, url: path };
    },
  },
  {
    name: 'postgres',
    async open() {
      const url = schemaUrl(`flare_c_${randomBytes(6).toString('hex')}`);
      const store = await openPostgresStore(url);
      opened.push(store);
      return { store, url };
    },
  },
];

function schemaUrl(schema: string): string {
  schemas.push(schema);
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  u.searchParams.set('pool_max', '4'); // the server's connections are shared with every other test
  return u.toString();
}

// Each test's stores are closed when it ends (connections are a shared resource); schemas are dropped at the end.
afterEach(async () => {
  const open = opened.splice(0);
  for (const s of open) await s.close().catch(() => undefined);
});

after(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  if (schemas.length) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await c.end();
  }
});

// ---- fixtures ----
let clock = 1_700_000_000_000;
const id = () => randomUUID().replace(/-/g, '');

function action(ns: string, name: string, updated: number): ActionDoc {
  const slash = name.indexOf('/');
  return {
    namespace: slash > 0 ? `${ns}/${name.slice(0, slash)}` : ns,
    name: slash > 0 ? name.slice(slash + 1) : name,
    exec: { kind: 'nodejs:20', binary: false },
    parameters: [{ key: 'p', value: 1 }],
    limits: { timeout: 60000, memory: 256, logs: 10, concurrency: 1 },
    version: '0.0.1',
    publish: false,
    annotations: [{ key: 'exec', value: 'nodejs:20' }],
    updated,
  };
}

function pkgDoc(ns: string, name: string, updated: number): PackageDoc {
  return { namespace: ns, name, binding: {}, parameters: [], version: '0.0.1', publish: false, annotations: [], updated };
}

function invocation(ns: string, extra: Partial<Invocation> = {}): Invocation {
  return {
    activationId: id(),
    namespace: ns,
    subject: 'subj',
    actionNamespace: ns,
    actionName: 'hello',
    params: { name: 'x', nested: { a: [1, 2] } },
    transactionId: id(),
    received: Date.now(),
    blocking: false,
    ...extra,
  };
}

function record(ns: string, name: string, start: number, extra: { annotations?: KeyValue[]; activationId?: string; result?: unknown } = {}): ActivationRecord {
  return {
    namespace: ns,
    name,
    version: '0.0.1',
    subject: 'subj',
    activationId: extra.activationId ?? id(),
    start,
    end: start + 5,
    duration: 5,
    statusCode: 0,
    response: { status: 'success', statusCode: 0, success: true, result: extra.result ?? { ok: true } },
    logs: ['2024-01-01T00:00:00.000Z stdout: hi'],
    annotations: extra.annotations ?? [{ key: 'path', value: `${ns}/${name}` }],
    publish: false,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

for (const adapter of adapters) {
  describe(`Store contract: ${adapter.name}`, () => {
    it('init is idempotent and kind is reported', async () => {
      const { store } = await adapter.open();
      assert.equal(store.kind, adapter.name);
      await store.init();
      await store.init();
      assert.equal(await store.getSetting('nope'), undefined);
    });

    it('settings: putSettingIfAbsent keeps the first value, also under concurrent calls', async () => {
      const { store } = await adapter.open();
      assert.equal(await store.getSetting('k'), undefined);
      assert.equal(await store.putSettingIfAbsent('k', 'first'), 'first');
      assert.equal(await store.putSettingIfAbsent('k', 'second'), 'first');
      assert.equal(await store.getSetting('k'), 'first');
      const values = await Promise.all(Array.from({ length: 12 }, (_, i) => store.putSettingIfAbsent('boot', `v${i}`)));
      assert.equal(new Set(values).size, 1, `all callers see one value, got ${values.join(',')}`);
      assert.equal(await store.getSetting('boot'), values[0]);
      await store.deleteSetting('k');
      assert.equal(await store.getSetting('k'), undefined);
      assert.equal(await store.putSettingIfAbsent('k', 'third'), 'third', 'a deleted key can be set again');
      await store.deleteSetting('never-set');
    });

    it('idempotency keys: committed with the queue row, a live key wins, concurrent duplicates see one, expired keys are taken over and swept', async () => {
      const { store } = await adapter.open();
      const key = (activationId: string, extra: Partial<IdempotencyKeyRow> = {}): IdempotencyKeyRow => ({
        namespace: 'ns', key: 'k1', fingerprint: 'f1', activationId, expires: Date.now() + 60_000, ...extra,
      });
      const first = invocation('ns');
      assert.deepEqual(await store.enqueueWithIdempotencyKey(first, key(first.activationId)), { stored: true });
      assert.equal(await store.countInFlight('ns'), 1, 'the invocation is queued with its key');
      const again = invocation('ns');
      assert.deepEqual(await store.enqueueWithIdempotencyKey(again, key(again.activationId, { fingerprint: 'f2' })), {
        stored: false, activationId: first.activationId, fingerprint: 'f1',
      });
      assert.equal(await store.countInFlight('ns'), 1, 'a duplicate enqueues nothing');
      const other = invocation('ns2');
      assert.deepEqual(await store.enqueueWithIdempotencyKey(other, key(other.activationId, { namespace: 'ns2' })), { stored: true }, 'keys are per namespace');

      const racers = Array.from({ length: 20 }, () => invocation('ns3'));
      const outs = await Promise.all(racers.map((inv) => store.enqueueWithIdempotencyKey(inv, key(inv.activationId, { namespace: 'ns3' }))));
      assert.equal(outs.filter((o) => o.stored).length, 1, 'exactly one racer commits');
      const winner = racers[outs.findIndex((o) => o.stored)]!.activationId;
      for (const o of outs) if (!o.stored) assert.equal(o.activationId, winner);
      assert.equal(await store.countInFlight('ns3'), 1);

      // Trigger fires keep only the key.
      assert.deepEqual(await store.putIdempotencyKey(key('t1', { namespace: 'nt' })), { stored: true });
      assert.deepEqual(await store.putIdempotencyKey(key('t2', { namespace: 'nt' })), { stored: false, activationId: 't1', fingerprint: 'f1' });
      assert.equal(await store.countInFlight('nt'), 0);

      // An expired key no longer protects anything: it is taken over, and swept.
      assert.deepEqual(await store.putIdempotencyKey(key('e1', { namespace: 'ne', expires: Date.now() - 1 })), { stored: true });
      assert.deepEqual(await store.putIdempotencyKey(key('e2', { namespace: 'ne' })), { stored: true }, 'expired key taken over');
      assert.deepEqual(await store.putIdempotencyKey(key('x1', { namespace: 'nx', key: 'a', expires: Date.now() - 1 })), { stored: true });
      assert.deepEqual(await store.putIdempotencyKey(key('x2', { namespace: 'nx', key: 'b', expires: Date.now() - 1 })), { stored: true });
      assert.equal(await store.sweepIdempotencyKeys(Date.now(), 1), 1);
      assert.equal(await store.sweepIdempotencyKeys(Date.now(), 10), 1);
      assert.equal(await store.sweepIdempotencyKeys(Date.now(), 10), 0, 'live keys stay');
      assert.deepEqual(await store.putIdempotencyKey(key('e3', { namespace: 'ne' })), { stored: false, activationId: 'e2', fingerprint: 'f1' });
    });

    it('namespaces: create, unique name and uuid, lookups, list, delete with entities', async () => {
      const { store } = await adapter.open();
      const a = { name: 'ns-a', uuid: randomUUID(), keyHash: 'h'.repeat(64), subject: 's1', created: 1000 };
      const b = { name: 'ns-b', uuid: randomUUID(), keyHash: 'k'.repeat(64), subject: 's2', created: 2000, limits: { concurrentInvocations: 3 } };
      assert.equal(await store.createNamespace(a), true);
      assert.equal(await store.createNamespace(b), true);
      assert.equal(await store.createNamespace({ ...a, uuid: randomUUID() }), false, 'duplicate name');
      assert.equal(await store.createNamespace({ ...a, name: 'ns-c' }), false, 'duplicate uuid');
      assert.deepEqual(await store.getNamespace('ns-a'), a);
      assert.deepEqual(await store.getNamespaceByUuid(b.uuid), b);
      assert.equal(await store.getNamespace('ns-c'), undefined);
      assert.equal(await store.getNamespaceByUuid(randomUUID()), undefined);
      assert.deepEqual((await store.listNamespaces()).map((n) => n.name), ['ns-a', 'ns-b']);

      await store.putEntity('ns-a', 'action', 'f', action('ns-a', 'f', 1), 'code');
      await store.putEntity('ns-b', 'action', 'g', action('ns-b', 'g', 1), 'code');
      assert.equal(await store.deleteNamespace('ns-a'), true);
      assert.equal(await store.deleteNamespace('ns-a'), false);
      assert.equal(await store.getNamespace('ns-a'), undefined);
      assert.equal(await store.getEntity('ns-a', 'action', 'f', false), undefined, 'entities go with the namespace');
      assert.ok(await store.getEntity('ns-b', 'action', 'g', false), 'other namespaces keep theirs');
    });

    it('entities: the entity epoch grows with each committed action/package write, is read with the doc, not with other kinds', async () => {
      const { store } = await adapter.open();
      const e0 = await store.entityEpoch();
      const doc = { name: 'a', updated: 1 } as unknown as ActionDoc;
      assert.equal(await store.putEntity('ns', 'action', 'a', doc, 'code', { expectUpdated: null }), 'ok');
      const e1 = await store.entityEpoch();
      assert.ok(e1 > e0, 'insert bumps');
      assert.equal((await store.getEntity('ns', 'action', 'a', false))!.epoch, e1, 'read with the doc');
      assert.equal(await store.putEntity('ns', 'action', 'a', doc, 'code', { expectUpdated: null }), 'conflict');
      assert.equal(await store.putEntity('ns', 'action', 'a', { ...doc, updated: 3 }, 'code', { expectUpdated: 2 }), 'conflict');
      assert.equal(await store.entityEpoch(), e1, 'a write that changed nothing does not bump');
      assert.equal(await store.putEntity('ns', 'action', 'a', { ...doc, updated: 2 }, 'code', { expectUpdated: 1 }), 'ok');
      const e2 = await store.entityEpoch();
      assert.ok(e2 > e1, 'update bumps');
      await store.putEntity('ns', 'package', 'p', { name: 'p', updated: 1 } as unknown as PackageDoc, undefined);
      const e3 = await store.entityEpoch();
      assert.ok(e3 > e2, 'package upsert bumps');
      await store.putEntity('ns', 'trigger', 't', { name: 't', updated: 1 }, undefined);
      assert.equal(await store.entityEpoch(), e3, 'other kinds do not bump');
      assert.equal(await store.deleteEntity('ns', 'action', 'a'), true);
      const e4 = await store.entityEpoch();
      assert.ok(e4 > e3, 'delete bumps');
      assert.equal(await store.deleteEntity('ns', 'action', 'a'), false);
      assert.equal(await store.entityEpoch(), e4);
      await store.createNamespace({ name: 'ns', uuid: randomUUID(), keyHash: 'h', subject: 's', created: 1 });
      assert.equal(await store.deleteNamespace('ns'), true);
      assert.ok((await store.entityEpoch()) > e4, 'deleting a namespace with entities bumps');
    });

    it('entities: code stored apart, optimistic concurrency on putEntity, delete', async () => {
      const { store } = await adapter.open();
      const doc = action('ns', 'hello', 100);
      assert.equal(await store.putEntity('ns', 'action', 'hello', doc, 'function main(){}', { expectUpdated: null }), 'ok');
      assert.equal(await store.putEntity('ns', 'action', 'hello', action('ns', 'hello', 101), 'x', { expectUpdated: null }), 'conflict', 'must not exist');

      const noCode = await store.getEntity<ActionDoc>('ns', 'action', 'hello', false);
      assert.equal(noCode?.updated, 100);
      assert.deepEqual(noCode?.doc, doc);
      assert.equal(noCode?.doc.exec.code, undefined, 'no code unless asked');
      const withCode = await store.getEntity<ActionDoc>('ns', 'action', 'hello', true);
      assert.equal(withCode?.doc.exec.code, 'function main(){}');
      assert.equal(withCode?.doc.exec.kind, 'nodejs:20');

      // optimistic lock: only the writer holding the current `updated` wins
      const v2 = { ...action('ns', 'hello', 200), version: '0.0.2' };
      const v2b = { ...action('ns', 'hello', 201), version: '0.0.3' };
      const [r1, r2] = await Promise.all([
        store.putEntity('ns', 'action', 'hello', v2, 'two', { expectUpdated: 100 }),
        store.putEntity('ns', 'action', 'hello', v2b, 'three', { expectUpdated: 100 }),
      ]);
      assert.deepEqual([r1, r2].sort(), ['conflict', 'ok']);
      const winner = r1 === 'ok' ? v2 : v2b;
      const now = await store.getEntity<ActionDoc>('ns', 'action', 'hello', true);
      assert.equal(now?.updated, winner.updated);
      assert.equal(now?.doc.version, winner.version);
      assert.equal(now?.doc.exec.code, r1 === 'ok' ? 'two' : 'three');
      assert.equal(await store.putEntity('ns', 'action', 'hello', action('ns', 'hello', 300), 'x', { expectUpdated: 100 }), 'conflict', 'stale');
      assert.equal(await store.putEntity('ns', 'action', 'missing', action('ns', 'missing', 300), 'x', { expectUpdated: 5 }), 'conflict', 'missing');
      assert.equal(await store.getEntity('ns', 'action', 'missing', false), undefined);

      // unconditional write replaces
      assert.equal(await store.putEntity('ns', 'action', 'hello', action('ns', 'hello', 400), 'four'), 'ok');
      assert.equal((await store.getEntity<ActionDoc>('ns', 'action', 'hello', true))?.doc.exec.code, 'four');
      assert.equal((await store.getEntity('ns', 'action', 'hello', true))?.updated, 400);

      // kinds are separate name spaces
      assert.equal(await store.getEntity('ns', 'package', 'hello', false), undefined);
      assert.equal(await store.putEntity('ns', 'package', 'hello', pkgDoc('ns', 'hello', 5), undefined), 'ok');
      assert.deepEqual((await store.getEntity<PackageDoc>('ns', 'package', 'hello', true))?.doc, pkgDoc('ns', 'hello', 5));

      assert.equal(await store.deleteEntity('ns', 'action', 'hello'), true);
      assert.equal(await store.deleteEntity('ns', 'action', 'hello'), false);
      assert.equal(await store.getEntity('ns', 'action', 'hello', true), undefined);
      assert.ok(await store.getEntity('ns', 'package', 'hello', false), 'the package of the same name stays');
    });

    it('entities: list newest first, paging, package filter, counts', async () => {
      const { store } = await adapter.open();
      const names = ['a', 'b', 'p/c', 'p/d', 'q/e', 'f'];
      for (let i = 0; i < names.length; i++) {
        await store.putEntity('ns', 'action', names[i]!, action('ns', names[i]!, 1000 + i), `code-${i}`);
      }
      await store.putEntity('other', 'action', 'z', action('other', 'z', 5000), 'c');
      await store.putEntity('ns', 'package', 'p', pkgDoc('ns', 'p', 10), undefined);
      const key = (d: ActionDoc) => (d.namespace.includes('/') ? `${d.namespace.split('/')[1]}/${d.name}` : d.name);

      const all = await store.listEntities<ActionDoc>({ namespace: 'ns', kind: 'action', limit: 30, skip: 0 });
      assert.deepEqual(all.map(key), ['f', 'q/e', 'p/d', 'p/c', 'b', 'a']);
      assert.ok(all.every((d) => d.exec.code === undefined), 'lists never carry code');
      const page = await store.listEntities<ActionDoc>({ namespace: 'ns', kind: 'action', limit: 2, skip: 2 });
      assert.deepEqual(page.map(key), ['p/d', 'p/c']);
      const tail = await store.listEntities<ActionDoc>({ namespace: 'ns', kind: 'action', limit: 30, skip: 5 });
      assert.deepEqual(tail.map(key), ['a']);
      const inP = await store.listEntities<ActionDoc>({ namespace: 'ns', kind: 'action', pkg: 'p', limit: 30, skip: 0 });
      assert.deepEqual(inP.map(key), ['p/d', 'p/c']);
      const loose = await store.listEntities<ActionDoc>({ namespace: 'ns', kind: 'action', pkg: '', limit: 30, skip: 0 });
      assert.deepEqual(loose.map(key), ['f', 'b', 'a']);
      const pkgs = await store.listEntities<PackageDoc>({ namespace: 'ns', kind: 'package', limit: 30, skip: 0 });
      assert.deepEqual(pkgs.map((p) => p.name), ['p']);

      assert.equal(await store.countEntities({ namespace: 'ns', kind: 'action' }), 6);
      assert.equal(await store.countEntities({ namespace: 'ns', kind: 'action', pkg: 'p' }), 2);
      assert.equal(await store.countEntities({ namespace: 'ns', kind: 'action', pkg: '' }), 3);
      assert.equal(await store.countEntities({ namespace: 'ns', kind: 'package' }), 1);
      assert.equal(await store.countEntities({ namespace: 'nobody', kind: 'action' }), 0);
    });

    it('queue: enqueue, claim oldest first with a lease, in-flight counts, payload round trip', async () => {
      const { store } = await adapter.open();
      const invs = Array.from({ length: 5 }, (_, i) => invocation(i < 3 ? 'ns1' : 'ns2', { blocking: i === 0, annotations: [{ key: 'binding', value: 'x/y' }] }));
      for (const inv of invs) await store.enqueue(inv);
      assert.equal(await store.countInFlight('ns1'), 3);
      assert.equal(await store.countInFlight('ns2'), 2);
      assert.equal(await store.countInFlight('ns3'), 0);
      if (store instanceof PostgresStore) {
        // the optional cap (proposed contract addition): counting may stop at atMost
        assert.equal(await store.countInFlight('ns1', 2), 2);
        assert.equal(await store.countInFlight('ns1', 10), 3);
        assert.equal(await store.countInFlight('ns3', 10), 0);
      }
      await assert.rejects(store.enqueue(invs[0]!), 'an activation id is queued once');

      // fair across namespaces: each namespace's oldest first (ns1's and ns2's), oldest first within a namespace
      const first = await store.claim('node-a', 2, 10_000);
      assert.deepEqual(first.map((c) => c.activationId), [invs[0]!.activationId, invs[3]!.activationId]);
      const { state, attempts, ...rest } = first[0]!;
      assert.deepEqual(rest, invs[0]);
      assert.equal(state, 'running');
      assert.equal(attempts, 1);
      const next = await store.claim('node-b', 10, 10_000);
      assert.deepEqual(next.map((c) => c.activationId), [invs[1]!, invs[2]!, invs[4]!].map((i) => i.activationId));
      assert.deepEqual(await store.claim('node-b', 10, 10_000), [], 'nothing left to claim');
      assert.deepEqual(await store.claim('node-b', 0, 10_000), []);
      assert.equal(await store.countInFlight('ns1'), 3, 'claimed work is still in flight');
      assert.deepEqual(await store.takeExpired('node-c', 10_000, 10), [], 'live leases are not taken');
    });

    it('queue: claiming is fair across namespaces (a deep backlog never holds back another namespace)', async () => {
      const { store } = await adapter.open();
      const backlog = Array.from({ length: 300 }, () => invocation('flood'));
      await Promise.all(backlog.map((i) => store.enqueue(i)));
      const lone = invocation('quiet');
      await store.enqueue(lone);
      const [a1, a2] = [invocation('also'), invocation('also')];
      await store.enqueue(a1);
      await store.enqueue(a2);
      const got = (await store.claim('n', 1, 10_000)).map((c) => c.activationId);
      assert.deepEqual(got, [backlog[0]!.activationId], 'round one, oldest head first');
      const next = (await store.claim('n', 3, 10_000)).map((c) => c.activationId);
      assert.deepEqual(new Set(next), new Set([lone.activationId, a1.activationId, backlog[1]!.activationId]), 'every namespace before any second');
      const third = (await store.claim('n', 2, 10_000)).map((c) => c.activationId);
      assert.deepEqual(third, [backlog[2]!.activationId, a2.activationId].sort((x, y) => (backlog.some((b) => b.activationId === x) ? -1 : 1)));
      // one namespace left: oldest first, a whole batch
      const rest = (await store.claim('n', 50, 10_000)).map((c) => c.activationId);
      assert.deepEqual(rest, backlog.slice(3, 53).map((b) => b.activationId));
    });

    it('queue: many concurrent enqueues all land; a duplicate among them is refused alone', async () => {
      const { store } = await adapter.open();
      const invs = Array.from({ length: 60 }, () => invocation('ns'));
      const dup = { ...invs[10]!, params: { again: true } };
      const results = await Promise.allSettled([...invs.map((i) => store.enqueue(i)), store.enqueue(dup)]);
      assert.equal(results.filter((r) => r.status === 'rejected').length, 1, 'exactly the duplicate is refused');
      assert.equal(await store.countInFlight('ns'), 60);
      const claimed = await store.claim('n', 100, 10_000);
      assert.deepEqual(new Set(claimed.map((c) => c.activationId)), new Set(invs.map((i) => i.activationId)));
    });

    it('queue: two owners claiming at once never get the same invocation', async () => {
      const { store, url } = await adapter.open();
      // On PostgreSQL the two owners use separate stores (separate pools), like two invoker nodes.
      const other = adapter.name === 'postgres' ? await openPostgresStore(url) : store;
      if (other !== store) opened.push(other);
      const ids = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const inv = invocation('ns');
        ids.add(inv.activationId);
        await store.enqueue(inv);
      }
      const got: Record<string, string[]> = { a: [], b: [] };
      const worker = async (s: Store, owner: 'a' | 'b') => {
        for (;;) {
          const batch = await s.claim(owner, 7, 30_000);
          if (batch.length === 0) return;
          got[owner]!.push(...batch.map((c) => c.activationId));
        }
      };
      await Promise.all([worker(store, 'a'), worker(other, 'b'), worker(store, 'a'), worker(other, 'b')]);
      const all = [...got.a!, ...got.b!];
      assert.equal(all.length, 200, 'every invocation claimed');
      assert.equal(new Set(all).size, 200, 'no invocation claimed twice');
      assert.deepEqual(new Set(all), ids);
      if (adapter.name === 'postgres') assert.ok(got.a!.length > 0 && got.b!.length > 0, 'both nodes got work');
    });

    it('queue: enqueue with a claim commits the invocation already running, owned and leased', async () => {
      const { store } = await adapter.open();
      assert.equal(store.supportsClaimOnEnqueue, true);
      let wakes = 0;
      store.onEnqueued(() => wakes++);
      const mine = invocation('ns');
      const queued = invocation('ns');
      await store.enqueue(mine, { owner: 'local', leaseMs: 200 });
      await sleep(80);
      assert.equal(wakes, 0, 'work taken at commit wakes no invoker');
      await store.enqueue(queued);
      assert.equal(await store.countInFlight('ns'), 2);
      const others = await store.claim('other', 10, 10_000);
      assert.deepEqual(others.map((c) => c.activationId), [queued.activationId], 'the claimed one is not claimable');
      await sleep(300); // 'local' never renews: its lease runs out like any claimed invocation's
      const taken = await store.takeExpired('rescuer', 10_000, 10);
      assert.deepEqual(taken.map((c) => c.activationId), [mine.activationId]);
      assert.equal(taken[0]!.state, 'running');
      assert.equal(taken[0]!.attempts, 1);
      await assert.rejects(store.enqueue(mine, { owner: 'local', leaseMs: 200 }), 'an id is accepted once');
    });

    it('queue: renewLeases keeps work; an expired lease is taken over exactly once', async () => {
      const { store } = await adapter.open();
      const kept = invocation('ns');
      const lost = invocation('ns');
      await store.enqueue(kept);
      await store.enqueue(lost);
      assert.equal((await store.claim('alive', 1, 300)).length, 1);
      assert.equal((await store.claim('dead', 1, 300)).length, 1);
      await sleep(150);
      await store.renewLeases('alive', 5_000);
      await sleep(300); // 'dead' never renewed: its lease is over, 'alive' renewed in time
      const [t1, t2] = await Promise.all([store.takeExpired('rescuer-1', 5_000, 10), store.takeExpired('rescuer-2', 5_000, 10)]);
      const taken = [...t1, ...t2];
      assert.equal(taken.length, 1, 'exactly one taker gets it');
      assert.equal(taken[0]!.activationId, lost.activationId);
      assert.equal(taken[0]!.state, 'running', 'it had started: resolve as interrupted, never re-run');
      assert.equal(taken[0]!.attempts, 1);
      assert.deepEqual(await store.takeExpired('rescuer-3', 5_000, 10), [], 'the taker holds a fresh lease');
      assert.deepEqual(await store.claim('other', 10, 5_000), [], 'running work is never claimed again');
      // the rescuer's lease is its own: renewing as the old owner does not steal it back
      await store.renewLeases('dead', 60_000);
      assert.equal(await store.countInFlight('ns'), 2);
      assert.deepEqual(await store.takeExpired('rescuer-3', 5_000, 0), []);
    });

    it('admission: enqueueWithinLimits admits up to the concurrency limit, counts plain enqueues, frees on complete', async () => {
      const { store } = await adapter.open();
      const limits = { concurrent: 3, perMinute: 1000 };
      const first = Array.from({ length: 3 }, () => invocation('adm'));
      for (const inv of first) assert.deepEqual(await store.enqueueWithinLimits(inv, limits), { admitted: true });
      const over = invocation('adm');
      assert.deepEqual(await store.enqueueWithinLimits(over, limits), { admitted: false, limit: 'concurrent', count: 4, allowed: 3 });
      assert.equal(await store.getInFlight('adm', over.activationId), undefined, 'a refusal writes nothing');
      assert.equal(await store.countInFlight('adm'), 3);
      assert.deepEqual(await store.enqueueWithinLimits(invocation('other'), limits), { admitted: true }, 'limits are per namespace');
      // claimed work is still in flight; completing frees a place
      await store.claim('n', 1, 10_000);
      assert.equal((await store.enqueueWithinLimits(invocation('adm'), limits)).admitted, false);
      await store.complete([record('adm', 'hello', ++clock, { activationId: first[0]!.activationId })]);
      assert.deepEqual(await store.enqueueWithinLimits(invocation('adm'), limits), { admitted: true });
      // a plain enqueue (a sequence component) is never refused but takes a place
      await store.complete([record('adm', 'hello', ++clock, { activationId: first[1]!.activationId })]);
      await store.enqueue(invocation('adm'));
      assert.deepEqual(await store.enqueueWithinLimits(invocation('adm'), limits), { admitted: false, limit: 'concurrent', count: 4, allowed: 3 });
      // claimed on enqueue counts the same
      await store.complete([record('adm', 'hello', ++clock, { activationId: first[2]!.activationId })]);
      const local = invocation('adm');
      assert.deepEqual(await store.enqueueWithinLimits(local, limits, { owner: 'local', leaseMs: 10_000 }), { admitted: true });
      assert.equal((await store.enqueueWithinLimits(invocation('adm'), limits)).admitted, false);
      assert.equal(await store.countInFlight('adm'), 3);
      // an id already queued is refused as by enqueue, and takes no place
      await assert.rejects(store.enqueueWithinLimits(local, { concurrent: 100, perMinute: 1000 }));
      assert.equal(await store.countInFlight('adm'), 3);
    });

    it('admission: concurrent enqueueWithinLimits never admit past either limit; refusals name the true counts', async () => {
      const { store } = await adapter.open();
      const outs = await Promise.all(Array.from({ length: 60 }, () => store.enqueueWithinLimits(invocation('c'), { concurrent: 10, perMinute: 1000 })));
      assert.equal(outs.filter((o) => o.admitted).length, 10);
      assert.equal(await store.countInFlight('c'), 10);
      for (const o of outs) if (!o.admitted) assert.deepEqual(o, { admitted: false, limit: 'concurrent', count: 11, allowed: 10 });
      // per minute: completions do not give places back within the window
      const perMinute = { concurrent: 1000, perMinute: 7 };
      const m = await Promise.all(Array.from({ length: 20 }, () => store.enqueueWithinLimits(invocation('m'), perMinute)));
      assert.equal(m.filter((o) => o.admitted).length, 7);
      for (const o of m) if (!o.admitted) assert.deepEqual(o, { admitted: false, limit: 'perMinute', count: 8, allowed: 7 });
      const running = await store.claim('n', 100, 10_000);
      await store.complete(running.filter((r) => r.namespace === 'm').map((r) => record('m', 'hello', ++clock, { activationId: r.activationId })));
      assert.equal(await store.countInFlight('m'), 0);
      assert.deepEqual(await store.enqueueWithinLimits(invocation('m'), perMinute), { admitted: false, limit: 'perMinute', count: 8, allowed: 7 });
    });

    it('admission: an idempotent enqueue over the limit writes neither the key nor the invocation', async () => {
      const { store } = await adapter.open();
      const limits = { concurrent: 1, perMinute: 1000 };
      const busy = invocation('ik');
      assert.deepEqual(await store.enqueueWithinLimits(busy, limits), { admitted: true });
      const inv = invocation('ik');
      const key = { namespace: 'ik', key: 'k1', fingerprint: 'f', activationId: inv.activationId, expires: Date.now() + 60_000 };
      assert.deepEqual(await store.enqueueWithIdempotencyKey(inv, key, limits), { stored: false, refused: { limit: 'concurrent', count: 2, allowed: 1 } });
      assert.equal(await store.countInFlight('ik'), 1);
      await store.complete([record('ik', 'hello', ++clock, { activationId: busy.activationId })]);
      assert.deepEqual(await store.enqueueWithIdempotencyKey(inv, key, limits), { stored: true }, 'the key was free');
      assert.equal(await store.countInFlight('ik'), 1);
    });

    it('queue: takeExpired never takes the caller\'s own expired leases (a late renewal is not a death)', async () => {
      const { store } = await adapter.open();
      const inv = invocation('ns');
      await store.enqueue(inv);
      assert.equal((await store.claim('slow', 1, 100)).length, 1);
      await sleep(250);
      assert.deepEqual(await store.takeExpired('slow', 5_000, 10), [], 'its own work stays its own');
      await store.renewLeases('slow', 5_000);
      assert.deepEqual(await store.takeExpired('other', 5_000, 10), [], 'renewed again: not taken by another node either');
      await store.complete([record('ns', 'hello', ++clock, { activationId: inv.activationId })]);
      assert.equal(await store.countInFlight('ns'), 0);
    });

    it('queue: countQueued counts the unclaimed invocations of every namespace', async () => {
      const { store } = await adapter.open();
      const before = await store.countQueued();
      await store.enqueue(invocation('ns-q1'));
      await store.enqueue(invocation('ns-q2'));
      await store.enqueue(invocation('ns-q2'));
      assert.equal(await store.countQueued(), before + 3);
      const claimed = await store.claim('counter', 1, 10_000);
      assert.equal(claimed.length, 1);
      assert.equal(await store.countQueued(), before + 2, 'claimed work is running, not queued');
    });

    it('queue: complete removes from the queue, stores the record, is idempotent', async () => {
      const { store } = await adapter.open();
      const inv = invocation('ns');
      await store.enqueue(inv);
      await store.claim('n', 1, 10_000);
      const rec = record('ns', 'hello', ++clock, { activationId: inv.activationId, result: { v: 1 } });
      await store.complete([rec]);
      assert.equal(await store.countInFlight('ns'), 0);
      assert.deepEqual(await store.getActivation('ns', inv.activationId), rec);
      assert.equal(await store.getActivation('other-ns', inv.activationId), undefined, 'records are per namespace');
      // a second completion (e.g. a slow node after a takeover) changes nothing
      await store.complete([{ ...rec, response: { ...rec.response, result: { v: 2 } } }]);
      assert.deepEqual((await store.getActivation('ns', inv.activationId))?.response.result, { v: 1 });
      assert.equal(await store.countActivations({ namespace: 'ns' }), 1);
      assert.deepEqual(await store.takeExpired('x', 10_000, 10), []);
      assert.deepEqual(await store.claim('x', 10, 10_000), []);
      // completing a batch: queued (never claimed) items leave the queue too
      const batch = [invocation('ns'), invocation('ns'), invocation('ns')];
      for (const b of batch) await store.enqueue(b);
      await store.complete(batch.map((b) => record('ns', 'hello', ++clock, { activationId: b.activationId })));
      assert.equal(await store.countInFlight('ns'), 0);
      assert.equal(await store.countActivations({ namespace: 'ns' }), 4);
      await store.complete([]);
    });

    it('cancel: cancelInFlight is a compare-and-set on the queue row (queued, running, cancelling, gone)', async () => {
      const { store } = await adapter.open();
      const heard: Array<[string, string]> = [];
      store.onCancelRequested((id, c) => heard.push([id, c.by]));
      const queued = invocation('cx', { received: 1_000 });
      const running = invocation('cx');
      await store.enqueue(running);
      assert.equal((await store.claim('node-a', 1, 10_000)).length, 1);
      await store.enqueue(queued);
      const c1 = { requestedAt: Date.now(), by: 'alice', reason: 'wrong input' };
      assert.equal(await store.cancelInFlight('other', queued.activationId, c1, 5_000), undefined, 'other namespace');
      assert.equal(await store.cancelInFlight('cx', id(), c1, 5_000), undefined, 'unknown');
      const q = await store.cancelInFlight('cx', queued.activationId, c1, 5_000);
      assert.equal(q?.previous, 'queued');
      assert.equal(q?.invocation.activationId, queued.activationId);
      assert.deepEqual(q?.invocation.params, queued.params);
      assert.deepEqual(await store.claim('node-b', 10, 10_000), [], 'a cancelled queued row is never claimed');
      const e = await store.getInFlight('cx', queued.activationId);
      assert.equal(e?.state, 'cancelling');
      assert.deepEqual(e?.cancel, c1);
      assert.equal(e?.start, undefined, 'it never started');
      // running: moved to cancelling, its owner is told (in-process and, on PostgreSQL, by NOTIFY)
      const r = await store.cancelInFlight('cx', running.activationId, { requestedAt: Date.now(), by: 'bob' }, 5_000);
      assert.equal(r?.previous, 'running');
      await until('owner told', () => heard.some(([i]) => i === running.activationId));
      assert.equal(heard.filter(([i]) => i === queued.activationId).length, 0, 'a queued cancel has no one to tell');
      // cancelling: nothing changes, the first cancel stays
      const again = await store.cancelInFlight('cx', queued.activationId, { requestedAt: Date.now(), by: 'carol' }, 5_000);
      assert.equal(again?.previous, 'cancelling');
      assert.deepEqual(again?.cancel, c1);
      assert.deepEqual((await store.listInFlight({ namespace: 'cx', states: ['cancelling'], limit: 10, skip: 0 })).map((x) => x.activationId).sort(), [queued.activationId, running.activationId].sort());
      assert.equal((await store.listInFlight({ namespace: 'cx', states: ['queued', 'running'], limit: 10, skip: 0 })).length, 0);
      // lease renewal covers cancelling rows of the owner
      await store.renewLeases('node-a', 60_000);
      assert.equal(await store.countInFlight('cx'), 2, 'still in flight until the record');
      // finished: the row is gone
      await store.complete([asCancelled(record('cx', 'hello', ++clock, { activationId: queued.activationId }), c1)]);
      assert.equal(await store.cancelInFlight('cx', queued.activationId, c1, 5_000), undefined);
    });

    it('cancel: a completion that lands after the cancel is stored cancelled; exactly one record in a race', async () => {
      const { store } = await adapter.open();
      const cancel = { requestedAt: Date.now(), by: 'alice' };
      // completion after the cancel: the result is discarded, the record is the cancelled one (logs kept)
      const late = invocation('cr');
      await store.enqueue(late);
      await store.claim('n', 1, 10_000);
      await store.cancelInFlight('cr', late.activationId, cancel, 5_000);
      const done: Array<[string, ActivationRecord | undefined]> = [];
      store.onCompleted((i, rec) => done.push([i, rec]));
      await store.complete([record('cr', 'hello', ++clock, { activationId: late.activationId, result: { v: 'late' } })]);
      const stored = (await store.getActivation('cr', late.activationId))!;
      assert.ok(isCancelledRecord(stored), JSON.stringify(stored));
      assert.equal(stored.statusCode, 2);
      assert.deepEqual(stored.response.result, { error: 'The activation was cancelled.' });
      assert.equal(stored.response.status, 'action developer error');
      assert.deepEqual(stored.logs, ['2024-01-01T00:00:00.000Z stdout: hi']);
      assert.equal(await store.getInFlight('cr', late.activationId), undefined);
      await until('completion announced', () => done.some(([i]) => i === late.activationId));
      // a second (cancelled) record changes nothing
      await store.complete([asCancelled(record('cr', 'hello', ++clock, { activationId: late.activationId, result: { v: 'x' } }), { ...cancel, by: 'x' })]);
      assert.deepEqual(await store.getActivation('cr', late.activationId), stored);
      // completion before the cancel: the cancel finds nothing
      const early = invocation('cr');
      await store.enqueue(early);
      await store.claim('n', 1, 10_000);
      await store.complete([record('cr', 'hello', ++clock, { activationId: early.activationId })]);
      assert.equal(await store.cancelInFlight('cr', early.activationId, cancel, 5_000), undefined);
      assert.equal((await store.getActivation('cr', early.activationId))?.statusCode, 0);
      // races: cancel and completion at once, many times: one record each, and it agrees with the cancel's answer
      for (let k = 0; k < 20; k++) {
        const inv = invocation('cr');
        await store.enqueue(inv);
        await store.claim('n', 1, 10_000);
        const [outcome] = await Promise.all([
          store.cancelInFlight('cr', inv.activationId, cancel, 5_000),
          store.complete([record('cr', 'hello', ++clock, { activationId: inv.activationId })]),
        ]);
        const rec = (await store.getActivation('cr', inv.activationId))!;
        assert.ok(rec, 'one record');
        assert.equal(isCancelledRecord(rec), outcome !== undefined, `cancel ${outcome ? 'won' : 'lost'}; record ${JSON.stringify(rec.response)}`);
        assert.equal(await store.getInFlight('cr', inv.activationId), undefined);
      }
      assert.equal(await store.countInFlight('cr'), 0);
    });

    it('cancel: a dead node\'s cancelling rows are taken over with their cancel (they end cancelled, never re-run)', async () => {
      const { store } = await adapter.open();
      const running = invocation('cd');
      const queued = invocation('cd');
      await store.enqueue(running);
      await store.claim('dead', 1, 200);
      await store.enqueue(queued);
      const cancel = { requestedAt: Date.now(), by: 'alice', reason: 'stop' };
      await store.cancelInFlight('cd', running.activationId, cancel, 200);
      await store.cancelInFlight('cd', queued.activationId, cancel, 200);
      assert.deepEqual(await store.takeExpired('rescuer', 5_000, 10), [], 'leases still valid');
      await sleep(400);
      const taken = await store.takeExpired('rescuer', 5_000, 10);
      assert.deepEqual(taken.map((t) => t.activationId).sort(), [running.activationId, queued.activationId].sort());
      for (const t of taken) {
        assert.equal(t.state, 'cancelling');
        assert.deepEqual(t.cancel, cancel);
      }
      assert.deepEqual(await store.takeExpired('rescuer-2', 5_000, 10), [], 'exactly once');
      assert.deepEqual(await store.claim('x', 10, 5_000), [], 'never claimed again');
    });

    it('activations: list order, paging, since/upto inclusive, name filter keys, summaries, counts', async () => {
      const { store } = await adapter.open();
      const t = 1_800_000_000_000;
      const recs = [
        record('ns', 'hello', t + 1), // "hello"
        record('ns', 'sample/hello', t + 2, { annotations: [{ key: 'path', value: 'ns/sample/hello' }] }), // "sample/hello"
        record('ns', 'bye', t + 3), // "bye"
        // through a binding "mybind" of package sample: key "mybind/hello"
        record('ns', 'sample/hello', t + 4, { annotations: [{ key: 'path', value: 'owner/sample/hello' }, { key: 'binding', value: 'ns/mybind' }] }),
        record('ns', 'hello', t + 5),
        record('ns', 'samplex', t + 6), // must not match the package filter "sample"
        record('other', 'hello', t + 7),
      ];
      await store.complete(recs);
      const ids = (xs: { activationId: string }[]) => xs.map((x) => x.activationId);
      const by = (...i: number[]) => i.map((n) => recs[n]!.activationId);

      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', limit: 30, skip: 0 }, false)), by(5, 4, 3, 2, 1, 0));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', limit: 2, skip: 1 }, false)), by(4, 3));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', limit: 30, skip: 6 }, false)), []);
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', since: t + 2, upto: t + 4, limit: 30, skip: 0 }, false)), by(3, 2, 1));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', since: t + 5, limit: 30, skip: 0 }, false)), by(5, 4));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', upto: t + 1, limit: 30, skip: 0 }, false)), by(0));
      // name filter: "hello" = the unpackaged function plus functions of a package named hello (none here)
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', name: 'hello', limit: 30, skip: 0 }, false)), by(4, 0));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', name: 'sample/hello', limit: 30, skip: 0 }, false)), by(1));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', name: 'mybind/hello', limit: 30, skip: 0 }, false)), by(3));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', name: 'sample', limit: 30, skip: 0 }, false)), by(1), 'package filter');
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', name: 'mybind', limit: 30, skip: 0 }, false)), by(3));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', name: 'nothing', limit: 30, skip: 0 }, false)), []);
      assert.deepEqual(ids(await store.listActivations({ namespace: 'ns', name: 'hello', since: t + 2, limit: 30, skip: 0 }, false)), by(4));

      // a package name that is also a function name: both, merged in start order, paged across the two
      const mixed = [
        record('mx', 'tools', t + 10),
        record('mx', 'tools/a', t + 11, { annotations: [{ key: 'path', value: 'mx/tools/a' }] }),
        record('mx', 'tools', t + 12),
        record('mx', 'tools/b', t + 13, { annotations: [{ key: 'path', value: 'mx/tools/b' }] }),
        record('mx', 'toolsa', t + 14),
        record('mx', 'tool/c', t + 15, { annotations: [{ key: 'path', value: 'mx/tool/c' }] }),
      ];
      await store.complete(mixed);
      const mx = (...i: number[]) => i.map((n) => mixed[n]!.activationId);
      assert.deepEqual(ids(await store.listActivations({ namespace: 'mx', name: 'tools', limit: 30, skip: 0 }, false)), mx(3, 2, 1, 0));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'mx', name: 'tools', limit: 2, skip: 1 }, false)), mx(2, 1));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'mx', name: 'tools', limit: 1, skip: 3 }, false)), mx(0));
      assert.deepEqual(ids(await store.listActivations({ namespace: 'mx', name: 'tools', since: t + 11, upto: t + 12, limit: 30, skip: 0 }, true)), mx(2, 1));
      assert.equal(await store.countActivations({ namespace: 'mx', name: 'tools' }), 4);
      assert.equal(await store.countActivations({ namespace: 'mx', name: 'tools', upto: t + 11 }), 2);
      assert.deepEqual(ids(await store.listActivations({ namespace: 'mx', name: 'tool', limit: 30, skip: 0 }, false)), mx(5));

      const summaries = await store.listActivations({ namespace: 'ns', limit: 1, skip: 0 }, false);
      const s = summaries[0] as unknown as Record<string, unknown>;
      for (const k of ['subject', 'response', 'logs']) assert.equal(k in s, false, `summary has no ${k}`);
      assert.equal(s.statusCode, 0);
      assert.equal(s.start, t + 6);
      assert.equal(s.end, t + 11);
      assert.deepEqual(s.annotations, recs[5]!.annotations);
      const docs = await store.listActivations({ namespace: 'ns', limit: 1, skip: 0 }, true);
      assert.deepEqual(docs[0], recs[5]);

      assert.equal(await store.countActivations({ namespace: 'ns' }), 6);
      assert.equal(await store.countActivations({ namespace: 'ns', name: 'hello' }), 2);
      assert.equal(await store.countActivations({ namespace: 'ns', name: 'sample' }), 1);
      assert.equal(await store.countActivations({ namespace: 'ns', since: t + 3, upto: t + 5 }), 3);
      assert.equal(await store.countActivations({ namespace: 'other' }), 1);
    });

    it('activations: cursor pages under concurrent inserts never repeat or skip, with every filter; counts equal the listed', async () => {
      const { store } = await adapter.open();
      const t = 1_900_000_000_000;
      const causeId = id();
      // Records with shared start times (the keyset's activationId part decides), three functions, every status.
      const recs = Array.from({ length: 90 }, (_, i) => {
        const r = record('cp', `f${i % 3}`, t + Math.floor(i / 2));
        r.statusCode = (i % 4) as 0 | 1 | 2 | 3;
        if (i % 5 === 0) r.cause = causeId;
        return r;
      });
      await store.complete(recs);
      const filters: Array<{ label: string; f: Partial<ActivationListFilter>; keep: (r: ActivationRecord) => boolean }> = [
        { label: 'none', f: {}, keep: () => true },
        { label: 'name', f: { name: 'f1' }, keep: (r) => r.name === 'f1' },
        { label: 'status', f: { statusCodes: [1] }, keep: (r) => r.statusCode === 1 },
        { label: 'statuses', f: { statusCodes: [3, 1] }, keep: (r) => r.statusCode === 1 || r.statusCode === 3 },
        { label: 'period', f: { since: t + 10, upto: t + 30 }, keep: (r) => r.start >= t + 10 && r.start <= t + 30 },
        { label: 'cause', f: { cause: causeId }, keep: (r) => r.cause === causeId },
        {
          label: 'all together',
          f: { name: 'f2', statusCodes: [0, 2], since: t + 5, upto: t + 40 },
          keep: (r) => r.name === 'f2' && (r.statusCode === 0 || r.statusCode === 2) && r.start >= t + 5 && r.start <= t + 40,
        },
      ];
      let extra = 0;
      const all = [...recs];
      for (const { label, f, keep } of filters) {
        const expected = all.filter(keep).sort(listOrder).map((r) => r.activationId);
        assert.ok(expected.length > 3, label);
        assert.equal(await store.countActivations({ namespace: 'cp', ...f }), expected.length, `count (${label})`);
        const seen: string[] = [];
        let after: ActivationCursor | undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page = await store.listActivations({ namespace: 'cp', ...f, ...(after ? { after } : {}), limit: 4, skip: 0 }, false);
          seen.push(...page.map((r) => r.activationId));
          if (page.length < 4) break;
          const last = page[page.length - 1]!;
          after = { start: last.start, activationId: last.activationId };
          // Between pages, records arrive: newer ones (before the cursor) and one that started long ago.
          const newer = record('cp', 'f1', t + 1000 + extra++);
          newer.statusCode = 1;
          const older = record('cp', 'f2', t - 1000 - extra++);
          await store.complete([newer, older]);
          all.push(newer, older);
        }
        assert.equal(new Set(seen).size, seen.length, `no record twice (${label})`);
        assert.deepEqual(seen.filter((x) => expected.includes(x)), expected, `every record once, in order (${label})`);
      }
    });

    it('activations: counts (kept counters + exact edges) equal the records listed, with every filter, before and after a sweep', async () => {
      const { store } = await adapter.open();
      const H = 3_600_000;
      const t0 = 1_900_000_800_000 - (1_900_000_800_000 % H); // an hour boundary
      // 240 records over 6 hours (starts on, just before and just after hour boundaries), functions and packaged ones.
      const names = ['a', 'b', 'tools/x', 'tools/y', 'tools'];
      const recs = Array.from({ length: 240 }, (_, i) => {
        const offset = Math.floor(i / 40) * H + [0, 1, H / 2, H - 1][i % 4]! + (i % 7);
        const name = names[i % names.length]!;
        const r = record('cn', name.includes('/') ? name.split('/')[1]! : name, t0 + offset);
        if (name.includes('/')) r.annotations = [...r.annotations.filter((a) => a.key !== 'path'), { key: 'path', value: `cn/${name}` }];
        r.statusCode = (i % 3) as 0 | 1 | 2;
        return r;
      });
      await store.complete(recs.slice(0, 100));
      await store.complete(recs.slice(100));
      await store.complete([recs[3]!, recs[150]!]); // duplicates are not counted twice
      await store.complete([record('other', 'a', t0 + 5 * H)]);
      const filters: Array<Partial<ActivationListFilter>> = [
        {},
        { name: 'a' },
        { name: 'tools' },
        { name: 'tools/x' },
        { statusCodes: [1] },
        { statusCodes: [0, 2] },
        { since: t0 + H / 2 },
        { upto: t0 + 3 * H - 1 },
        { since: t0 + H, upto: t0 + 3 * H - 1 },
        { since: t0 + H + 1, upto: t0 + 4 * H + 5 },
        { since: t0 + 2 * H + 3, upto: t0 + 2 * H + H / 2 },
        { since: t0 + 5, upto: t0 + 2 },
        { name: 'tools', statusCodes: [1, 2], since: t0 + 30, upto: t0 + 5 * H },
      ];
      const check = async (when: string) => {
        for (const f of filters) {
          const listed = await store.listActivations({ namespace: 'cn', ...f, limit: 0, skip: 0 }, false);
          assert.equal(await store.countActivations({ namespace: 'cn', ...f }), listed.length, `${when}: count = listed (${JSON.stringify(f)})`);
        }
      };
      await check('stored');
      assert.equal(await store.countActivations({ namespace: 'cn' }), 240);
      // Sweep the first two and a half hours: counters of the swept records go with them.
      while ((await store.sweepActivations(t0 + 2 * H + H / 2, 7)) > 0);
      assert.ok((await store.countActivations({ namespace: 'cn' })) < 240);
      await check('after sweep');
      assert.equal(await store.countActivations({ namespace: 'other' }), 1);
    });

    it('activations: sweep deletes old records in batches, newer ones stay', async () => {
      const { store } = await adapter.open();
      const old = Array.from({ length: 25 }, (_, i) => record('ns', 'hello', 1000 + i));
      const fresh = Array.from({ length: 5 }, (_, i) => record('ns', 'hello', 5000 + i));
      await store.complete([...old, ...fresh]);
      assert.equal(await store.sweepActivations(2000, 10), 10);
      assert.equal(await store.sweepActivations(2000, 10), 10);
      assert.equal(await store.sweepActivations(2000, 10), 5);
      assert.equal(await store.sweepActivations(2000, 10), 0);
      assert.equal(await store.countActivations({ namespace: 'ns' }), 5);
      assert.equal(await store.getActivation('ns', old[0]!.activationId), undefined);
      assert.ok(await store.getActivation('ns', fresh[0]!.activationId));
      assert.equal(await store.sweepActivations(5000, 10), 0, 'start == before is kept');
    });

    it('notifications: onEnqueued and onCompleted fire once per event; unsubscribe stops them', async () => {
      const { store } = await adapter.open();
      let enq = 0;
      const done: { id: string; rec?: ActivationRecord }[] = [];
      const offE = store.onEnqueued(() => enq++);
      const offC = store.onCompleted((id, rec) => done.push({ id, rec }));
      const inv = invocation('ns');
      await store.enqueue(inv);
      await until('onEnqueued', () => enq >= 1);
      const rec = record('ns', 'hello', ++clock, { activationId: inv.activationId });
      await store.complete([rec]);
      await until('onCompleted', () => done.length >= 1);
      assert.equal(done[0]!.id, inv.activationId);
      if (done[0]!.rec) assert.deepEqual(done[0]!.rec, rec);
      await sleep(150); // a NOTIFY echo of our own statement would arrive by now
      assert.equal(enq, 1, 'one wake-up per enqueue on the enqueuing node');
      assert.equal(done.length, 1, 'one completion per record on the completing node');
      offE();
      offC();
      await store.enqueue(invocation('ns'));
      await store.complete([record('ns', 'hello', ++clock)]);
      await sleep(100);
      assert.equal(enq, 1);
      assert.equal(done.length, 1);
    });

    it('live logs: appended while in the queue, read after a seq with state and progress, deleted by complete, announced', async () => {
      const { store } = await adapter.open();
      const heard: Array<[string, boolean]> = [];
      store.onLiveLogs((id, ended) => heard.push([id, ended]));
      const inv = invocation('ns');
      assert.deepEqual(await store.readLiveLogs('ns', inv.activationId, 0), { lines: [] }, 'unknown id: no state');
      await store.enqueue(inv);
      assert.deepEqual(await store.readLiveLogs('ns', inv.activationId, 0), { state: 'queued', lines: [] });
      await store.claim('me', 1, 10_000);
      await store.appendLiveLogs('ns', inv.activationId, { firstSeq: 1, lines: ['l1', 'l2'] });
      await store.appendLiveLogs('ns', inv.activationId, { firstSeq: 3, lines: ['l3'], progress: '{"p":1}' });
      await store.appendLiveLogs('ns', inv.activationId, { firstSeq: 4, lines: [], progress: '{"p":2}', truncated: true });
      await until('appends announced', () => heard.filter(([id, e]) => id === inv.activationId && !e).length === 3);
      assert.deepEqual(await store.readLiveLogs('ns', inv.activationId, 1), {
        state: 'running',
        lines: [{ seq: 2, line: 'l2' }, { seq: 3, line: 'l3' }],
        progress: '{"p":2}',
        truncated: true,
      });
      assert.deepEqual((await store.readLiveLogs('other', inv.activationId, 0)).lines, [], 'other namespace sees nothing');
      await store.complete([record('ns', 'hello', ++clock, { activationId: inv.activationId })]);
      assert.deepEqual(await store.readLiveLogs('ns', inv.activationId, 0), { lines: [] });
      // A late append after the record leaves nothing behind.
      await store.appendLiveLogs('ns', inv.activationId, { firstSeq: 4, lines: ['late'] });
      assert.deepEqual(await store.readLiveLogs('ns', inv.activationId, 0), { lines: [] });
      if (adapter.name === 'sqlite') assert.ok(heard.some(([id, e]) => id === inv.activationId && e), 'end announced');
    });

    it('run control: getInFlight / listInFlight show queue rows without params; start is set by the claim', async () => {
      const { store } = await adapter.open();
      const a = invocation('rc', { actionName: 'pkg/fn', actionVersion: '0.0.3', received: 1_000 });
      const b = invocation('rc', { received: 2_000, annotations: [{ key: 'binding', value: 'rc/bound' }] });
      await store.enqueue(a);
      await store.enqueue(b);
      const qa = await store.getInFlight('rc', a.activationId);
      assert.deepEqual(qa, { activationId: a.activationId, namespace: 'rc', state: 'queued', name: 'pkg/fn', version: '0.0.3', queuedAt: 1_000, filterKey: 'pkg/fn', action: { namespace: a.actionNamespace, name: 'pkg/fn' } });
      assert.equal(await store.getInFlight('other', a.activationId), undefined, 'other namespace');
      const before = Date.now();
      assert.equal((await store.claim('me', 1, 10_000)).length, 1);
      const ra = (await store.getInFlight('rc', a.activationId))!;
      assert.equal(ra.state, 'running');
      assert.ok(ra.start! >= before - 2_000 && ra.start! <= Date.now() + 2_000, 'claim time (database clock on PostgreSQL)');
      const all = await store.listInFlight({ namespace: 'rc', states: ['queued', 'running'], limit: 10, skip: 0 });
      assert.deepEqual(all.map((e) => e.activationId), [a.activationId, b.activationId], 'newest first (start of a, queuedAt of b)');
      assert.deepEqual((await store.listInFlight({ namespace: 'rc', states: ['queued'], limit: 10, skip: 0 })).map((e) => e.activationId), [b.activationId]);
      assert.deepEqual((await store.listInFlight({ namespace: 'rc', states: ['queued', 'running'], name: 'pkg', limit: 10, skip: 0 })).map((e) => e.activationId), [a.activationId]);
      assert.deepEqual((await store.listInFlight({ namespace: 'rc', states: ['queued', 'running'], name: 'bound', limit: 10, skip: 0 })).map((e) => e.activationId), [b.activationId], 'invoked through binding rc/bound');
      assert.deepEqual((await store.listInFlight({ namespace: 'rc', states: ['queued', 'running'], limit: 1, skip: 1 })).map((e) => e.activationId), [b.activationId]);
      assert.deepEqual((await store.listInFlight({ namespace: 'rc', states: ['running'], since: 1_500, upto: 2_500, limit: 10, skip: 0 })).length, 0);
      for (const e of all) assert.equal((e as unknown as Record<string, unknown>).params, undefined);
      // watchInFlight answers like getInFlight; once the record is written the row is gone.
      assert.equal((await store.watchInFlight('rc', b.activationId))?.state, 'queued');
      await store.complete([record('rc', 'hello', ++clock, { activationId: b.activationId })]);
      assert.equal(await store.getInFlight('rc', b.activationId), undefined);
      assert.equal(await store.watchInFlight('rc', b.activationId), undefined);
    });

    if (adapter.name === 'postgres') {
      it('postgres: notifications cross nodes (two stores, one schema) and survive a dropped LISTEN connection', async () => {
        const { store: a, url } = await adapter.open();
        const b = (await openPostgresStore(url)) as PostgresStore;
        opened.push(b);
        let wakeB = 0;
        const doneB: string[] = [];
        b.onEnqueued(() => wakeB++);
        b.onCompleted((id) => doneB.push(id));
        const inv = invocation('ns', { blocking: true }); // completions cross nodes for invocations someone waits on
        await a.enqueue(inv);
        await until('B woken by A enqueue', () => wakeB >= 1);
        const [claimed] = await b.claim('b', 1, 10_000);
        assert.equal(claimed?.activationId, inv.activationId);
        await a.complete([record('ns', 'hello', ++clock, { activationId: inv.activationId })]);
        await until('B told of A completion', () => doneB.includes(inv.activationId));

        // kill B's LISTEN session: it reconnects, wakes its listeners (work may be waiting), and hears A again
        const pid = b.listenerPid;
        assert.ok(pid, 'listener connected');
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        try {
          await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        } finally {
          await admin.end();
        }
        const before = wakeB;
        await until('B listener reconnected', () => b.listenerPid !== undefined && b.listenerPid !== pid && wakeB > before, 8000);
        const inv2 = invocation('ns', { blocking: true });
        const woke = wakeB;
        await a.enqueue(inv2);
        await until('B woken after reconnect', () => wakeB > woke);
        await a.complete([record('ns', 'hello', ++clock, { activationId: inv2.activationId })]);
        await until('B completion after reconnect', () => doneB.includes(inv2.activationId));
      });

      it('postgres: live lines and their end are announced to another node', async () => {
        const { store: a, url } = await adapter.open();
        const b = (await openPostgresStore(url)) as PostgresStore;
        opened.push(b);
        const heard: Array<[string, boolean]> = [];
        b.onLiveLogs((id, ended) => heard.push([id, ended]));
        const inv = invocation('ns');
        await a.enqueue(inv);
        await a.appendLiveLogs('ns', inv.activationId, { firstSeq: 1, lines: ['x'] });
        await until('B hears the lines', () => heard.some(([id, e]) => id === inv.activationId && !e));
        assert.deepEqual((await b.readLiveLogs('ns', inv.activationId, 0)).lines, [{ seq: 1, line: 'x' }]);
        await a.complete([record('ns', 'hello', ++clock, { activationId: inv.activationId })]);
        await until('B hears the end', () => heard.some(([id, e]) => id === inv.activationId && e));
      });

      it('postgres: a cancel is announced to the other node holding the run, and its cancelled record comes back', async () => {
        const { store: a, url } = await adapter.open();
        const b = (await openPostgresStore(url)) as PostgresStore;
        opened.push(b);
        const heardB: Array<[string, string | undefined]> = [];
        b.onCancelRequested((i, c) => heardB.push([i, c.reason]));
        const doneA: string[] = [];
        a.onCompleted((i) => doneA.push(i));
        const inv = invocation('ns'); // non-blocking: only the cancel's watched mark announces its record
        await a.enqueue(inv);
        assert.equal((await b.claim('b', 1, 10_000)).length, 1);
        const cancel = { requestedAt: Date.now(), by: 'alice', reason: 'é ' + 'x'.repeat(900) };
        assert.equal((await a.cancelInFlight('ns', inv.activationId, cancel, 5_000))?.previous, 'running');
        await until('B told to cancel', () => heardB.some(([i]) => i === inv.activationId));
        assert.equal(heardB[0]![1], cancel.reason, 'the reason travels whole');
        await b.complete([asCancelled(record('ns', 'hello', ++clock, { activationId: inv.activationId }), cancel)]);
        await until('A told of the cancelled record', () => doneA.includes(inv.activationId));
      });

      it('postgres: a watched (non-blocking) invocation has its completion announced to other nodes', async () => {
        const { store: a, url } = await adapter.open();
        const b = (await openPostgresStore(url)) as PostgresStore;
        opened.push(b);
        const doneB: string[] = [];
        b.onCompleted((id) => doneB.push(id));
        const quiet = invocation('ns');
        const watched = invocation('ns');
        await a.enqueue(quiet);
        await a.enqueue(watched);
        assert.equal((await b.watchInFlight('ns', watched.activationId))?.state, 'queued');
        await a.complete([record('ns', 'hello', ++clock, { activationId: quiet.activationId }), record('ns', 'hello', ++clock, { activationId: watched.activationId })]);
        await until('B told of the watched completion', () => doneB.includes(watched.activationId));
        await sleep(100);
        assert.equal(doneB.includes(quiet.activationId), false, 'unwatched non-blocking completions stay local');
      });

      it('postgres: a completion that lost to an earlier record is announced without its own record', async () => {
        const { store } = await adapter.open();
        const seen: { id: string; rec?: ActivationRecord }[] = [];
        store.onCompleted((id, rec) => seen.push({ id, rec }));
        const inv = invocation('ns');
        await store.enqueue(inv);
        const winner = record('ns', 'hello', ++clock, { activationId: inv.activationId, result: { v: 'first' } });
        const loser = record('ns', 'hello', ++clock, { activationId: inv.activationId, result: { v: 'late' } });
        await store.complete([winner]);
        await store.complete([loser]);
        assert.deepEqual(seen.map((s) => s.id), [inv.activationId, inv.activationId]);
        assert.deepEqual(seen[0]!.rec, winner);
        assert.equal(seen[1]!.rec, undefined, 'listeners read the stored record instead');
        // the same within one batch
        const dup = invocation('ns');
        const a1 = record('ns', 'hello', ++clock, { activationId: dup.activationId, result: 1 });
        const a2 = record('ns', 'hello', ++clock, { activationId: dup.activationId, result: 2 });
        await store.complete([a1, a2]);
        assert.deepEqual(seen.slice(2).map((s) => s.rec), [a1, undefined]);
        assert.deepEqual((await store.getActivation('ns', dup.activationId))?.response.result, 1);
      });

      it('postgres: installations in other schemas of the same database do not hear each other', async () => {
        const { store: a, url } = await adapter.open();
        const sameSchema = await openPostgresStore(url);
        const { store: otherSchema } = await adapter.open();
        opened.push(sameSchema);
        let same = 0;
        let other = 0;
        const otherDone: string[] = [];
        sameSchema.onEnqueued(() => same++);
        otherSchema.onEnqueued(() => other++);
        otherSchema.onCompleted((id) => otherDone.push(id));
        const inv = invocation('ns');
        await a.enqueue(inv);
        await a.complete([record('ns', 'hello', ++clock, { activationId: inv.activationId })]);
        await until('same-schema node woken', () => same >= 1);
        await sleep(150);
        assert.equal(other, 0, 'no wake-up from another schema');
        assert.deepEqual(otherDone, [], 'no completions from another schema');
      });

      it('postgres: bootstrap settings race across nodes: every node sees one value', async () => {
        const { store: a, url } = await adapter.open();
        const b = await openPostgresStore(url);
        opened.push(b);
        for (let round = 0; round < 5; round++) {
          const key = `bootstrap.namespace.${round}`;
          const values = await Promise.all(
            Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).putSettingIfAbsent(key, `node-${i}`)),
          );
          assert.equal(new Set(values).size, 1, `round ${round}: ${values.join(',')}`);
          assert.equal(await a.getSetting(key), values[0]);
        }
      });

      it('postgres: admission is exact across nodes (four stores on one schema, racing enqueues and completes)', async () => {
        const { store: a, url } = await adapter.open();
        const others = await Promise.all(Array.from({ length: 3 }, () => openPostgresStore(url)));
        opened.push(...others);
        const nodes = [a, ...others];
        const limits = { concurrent: 8, perMinute: 100_000 };
        let admittedIds: string[] = [];
        for (let round = 0; round < 3; round++) {
          const invs = Array.from({ length: 80 }, () => invocation('x'));
          const outs = await Promise.all(invs.map((inv, i) => nodes[i % nodes.length]!.enqueueWithinLimits(inv, limits)));
          admittedIds.push(...invs.filter((_, i) => outs[i]!.admitted).map((inv) => inv.activationId));
          assert.equal(await a.countInFlight('x'), limits.concurrent, `round ${round}: the limit is filled, never passed`);
          for (const o of outs) if (!o.admitted) assert.deepEqual(o, { admitted: false, limit: 'concurrent', count: 9, allowed: 8 });
          // half complete on different nodes while the next round races in
          const done = admittedIds.splice(0, 4);
          await Promise.all(done.map((id, i) => nodes[i % nodes.length]!.complete([record('x', 'hello', ++clock, { activationId: id })])));
        }
        // mixed namespaces in one coalesced batch on each node: each namespace gets its own limit
        const mixed = await Promise.all(Array.from({ length: 40 }, (_, i) => nodes[i % 4]!.enqueueWithinLimits(invocation(`y${i % 2}`), { concurrent: 5, perMinute: 1000 })));
        assert.equal(mixed.filter((o) => o.admitted).length, 10);
        assert.equal(await a.countInFlight('y0'), 5);
        assert.equal(await a.countInFlight('y1'), 5);
      });

      it('postgres: several nodes migrating one new schema at once', async () => {
        const url = schemaUrl(`flare_c_${randomBytes(6).toString('hex')}`);
        const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(url)));
        opened.push(...stores);
        await stores[0]!.enqueue(invocation('ns'));
        const counts = await Promise.all(stores.map((s) => s.countInFlight('ns')));
        assert.deepEqual(counts, [1, 1, 1, 1]);
      });

      it('postgres: bad URLs are refused with a clear message', async () => {
        await assert.rejects(openPostgresStore('postgres://127.0.0.1/test?schema=a;drop'), /invalid schema name/);
        await assert.rejects(openPostgresStore('mysql://127.0.0.1/test'), /invalid PostgreSQL URL/);
        await assert.rejects(openPostgresStore('postgres://127.0.0.1/test?pool_max=zero'), /invalid pool_max/);
        // nothing listening there: a clear connection error, no hang
        await assert.rejects(openPostgresStore('postgres://postgres@127.0.0.1:1/test?schema=x'), /ECONNREFUSED/);
      });
    }
  });
}
