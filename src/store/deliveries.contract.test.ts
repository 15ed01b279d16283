// Store contract, completion callbacks (issue 11): the outbox row committed by complete(), claims across owners,
// attempts and outcomes, redelivery, sweeping, and the namespace signing secrets. Run against both adapters like
// store.contract.test.ts (SQLite temp file; a fresh PostgreSQL schema per store).
import { describe, it, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { terminalEvent, type Store } from './store.js';
import type { ActivationRecord, Invocation, KeyValue } from '../types.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { openPostgresStore } from './postgres/postgres-store.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const tempDirs: string[] = [];
const schemas: string[] = [];
const opened: Store[] = [];

const adapters: Array<{ name: 'sqlite' | 'postgres'; open(shared?: string): Promise<{ store: Store; url: string }> }> = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'flare-deliveries-'));
      tempDirs.push(dir);
      const store = await openSqliteStore(join(dir, 'flare.db'));
      opened.push(store);
      return { store, url: dir };
    },
  },
  {
    name: 'postgres',
    async open(shared?: string) {
      let url = shared;
      if (!url) {
        const schema = `flare_d_${randomBytes(6).toString('hex')}`;
        schemas.push(schema);
        const u = new URL(PG_URL);
        u.searchParams.set('schema', schema);
        u.searchParams.set('pool_max', '4');
        url = u.toString();
      }
      const store = await openPostgresStore(url);
      opened.push(store);
      return { store, url };
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

const id = () => randomUUID().replace(/-/g, '');

function invocation(ns: string, extra: Partial<Invocation> = {}): Invocation {
  return {
    activationId: id(),
    namespace: ns,
    subject: 'subj',
    actionNamespace: ns,
    actionName: 'hello',
    params: {},
    transactionId: id(),
    received: Date.now(),
    blocking: false,
    ...extra,
  };
}

function record(inv: Invocation, statusCode: 0 | 1 | 2 | 3 = 0, annotations: KeyValue[] = []): ActivationRecord {
  const start = Date.now();
  return {
    namespace: inv.namespace,
    name: inv.actionName,
    version: '0.0.1',
    subject: 'subj',
    activationId: inv.activationId,
    start,
    end: start + 3,
    duration: 3,
    statusCode,
    response: { status: statusCode === 0 ? 'success' : 'whisk internal error', statusCode, success: statusCode === 0, result: {} },
    logs: [],
    annotations: [{ key: 'path', value: `${inv.namespace}/hello` }, ...annotations],
    publish: false,
  };
}

for (const adapter of adapters) {
  describe(`Store contract (deliveries): ${adapter.name}`, () => {
    it('complete() writes an outbox row only for invocations with a callback, with the terminal event, due at once', async () => {
      const { store } = await adapter.open();
      let due = 0;
      const off = store.onDeliveriesDue(() => due++);
      const withCb = invocation('ns', { callbackUrl: 'https://example.com/hook?token=1' });
      const plain = invocation('ns');
      const expired = invocation('ns', { callbackUrl: 'https://example.com/e' });
      const cancelled = invocation('ns', { callbackUrl: 'https://example.com/c' });
      for (const inv of [withCb, plain, expired, cancelled]) await store.enqueue(inv);
      await store.complete([
        record(withCb, 2),
        record(plain),
        record(expired, 3, [{ key: 'expired', value: true }]),
        record(cancelled, 2, [{ key: 'cancelled', value: true }]),
      ]);
      assert.ok(due >= 1, 'the delivery worker is told');
      off();
      const d = await store.getDeliveries('ns', withCb.activationId);
      assert.ok(d);
      assert.equal(d.url, 'https://example.com/hook?token=1');
      assert.equal(d.event, 'failed');
      assert.equal(d.state, 'pending');
      assert.deepEqual(d.attempts, []);
      assert.equal(typeof d.nextAttemptAt, 'number');
      assert.equal(await store.getDeliveries('ns', plain.activationId), undefined);
      assert.equal(await store.getDeliveries('other', withCb.activationId), undefined, 'scoped to the namespace');
      assert.equal((await store.getDeliveries('ns', expired.activationId))?.event, 'expired');
      assert.equal((await store.getDeliveries('ns', cancelled.activationId))?.event, 'cancelled');
      const wait = await store.nextDeliveryDueIn();
      assert.ok(wait !== undefined && wait <= 1000, `due now, got ${wait}`);
      // A second complete of the same id (a duplicate record) writes no second outbox row and changes nothing.
      await store.complete([record(withCb, 0)]);
      assert.equal((await store.getDeliveries('ns', withCb.activationId))?.event, 'failed');
    });

    it('terminalEvent: succeeded, failed, cancelled, expired', () => {
      const inv = invocation('ns');
      assert.equal(terminalEvent(record(inv, 0)), 'succeeded');
      assert.equal(terminalEvent(record(inv, 1)), 'failed');
      assert.equal(terminalEvent(record(inv, 3, [{ key: 'expired', value: true }])), 'expired');
      assert.equal(terminalEvent(record(inv, 2, [{ key: 'cancelled', value: true }])), 'cancelled');
    });

    it('claims: two owners never hold one delivery; attempts are recorded with outcomes; a lost lease is taken over', async () => {
      const { store } = await adapter.open();
      const invs = Array.from({ length: 20 }, () => invocation('ns', { callbackUrl: 'http://example.com/x' }));
      for (const inv of invs) await store.enqueue(inv);
      await store.complete(invs.map((i) => record(i)));
      const [a, b] = await Promise.all([store.claimDeliveries('A', 15, 60_000), store.claimDeliveries('B', 15, 60_000)]);
      const ids = [...a, ...b].map((j) => j.activationId);
      assert.equal(ids.length, 20);
      assert.equal(new Set(ids).size, 20, 'no delivery claimed twice');
      assert.deepEqual(await store.claimDeliveries('C', 5, 60_000), [], 'all held');
      const job = a[0]!;
      assert.equal(job.step, 0);
      assert.equal(job.attempts, 0);
      assert.equal(job.url, 'http://example.com/x');
      assert.equal(job.event, 'succeeded');

      // Not the holder: nothing recorded.
      assert.equal(await store.finishDeliveryAttempt('B', job.activationId, { at: Date.now(), status: 500, latencyMs: 3 }, { state: 'failed' }), undefined);
      const first = await store.finishDeliveryAttempt('A', job.activationId, { at: Date.now(), status: 500, error: 'HTTP 500', latencyMs: 3 }, { state: 'pending', delayMs: 60_000 });
      assert.equal(first?.attempt, 1);
      assert.equal(first?.status, 500);
      assert.ok(first?.nextAttemptAt && first.nextAttemptAt > Date.now() + 30_000);
      assert.deepEqual(await store.claimDeliveries('C', 50, 60_000), [], 'not due yet');
      const due = await store.nextDeliveryDueIn();
      assert.ok(due !== undefined && due > 30_000, `next due later, got ${due}`);

      // A redelivery makes it due now, from the start of the schedule.
      assert.equal(await store.redeliver('ns', job.activationId), true);
      assert.equal(await store.redeliver('ns', id()), false);
      const again = await store.claimDeliveries('C', 50, 60_000);
      assert.deepEqual(again.map((j) => j.activationId), [job.activationId]);
      assert.equal(again[0]!.step, 0);
      assert.equal(again[0]!.attempts, 1);
      const second = await store.finishDeliveryAttempt('C', job.activationId, { at: Date.now(), status: 204, latencyMs: 2 }, { state: 'delivered' });
      assert.equal(second?.attempt, 2);
      assert.equal(second?.nextAttemptAt, undefined);
      const view = await store.getDeliveries('ns', job.activationId);
      assert.equal(view?.state, 'delivered');
      assert.equal(view?.nextAttemptAt, undefined);
      assert.deepEqual(view?.attempts.map((x) => [x.attempt, x.status ?? null, x.error ?? null]), [
        [1, 500, 'HTTP 500'],
        [2, 204, null],
      ]);

      // A short lease that expires (its node died) is taken over by another owner.
      const short = b[0]!;
      await store.finishDeliveryAttempt('B', short.activationId, { at: Date.now(), error: 'boom', latencyMs: 1 }, { state: 'pending', delayMs: 0 });
      const held = await store.claimDeliveries('B', 1, 50);
      assert.equal(held.length, 1);
      await new Promise((r) => setTimeout(r, 120));
      const taken = await store.claimDeliveries('D', 50, 60_000);
      assert.ok(taken.some((j) => j.activationId === held[0]!.activationId), 'expired lease taken over');
      assert.equal(await store.finishDeliveryAttempt('B', held[0]!.activationId, { at: Date.now(), status: 200, latencyMs: 1 }, { state: 'delivered' }), undefined);
    });

    it('final states: stopped and failed are kept, not due; sweep deletes finished deliveries with their attempts', async () => {
      const { store } = await adapter.open();
      const invs = Array.from({ length: 3 }, () => invocation('ns', { callbackUrl: 'http://example.com/x' }));
      for (const inv of invs) await store.enqueue(inv);
      await store.complete(invs.map((i) => record(i)));
      const jobs = await store.claimDeliveries('A', 10, 60_000);
      assert.equal(jobs.length, 3);
      const [s, f, p] = invs.map((i) => i.activationId) as [string, string, string];
      await store.finishDeliveryAttempt('A', s, { at: Date.now(), status: 410, latencyMs: 1 }, { state: 'stopped' });
      await store.finishDeliveryAttempt('A', f, { at: Date.now(), status: 500, latencyMs: 1 }, { state: 'failed' });
      await store.finishDeliveryAttempt('A', p, { at: Date.now(), status: 500, latencyMs: 1 }, { state: 'pending', delayMs: 3_600_000 });
      assert.equal((await store.getDeliveries('ns', s))?.state, 'stopped');
      assert.equal((await store.getDeliveries('ns', f))?.state, 'failed');
      assert.deepEqual(await store.claimDeliveries('A', 10, 60_000), []);
      assert.equal(await store.sweepDeliveries(Date.now() + 1_000, 1), 1);
      assert.equal(await store.sweepDeliveries(Date.now() + 1_000, 10), 1);
      assert.equal(await store.sweepDeliveries(Date.now() + 1_000, 10), 0, 'a pending delivery is never swept');
      assert.equal(await store.getDeliveries('ns', s), undefined);
      assert.equal(await store.getDeliveries('ns', f), undefined);
      assert.equal((await store.getDeliveries('ns', p))?.attempts.length, 1);
      assert.equal(await store.nextDeliveryDueIn().then((w) => (w ?? 0) > 3_000_000), true);
    });

    it('webhook secrets: ensure keeps the first, concurrent callers agree, rotate keeps the previous until a time', async () => {
      const { store } = await adapter.open();
      assert.equal(await store.getWebhookSecrets('ns'), undefined);
      const got = await Promise.all(Array.from({ length: 8 }, (_, i) => store.ensureWebhookSecret('ns', `whsec_${i}`)));
      assert.equal(new Set(got.map((g) => g.current)).size, 1);
      const first = got[0]!.current;
      assert.deepEqual(await store.getWebhookSecrets('ns'), { current: first });
      const until = Date.now() + 86_400_000;
      const rotated = await store.rotateWebhookSecret('ns', 'whsec_new', until);
      assert.deepEqual(rotated, { current: 'whsec_new', previous: first, previousUntil: until });
      assert.deepEqual(await store.ensureWebhookSecret('ns', 'whsec_other'), rotated);
      // Rotating a namespace that had none yet just sets it (there is no previous secret to honour).
      assert.deepEqual(await store.rotateWebhookSecret('fresh', 'whsec_a', until), { current: 'whsec_a' });
    });

    if (adapter.name === 'postgres') {
      it('postgres: two nodes claiming due deliveries at once never get the same one', async () => {
        const { store: a, url } = await adapter.open();
        const { store: b } = await adapter.open(url);
        const invs = Array.from({ length: 40 }, () => invocation('ns', { callbackUrl: 'http://example.com/x' }));
        for (const inv of invs) await a.enqueue(inv);
        await a.complete(invs.map((i) => record(i)));
        const got: string[] = [];
        await Promise.all(
          [a, b].flatMap((s, n) =>
            Array.from({ length: 4 }, async () => {
              for (;;) {
                const jobs = await s.claimDeliveries(`node${n}`, 3, 60_000);
                if (!jobs.length) return;
                got.push(...jobs.map((j) => j.activationId));
              }
            }),
          ),
        );
        assert.equal(got.length, 40);
        assert.equal(new Set(got).size, 40);
      });
    }
  });
}
