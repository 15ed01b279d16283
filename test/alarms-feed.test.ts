// /whisk.system/alarms on Flare's scheduler (issue 14): a one-minute `interval` alarm registered through the feed
// protocol fires its trigger once per tick, survives a restart, and `once` with deleteAfterFire removes the trigger.
// The scheduler's clock runs FLARE_SCHEDULER_CLOCK_OFFSET_MS ahead (test-only) so the minute comes in seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import openwhisk from 'openwhisk';
import { startServer, waitFor, type TestServer } from './helpers/server.js';

const OFFSET = 50_000;
let s: TestServer;
let ow: any;

before(async () => {
  s = await startServer({ env: { FLARE_SANDBOX: process.env.FLARE_SANDBOX ?? 'off', FLARE_SCHEDULER_CLOCK_OFFSET_MS: String(OFFSET) } });
  ow = openwhisk({ apihost: s.url, api_key: s.auth, namespace: s.namespace });
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('interval: minutes=1 fires the trigger once with trigger_payload, across a restart, within the bound', { timeout: 90_000 }, async () => {
  await ow.actions.create({ name: 'tick', action: 'function main(p) { return { got: p.who }; }' });
  await ow.triggers.create({
    name: 'every-minute',
    trigger: { annotations: [{ key: 'feed', value: '/whisk.system/alarms/interval' }], parameters: [{ key: 'minutes', value: 1 }, { key: 'trigger_payload', value: { who: 'alarm' } }] },
  });
  await ow.rules.create({ name: 'every-minute-rule', trigger: 'every-minute', action: 'tick' });
  const created = Date.now();
  // The alarm lives in the store: a restart before its first fire does not lose it.
  await s.stop();
  s = await s.restart();
  ow = openwhisk({ apihost: s.url, api_key: s.auth, namespace: s.namespace });
  const runs = await waitFor(async () => {
    const l = await ow.activations.list({ name: 'tick', docs: true });
    return l.length ? l : undefined;
  }, 40_000, 250);
  // Due one minute after creation on the scheduler's clock, i.e. ~10 s after creation in real time.
  assert.ok(Date.now() - created < 40_000);
  assert.deepEqual(runs[0].response.result, { got: 'alarm' });
  const fires = await ow.activations.list({ name: 'every-minute', docs: true });
  assert.equal(fires.length, 1, 'the trigger fired once');
  assert.deepEqual(fires[0].response.result, { who: 'alarm' });
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal((await ow.activations.list({ name: 'tick' })).length, 1, 'exactly one fire per tick');
  // `flare triggers list` (GET /v2/…/triggers) shows the alarm with the action it invokes.
  const listed = (await (await s.api('/v2/functions/namespaces/_/triggers')).json()).Triggers.find((t: any) => t.name === 'every-minute');
  assert.equal(listed.type, 'ALARM');
  assert.equal(listed.function, 'tick');
  assert.equal(listed.scheduled_details.cron, 'every 1 min');
  assert.ok(listed.scheduled_runs.last_run_at);
  const read = await ow.feeds.get({ name: '/whisk.system/alarms/interval', trigger: 'every-minute' });
  assert.equal(read.response.result.config.minutes, 1);
  assert.equal(read.response.result.status.active, true);
  await ow.triggers.delete({ name: 'every-minute' });
  const gone = await ow.feeds.get({ name: '/whisk.system/alarms/interval', trigger: 'every-minute' }).catch((e: any) => e);
  assert.ok(gone instanceof Error || gone.response?.success === false, 'deleting the trigger deleted its alarm');
});

test('once with deleteAfterFire=true fires at its date and deletes the trigger', { timeout: 60_000 }, async () => {
  await ow.actions.create({ name: 'once-act', action: 'function main(p) { return p; }' });
  await ow.triggers.create({ name: 'once-trig' });
  await ow.rules.create({ name: 'once-rule', trigger: 'once-trig', action: 'once-act' });
  // 55 s ahead in real time is 5 s ahead on the scheduler's clock.
  const date = new Date(Date.now() + OFFSET + 5_000).toISOString();
  const r = await ow.feeds.create({ name: '/whisk.system/alarms/once', trigger: 'once-trig', params: { date, deleteAfterFire: 'true', trigger_payload: { n: 1 } } });
  assert.equal(r.response.success, true);
  await waitFor(async () => ((await ow.activations.list({ name: 'once-act' })).length ? true : undefined), 30_000, 250);
  await waitFor(async () => ((await s.api('/api/v1/namespaces/_/triggers/once-trig')).status === 404 ? true : undefined), 10_000, 250);
});
