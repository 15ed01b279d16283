// Triggers and rules (openwhisk-api.md §2.4, §2.5, §8.1) and DigitalOcean scheduled triggers (doctl-cli.md §3, §5.5)
// against a real `flare serve`, with real functions in real runtime processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, putAction, waitFor, waitForRecord, type TestServer } from './helpers/server.js';

let s: TestServer;
const NS = '/api/v1/namespaces/_';

async function call(method: string, path: string, json?: unknown): Promise<{ status: number; body: any }> {
  const r = await s.api(path, { method, ...(json !== undefined ? { json } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

before(async () => {
  s = await startServer({ env: { FLARE_SANDBOX: process.env.FLARE_SANDBOX ?? 'off' } });
  await putAction(s, 'echo', 'function main(a) { console.log("got " + JSON.stringify(a)); return { got: a }; }');
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('trigger CRUD: create, 409 without overwrite, get, list summaries, count, update bumps version', async () => {
  const put = await call('PUT', `${NS}/triggers/t1`, { parameters: [{ key: 'a', value: 1 }], annotations: [{ key: 'x', value: 'y' }] });
  assert.equal(put.status, 200);
  assert.equal(put.body.namespace, s.namespace);
  assert.equal(put.body.name, 't1');
  assert.equal(put.body.version, '0.0.1');
  assert.deepEqual(put.body.limits, {});
  assert.deepEqual(put.body.parameters, [{ key: 'a', value: 1 }]);
  assert.equal(put.body.rules, undefined);

  const again = await call('PUT', `${NS}/triggers/t1`, {});
  assert.equal(again.status, 409);
  assert.equal(again.body.error, 'resource already exists');
  assert.equal(typeof again.body.code, 'string');

  const upd = await call('PUT', `${NS}/triggers/t1?overwrite=true`, {});
  assert.equal(upd.status, 200);
  assert.equal(upd.body.version, '0.0.2');
  assert.deepEqual(upd.body.parameters, [{ key: 'a', value: 1 }], 'a missing parameters field keeps the old ones');

  const list = await call('GET', `${NS}/triggers`);
  assert.equal(list.status, 200);
  const item = list.body.find((t: any) => t.name === 't1');
  assert.deepEqual(Object.keys(item).sort(), ['annotations', 'name', 'namespace', 'publish', 'updated', 'version']);
  const count = await call('GET', `${NS}/triggers?count=true`);
  assert.ok(count.body.triggers >= 1);

  const bad = await call('PUT', `${NS}/triggers/t2`, { annotations: [{ key: 'feed', value: 'not a path' }] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'Feed name is not valid');
  // A feed trigger is registered with its feed (issue 14): the alarm feed needs its cron.
  const feedOk = await call('PUT', `${NS}/triggers/t2`, { annotations: [{ key: 'feed', value: '/whisk.system/alarms/alarm' }], parameters: [{ key: 'cron', value: '*/5 * * * *' }] });
  assert.equal(feedOk.status, 200);
  assert.equal((await call('DELETE', `${NS}/triggers/t2`)).status, 200);
  assert.equal((await call('GET', `${NS}/triggers/t2`)).status, 404);
  assert.equal((await call('GET', `/api/v1/namespaces/someone-else/triggers/t1`)).status, 403);
  const badLimit = await call('GET', `${NS}/triggers?limit=201`);
  assert.equal(badLimit.status, 400);
  assert.equal(badLimit.body.error, "The value '201' is not in the range of 0 to 200 for triggers.");
});

test('fire without active rules is 204 with no body and no record', async () => {
  await call('PUT', `${NS}/triggers/lonely`, {});
  const r = await s.api(`${NS}/triggers/lonely`, { method: 'POST', json: { x: 1 } });
  assert.equal(r.status, 204);
  assert.equal(await r.text(), '');
  const recs = await call('GET', `${NS}/activations?name=lonely`);
  assert.deepEqual(recs.body, []);
  assert.equal((await call('POST', `${NS}/triggers/missing`, {})).status, 404);
});

test('rules: create links the trigger, fire invokes the action with merged params, record per §8.1', async () => {
  await call('PUT', `${NS}/triggers/tf`, { parameters: [{ key: 'fromTrigger', value: 'p' }, { key: 'over', value: 'trigger' }] });
  const missingTrigger = await call('PUT', `${NS}/rules/rbad`, { trigger: '/_/nope', action: '/_/echo' });
  assert.equal(missingTrigger.status, 400);
  assert.equal(missingTrigger.body.error, `trigger /${s.namespace}/nope does not exist`);
  const missingAction = await call('PUT', `${NS}/rules/rbad`, { trigger: '/_/tf', action: '/_/nope' });
  assert.equal(missingAction.status, 400);
  assert.equal(missingAction.body.error, `action /${s.namespace}/nope does not exist`);

  const noFields = await call('PUT', `${NS}/rules/rbad`, { trigger: '/_/tf' });
  assert.equal(noFields.status, 400);
  assert.equal(noFields.body.error, 'rule requires a valid trigger and a valid action');

  const rule = await call('PUT', `${NS}/rules/r1`, { trigger: `/${s.namespace}/tf`, action: '/_/echo' });
  assert.equal(rule.status, 200);
  assert.deepEqual(Object.keys(rule.body), ['namespace', 'name', 'status', 'trigger', 'action', 'version', 'publish', 'annotations', 'updated']);
  assert.equal(rule.body.status, 'active');
  assert.deepEqual(rule.body.trigger, { path: s.namespace, name: 'tf' });
  assert.deepEqual(rule.body.action, { path: s.namespace, name: 'echo' });

  const trig = await call('GET', `${NS}/triggers/tf`);
  assert.deepEqual(trig.body.rules, { [`${s.namespace}/r1`]: { action: { path: s.namespace, name: 'echo' }, status: 'active' } });

  const rules = await call('GET', `${NS}/rules`);
  const summary = rules.body.find((r: any) => r.name === 'r1');
  assert.equal(summary.status, undefined, 'list items carry no status');

  const fire = await call('POST', `${NS}/triggers/tf`, { payload: 42, over: 'payload' });
  assert.equal(fire.status, 202);
  assert.match(fire.body.activationId, /^[0-9a-f]{32}$/);
  const trec = await waitForRecord(s, fire.body.activationId);
  assert.equal(trec.name, 'tf');
  assert.equal(trec.end, undefined);
  assert.equal(trec.duration, undefined);
  assert.equal(trec.statusCode, 0);
  assert.deepEqual(trec.response, { status: 'success', statusCode: 0, success: true, result: { payload: 42, over: 'payload' } });
  assert.deepEqual(trec.annotations, []);
  assert.equal(trec.logs.length, 1);
  const log = JSON.parse(trec.logs[0]);
  assert.deepEqual(Object.keys(log), ['statusCode', 'success', 'activationId', 'rule', 'action']);
  assert.equal(log.rule, `${s.namespace}/r1`);
  assert.equal(log.action, `${s.namespace}/echo`);
  const arec = await waitForRecord(s, log.activationId);
  assert.equal(arec.name, 'echo');
  assert.equal(arec.statusCode, 0);
  assert.deepEqual(arec.response.result.got, { fromTrigger: 'p', over: 'payload', payload: 42 });
  assert.equal(arec.cause, undefined);

  // Trigger activations match the list filter by trigger name.
  const byName = await call('GET', `${NS}/activations?name=tf`);
  assert.deepEqual(byName.body.map((a: any) => a.activationId), [fire.body.activationId]);
});

test('rules: disable → fire 204, enable again, GET status, delete → inactive and link removed', async () => {
  await call('PUT', `${NS}/triggers/te`, {});
  await call('PUT', `${NS}/rules/re`, { trigger: '/_/te', action: '/_/echo' });
  const off = await call('POST', `${NS}/rules/re`, { status: 'inactive' });
  assert.equal(off.status, 200);
  assert.equal((await call('GET', `${NS}/rules/re`)).body.status, 'inactive');
  assert.equal((await call('POST', `${NS}/rules/re`, { status: 'inactive' })).status, 200, 'no change is still 200');
  assert.equal((await s.api(`${NS}/triggers/te`, { method: 'POST' })).status, 204);
  const bad = await call('POST', `${NS}/rules/re`, { status: 'sleeping' });
  assert.equal(bad.status, 400);
  assert.equal((await call('POST', `${NS}/rules/re`, { status: 'active' })).status, 200);
  assert.equal((await call('GET', `${NS}/rules/re`)).body.status, 'active');
  assert.equal((await s.api(`${NS}/triggers/te`, { method: 'POST' })).status, 202);

  // An update keeps the status; moving the rule to another trigger moves the link.
  await call('POST', `${NS}/rules/re`, { status: 'inactive' });
  await call('PUT', `${NS}/triggers/te2`, {});
  const moved = await call('PUT', `${NS}/rules/re?overwrite=true`, { trigger: '/_/te2' });
  assert.equal(moved.status, 200);
  assert.equal(moved.body.status, 'inactive');
  assert.equal(moved.body.version, '0.0.2');
  assert.equal((await call('GET', `${NS}/triggers/te`)).body.rules, undefined);
  assert.deepEqual(Object.keys((await call('GET', `${NS}/triggers/te2`)).body.rules), [`${s.namespace}/re`]);
  await call('PUT', `${NS}/rules/re?overwrite=true`, { trigger: '/_/te' });
  await call('POST', `${NS}/rules/re`, { status: 'active' });

  const del = await call('DELETE', `${NS}/rules/re`);
  assert.equal(del.status, 200);
  assert.equal(del.body.status, 'inactive');
  assert.equal((await call('GET', `${NS}/triggers/te`)).body.rules, undefined);
  assert.equal((await call('GET', `${NS}/rules/re`)).status, 404);

  // A rule whose trigger is gone reads as inactive and cannot be activated.
  await call('PUT', `${NS}/rules/re2`, { trigger: '/_/te', action: '/_/echo' });
  await call('DELETE', `${NS}/triggers/te`);
  assert.equal((await call('GET', `${NS}/rules/re2`)).body.status, 'inactive');
  const act = await call('POST', `${NS}/rules/re2`, { status: 'active' });
  assert.equal(act.status, 404);
  assert.equal(act.body.error, 'Only rules with existing triggers can be activated');
});

test('a rule to a deleted action: the trigger record logs the failure', async () => {
  await putAction(s, 'gone', 'function main() { return {}; }');
  await call('PUT', `${NS}/triggers/tg`, {});
  await call('PUT', `${NS}/rules/rg`, { trigger: '/_/tg', action: '/_/gone' });
  await call('DELETE', `${NS}/actions/gone`);
  const fire = await call('POST', `${NS}/triggers/tg`, {});
  assert.equal(fire.status, 202);
  const rec = await waitForRecord(s, fire.body.activationId);
  const log = JSON.parse(rec.logs[0]);
  assert.equal(log.statusCode, 1);
  assert.equal(log.success, false);
  assert.equal(log.error, 'The requested resource does not exist.');
});

test('fires per minute are throttled at 60 with a 429', async () => {
  await call('PUT', `${NS}/triggers/burst`, {});
  let last = 0;
  let n = 0;
  for (; n < 130; n++) {
    last = (await s.api(`${NS}/triggers/burst`, { method: 'POST' }).then(async (r) => (await r.arrayBuffer(), r.status)));
    if (last === 429) break;
  }
  assert.equal(last, 429);
  // A minute boundary may reset the window once during the loop, so up to two windows' worth may pass.
  assert.ok(n <= 121, `throttled after ${n} fires`);
  const r = await call('POST', `${NS}/triggers/burst`);
  assert.match(r.body.error, /^Too many requests in the last minute \(count: \d+, allowed: 60\)\.$/);
});

test('/v2 scheduled triggers: create, validation, get, list, enable/disable, delete', async () => {
  const v2 = `/v2/functions/namespaces/_/triggers`;
  const body = { name: 'nightly', function: 'echo', type: 'SCHEDULED', is_enabled: true, scheduled_details: { cron: '0 3 * * *', body: { who: 'cron' } } };
  const created = await call('POST', v2, body);
  assert.equal(created.status, 200);
  const t = created.body.Trigger;
  assert.deepEqual(Object.keys(t), ['namespace', 'function', 'type', 'name', 'is_enabled', 'created_at', 'updated_at', 'scheduled_details', 'scheduled_runs']);
  assert.equal(t.namespace, s.namespace);
  assert.equal(t.type, 'SCHEDULED');
  assert.deepEqual(t.scheduled_details, { cron: '0 3 * * *', body: { who: 'cron' } });
  assert.equal(t.scheduled_runs.last_run_at, null);
  assert.match(t.scheduled_runs.next_run_at, /T03:00:00\.000Z$/);

  for (const cron of ['*/7 * * * *', '* * * * * *', '@daily', '61 * * * *', 'a b c d e']) {
    const r = await call('POST', v2, { ...body, name: 'bad', scheduled_details: { cron } });
    assert.equal(r.status, 400, cron);
    assert.equal(r.body.error, `the cron expression '${cron}' is not valid crontab syntax`);
  }
  const badBody = await call('POST', v2, { ...body, name: 'bad', scheduled_details: { cron: '* * * * *', body: [1] } });
  assert.equal(badBody.status, 400);
  assert.equal(badBody.body.error, "the 'body' member of scheduledDetails must be a dictionary");
  assert.equal((await call('POST', v2, { ...body, name: 'bad', function: 'nope' })).status, 400);
  const huge = await call('POST', v2, { ...body, name: 'bad', scheduled_details: { cron: '* * * * *', body: { big: 'x'.repeat(1_100_000) } } });
  assert.equal(huge.status, 413);
  assert.match(huge.body.error, /^Parameters larger than allowed: \d+ > 1048576 bytes\.$/);
  assert.equal((await call('POST', v2, body)).status, 409);

  const list = await call('GET', v2);
  assert.deepEqual(list.body.Triggers.map((x: any) => x.name), ['nightly']);
  assert.deepEqual((await call('GET', `${v2}?function=nope`)).body.Triggers, []);
  const got = await call('GET', `${v2}/nightly`);
  assert.equal(got.body.Trigger.name, 'nightly');

  const off = await call('PUT', `${v2}/nightly`, { is_enabled: false });
  assert.equal(off.status, 200);
  assert.equal(off.body.Trigger.is_enabled, false);
  assert.equal(off.body.Trigger.scheduled_runs.next_run_at, null);
  const badPut = await call('PUT', `${v2}/nightly`, { scheduled_details: { cron: '*/7 * * * *' } });
  assert.equal(badPut.status, 400);

  const noAuth = await fetch(s.url + v2);
  assert.equal(noAuth.status, 401);
  assert.equal((await call('GET', `/v2/functions/namespaces/other/triggers`)).status, 403);

  const del = await s.api(`${v2}/nightly`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.equal((await call('GET', `${v2}/nightly`)).status, 404);
  assert.equal((await s.api(`${v2}/nightly`, { method: 'DELETE' })).status, 404);
});
