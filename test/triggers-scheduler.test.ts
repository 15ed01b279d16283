// Scheduled triggers fire: (1) a real server whose scheduler clock is shifted (FLARE_SCHEDULER_CLOCK_OFFSET_MS, a
// test-only hook) so a minute boundary comes a few seconds after start, cron `* * * * *` evaluated by croner;
// (2) two schedulers on one store, as two nodes would share PostgreSQL: each scheduled minute fires once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { startServer, putAction, waitFor } from './helpers/server.js';
import { openStore } from '../src/store/open-store.js';
import { Scheduler, fireKey, SCHEDULED_KIND } from '../src/scheduler/scheduler.js';
import type { ActionDoc, ScheduledTriggerDoc } from '../src/types.js';

test('a `* * * * *` scheduled trigger fires its function once per minute with the body as params', async () => {
  const lead = 8_000; // real ms from now until the scheduler's clock reaches a minute boundary
  const t0 = Date.now();
  let boundary = Math.ceil((t0 + lead) / 60_000) * 60_000;
  if (boundary === t0 + lead) boundary += 60_000;
  const offset = boundary - (t0 + lead);
  const s = await startServer({ env: { FLARE_SANDBOX: process.env.FLARE_SANDBOX ?? 'off', FLARE_SCHEDULER_CLOCK_OFFSET_MS: String(offset) } });
  try {
    await putAction(s, 'tick', 'function main(a) { return { hello: a.who }; }');
    const created = await s.api('/v2/functions/namespaces/_/triggers', {
      method: 'POST',
      json: { name: 'every-minute', function: 'tick', type: 'SCHEDULED', is_enabled: true, scheduled_details: { cron: '* * * * *', body: { who: 'cron' } } },
    });
    assert.equal(created.status, 200);
    // Normally ~8 s; if the server started slowly and the boundary passed first, the next one is a minute later.
    const acts = await waitFor(async () => {
      const r = await s.api('/api/v1/namespaces/_/activations?docs=true&name=tick');
      const list = (await r.json()) as any[];
      return list.length ? list : undefined;
    }, 75_000, 200);
    assert.equal(acts.length, 1);
    const rec = acts[0];
    assert.equal(rec.statusCode, 0);
    assert.deepEqual(rec.response.result, { hello: 'cron' });
    assert.deepEqual(rec.annotations.find((a: any) => a.key === 'trigger'), { key: 'trigger', value: 'every-minute' });

    const got = (await (await s.api('/v2/functions/namespaces/_/triggers/every-minute')).json()) as any;
    const last = Date.parse(got.Trigger.scheduled_runs.last_run_at);
    assert.equal(last % 60_000, 0, 'last run is the scheduled minute');
    // The API computes next_run_at with the real clock (the offset only shifts the scheduler's).
    assert.equal(Date.parse(got.Trigger.scheduled_runs.next_run_at) % 60_000, 0);

    // Several more ticks pass within the same minute: still one run.
    await new Promise((r) => setTimeout(r, 2_500));
    const again = (await (await s.api('/api/v1/namespaces/_/activations?name=tick')).json()) as any[];
    assert.equal(again.length, 1);

    // Disabled triggers do not fire (checked directly through the scheduler below); the CLI reads this state.
    const off = await s.api('/v2/functions/namespaces/_/triggers/every-minute', { method: 'PUT', json: { is_enabled: false } });
    assert.equal(off.status, 200);
  } finally {
    await s.stop();
    s.cleanup();
  }
});

test('two schedulers sharing a store fire each scheduled minute once; disabled triggers never fire', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flare-sched-'));
  const { store } = await openStore('sqlite', dir);
  try {
    const ns = `fn-${randomUUID()}`;
    await store.createNamespace({ name: ns, uuid: randomUUID(), keyHash: 'x', subject: ns, created: Date.now() });
    const action: ActionDoc = {
      namespace: ns, name: 'job', exec: { kind: 'nodejs:20', binary: false }, parameters: [{ key: 'fixed', value: 1 }],
      limits: { timeout: 60_000, memory: 256, logs: 10, concurrency: 1 }, version: '0.0.1', publish: false, annotations: [], updated: Date.now(),
    };
    await store.putEntity(ns, 'action', 'job', action, 'function main(a) { return a; }');
    const mk = (name: string, cron: string, isEnabled: boolean): ScheduledTriggerDoc => ({
      namespace: ns, name, function: 'job', isEnabled, cron, body: { from: name }, created: 0, updated: Date.now(),
    });
    await store.putEntity(ns, SCHEDULED_KIND, 'a', mk('a', '*/5 * * * *', true), undefined);
    await store.putEntity(ns, SCHEDULED_KIND, 'off', mk('off', '* * * * *', false), undefined);

    let clock = Date.UTC(2030, 0, 1, 10, 4, 58);
    const logger = pino({ level: 'silent' });
    const limits = { invocationsPerMinute: 600, concurrentInvocations: 120 };
    const n1 = new Scheduler({ store, logger, limits, now: () => clock, ownerId: 'node-1' });
    const n2 = new Scheduler({ store, logger, limits, now: () => clock, ownerId: 'node-2' });
    try {
      assert.deepEqual(await n1.tick(), []);
      assert.deepEqual(await n2.tick(), []);
      clock += 3_000; // 10:05:01: the 10:05 minute of `*/5` is due
      const fired = [...(await n1.tick()), ...(await n2.tick())];
      assert.deepEqual(fired, [`${ns}/a`], 'exactly one node fires, the disabled trigger never');
      const minute = Date.UTC(2030, 0, 1, 10, 5);
      assert.equal(await store.getSetting(fireKey(ns, 'a', minute)), 'node-1');
      assert.equal(await store.countInFlight(ns), 1, 'one durable invocation was queued');
      const [inv] = await store.claim('test', 10, 60_000);
      assert.equal(inv!.actionName, 'job');
      assert.deepEqual(inv!.params, { fixed: 1, from: 'a' });
      assert.deepEqual(inv!.annotations, [{ key: 'trigger', value: 'a' }]);
      assert.equal(inv!.blocking, false);
      const t = await store.getEntity<ScheduledTriggerDoc>(ns, SCHEDULED_KIND, 'a', false);
      assert.equal(t!.doc.lastRunAt, minute);

      clock += 60_000; // 10:06:01: nothing due for */5
      assert.deepEqual([...(await n1.tick()), ...(await n2.tick())], []);
      clock += 4 * 60_000; // 10:10:01: due again; node-2 ticks first this time
      assert.deepEqual([...(await n2.tick()), ...(await n1.tick())], [`${ns}/a`]);
      assert.equal(await store.getSetting(fireKey(ns, 'a', Date.UTC(2030, 0, 1, 10, 10))), 'node-2');
    } finally {
      await n1.stop();
      await n2.stop();
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
