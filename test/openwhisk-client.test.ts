// OpenWhisk semantics (issue 14) driven through the upstream `openwhisk` npm client against a real `flare serve`:
// web bodies that are not JSON objects, final with null defaults, raw-http without a body, .html errors, trigger fire
// headers and logs, blocking sequence logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import openwhisk from 'openwhisk';
import { startServer, waitFor, type TestServer } from './helpers/server.js';

let s: TestServer;
let ow: any;

const ECHO = 'function main(a) { return a; }';

before(async () => {
  s = await startServer({ env: { FLARE_SANDBOX: process.env.FLARE_SANDBOX ?? 'off' } });
  ow = openwhisk({ apihost: s.url, api_key: s.auth, namespace: s.namespace });
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

const web = (path: string, init?: RequestInit) => fetch(`${s.url}/api/v1/web/${s.namespace}/default/${path}`, init);

test('1. web bodies that are not JSON objects arrive as __ow_body: text, base64 binary, JSON array and scalar', async () => {
  await ow.actions.create({ name: 'wecho', action: ECHO, annotations: { 'web-export': true } });
  const text = await web('wecho.json', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'Jane' });
  assert.equal(text.status, 200);
  assert.equal((await text.json()).__ow_body, 'Jane');
  const bin = await web('wecho.json', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([1, 2, 255]) });
  assert.equal((await bin.json()).__ow_body, Buffer.from([1, 2, 255]).toString('base64'));
  const arr = await web('wecho.json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,"two"]' });
  assert.deepEqual((await arr.json()).__ow_body, [1, 'two']);
  const num = await web('wecho.json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '42' });
  assert.equal((await num.json()).__ow_body, 42);
  const obj = await web('wecho.json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Jane"}' });
  const o = await obj.json();
  assert.equal(o.name, 'Jane');
  assert.equal(o.__ow_body, undefined, 'a JSON object is parameters, not a body');
  // A body still cannot smuggle reserved properties in.
  const smuggle = await web('wecho.json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"__ow_method":"x"}' });
  assert.equal(smuggle.status, 400);
});

test('2. final=true: a null default is still settable by the request, a set one is not', async () => {
  await ow.actions.create({
    name: 'wfinal',
    action: ECHO,
    params: { fixed: 'f', unset: null },
    annotations: { 'web-export': true, final: true },
  });
  const ok = await web('wfinal.json?unset=u');
  assert.equal(ok.status, 200);
  const b = await ok.json();
  assert.equal(b.unset, 'u');
  assert.equal(b.fixed, 'f');
  const refused = await web('wfinal.json?fixed=x');
  assert.equal(refused.status, 400);
  assert.match((await refused.json()).error, /not allowed/);
});

test('3. raw-http without a body passes __ow_body ""', async () => {
  await ow.actions.create({ name: 'wraw', action: ECHO, annotations: { 'web-export': true, 'raw-http': true } });
  const r = await web('wraw.json?a=1');
  assert.equal(r.status, 200);
  const b = await r.json();
  assert.equal(b.__ow_body, '');
  assert.equal(b.__ow_query, 'a=1');
});

test('4. .html on a result without a string html/body is 400 "Response is not valid \'text/html\'."', async () => {
  await ow.actions.create({ name: 'wnohtml', action: 'function main() { return { html: 5 }; }', annotations: { 'web-export': true } });
  const r = await web('wnohtml.html');
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, "Response is not valid 'text/html'.");
  await ow.actions.create({ name: 'whtml', action: 'function main() { return { html: "<p>hi</p>" }; }', annotations: { 'web-export': true } });
  const ok = await web('whtml.html');
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), '<p>hi</p>');
});

test('5. firing a trigger answers 202 with x-openwhisk-activation-id', async () => {
  await ow.actions.create({ name: 'tact', action: ECHO });
  await ow.triggers.create({ name: 'tfire' });
  await ow.rules.create({ name: 'rfire', trigger: 'tfire', action: 'tact' });
  const fired = await ow.triggers.invoke({ name: 'tfire', params: { x: 1 } });
  assert.match(fired.activationId, /^[0-9a-f]{32}$/);
  const r = await s.api('/api/v1/namespaces/_/triggers/tfire', { method: 'POST', json: {} });
  assert.equal(r.status, 202);
  const body = await r.json();
  assert.equal(r.headers.get('x-openwhisk-activation-id'), body.activationId);
});

test('6. the trigger record lists every rule, an inactive one in OpenWhisk words', async () => {
  await ow.actions.create({ name: 'tact2', action: ECHO });
  await ow.triggers.create({ name: 'tmix' });
  await ow.rules.create({ name: 'ron', trigger: 'tmix', action: 'tact2' });
  await ow.rules.create({ name: 'roff', trigger: 'tmix', action: 'tact2' });
  await ow.rules.disable({ name: 'roff' });
  const { activationId } = await ow.triggers.invoke({ name: 'tmix' });
  const rec = await waitFor(async () => {
    try {
      return await ow.activations.get({ name: activationId });
    } catch {
      return undefined;
    }
  }, 20_000);
  assert.equal(rec.logs.length, 2);
  const ns = s.namespace;
  assert.ok(rec.logs.includes(`{"statusCode":1,"success":false,"error":"Rule '${ns}/roff' is inactive, action '${ns}/tact2' was not activated."}`), rec.logs.join('\n'));
  const on = rec.logs.map((l: string) => JSON.parse(l)).find((l: any) => l.success);
  assert.equal(on.rule, `${ns}/ron`);
  assert.match(on.activationId, /^[0-9a-f]{32}$/);
});

test('7. a blocking invoke of a sequence answers with the component activation ids in logs', async () => {
  await ow.actions.create({ name: 'sa', action: 'function main(a) { return { n: (a.n || 0) + 1 }; }' });
  await ow.actions.create({ name: 'sb', action: 'function main(a) { return { n: a.n * 10 }; }' });
  await ow.actions.create({ name: 'sq', sequence: [`/${s.namespace}/sa`, `/${s.namespace}/sb`] });
  const rec = await ow.actions.invoke({ name: 'sq', blocking: true, params: { n: 1 } });
  assert.equal(rec.response.result.n, 20);
  assert.equal(rec.logs.length, 2);
  for (const id of rec.logs) {
    const c = await ow.activations.get({ name: id });
    assert.equal(c.activationId, id);
  }
  // A plain action's blocking answer still carries no logs (they are fetched by id).
  const plain = await ow.actions.invoke({ name: 'sa', blocking: true });
  assert.deepEqual(plain.logs, []);
});

test('8. whisk.system utils and samples: by fully qualified name, bound, in a sequence, never writable', async () => {
  const echo = await ow.actions.invoke({ name: '/whisk.system/utils/echo', blocking: true, result: true, params: { payload: 'Five fuzzy felines' } });
  assert.deepEqual(echo, { payload: 'Five fuzzy felines' });
  const sorted = await ow.actions.invoke({ name: '/whisk.system/utils/sort', blocking: true, result: true, params: { lines: [4, 2, 3] } });
  assert.deepEqual(sorted, { lines: [2, 3, 4], length: 3 });
  const me = await ow.actions.invoke({ name: '/whisk.system/utils/namespace', blocking: true, result: true });
  assert.equal(me.namespace, s.namespace, 'runs as the caller');
  const smash = await ow.actions.invoke({ name: '/whisk.system/utils/smash', blocking: true, result: true, params: { a: 1, $fieldName: 'p' } });
  assert.deepEqual(smash, { p: { a: 1 } });
  const words = await ow.actions.invoke({ name: '/whisk.system/samples/wordcount', blocking: true, result: true, params: { payload: 'Five fuzzy felines' } });
  assert.deepEqual(words, { count: 3 });

  const pkg = await ow.packages.get({ name: '/whisk.system/utils' });
  assert.equal(pkg.publish, true);
  assert.deepEqual(pkg.actions.map((a: any) => a.name).sort(), ['cat', 'date', 'echo', 'head', 'hosturl', 'namespace', 'smash', 'sort', 'split']);

  await ow.packages.create({ name: 'myutils', package: { binding: { namespace: 'whisk.system', name: 'utils' } } });
  const head = await ow.actions.invoke({ name: 'myutils/head', blocking: true, result: true, params: { lines: ['a', 'b', 'c'], num: 2 } });
  assert.deepEqual(head, { lines: ['a', 'b'], num: 2 });

  await ow.actions.create({ name: 'lines', sequence: ['/whisk.system/utils/split', '/whisk.system/utils/sort', `/${s.namespace}/myutils/cat`] });
  const cat = await ow.actions.invoke({ name: 'lines', blocking: true, result: true, params: { payload: 'c\nb\na' } });
  assert.equal(cat.payload, 'a\nb\nc');

  const write = await s.api('/api/v1/namespaces/whisk.system/actions/utils/echo?overwrite=true', { method: 'PUT', json: { exec: { kind: 'nodejs:20', code: 'x' } } });
  assert.equal(write.status, 403);
  const del = await s.api('/api/v1/namespaces/whisk.system/packages/utils', { method: 'DELETE' });
  assert.equal(del.status, 403);
});

test('9. feeds: a trigger annotated feed drives its feed action through CREATE, UPDATE, PAUSE, UNPAUSE, DELETE', async () => {
  await ow.actions.create({ name: 'myfeed', action: 'function main(p) { return { event: p.lifecycleEvent, trigger: p.triggerName, key: typeof p.authKey === "string" && p.authKey.length > 0, x: p.x }; }' });
  await ow.actions.create({ name: 'fact', action: ECHO });
  const feed = `/${s.namespace}/myfeed`;
  await ow.triggers.create({ name: 'ftrig', trigger: { annotations: [{ key: 'feed', value: feed }], parameters: [{ key: 'x', value: 1 }] } });
  await ow.triggers.update({ name: 'ftrig', trigger: { annotations: [{ key: 'feed', value: feed }], parameters: [{ key: 'x', value: 2 }] } });
  await ow.rules.create({ name: 'frule', trigger: 'ftrig', action: 'fact' });
  await ow.rules.disable({ name: 'frule' });
  await ow.rules.enable({ name: 'frule' });
  await ow.rules.delete({ name: 'frule' });
  await ow.triggers.delete({ name: 'ftrig' });
  const events = await waitFor(async () => {
    const list = await ow.activations.list({ name: 'myfeed', docs: true, limit: 20 });
    return list.length >= 5 ? list : undefined;
  }, 20_000);
  const results = events.map((a: any) => a.response.result).reverse();
  assert.deepEqual(results.map((r: any) => r.event), ['CREATE', 'UPDATE', 'PAUSE', 'UNPAUSE', 'DELETE']);
  for (const r of results) {
    assert.equal(r.trigger, `/${s.namespace}/ftrig`);
    assert.equal(r.key, true);
  }
  assert.equal(results[0].x, 1);
  assert.equal(results[1].x, 2);

  // The alarms feed through the client's feeds API (as the upstream integration test drives it).
  await ow.triggers.create({ name: 'afeed' });
  const params = { cron: '*/8 * * * * *', trigger_payload: { name: 'test' } };
  const created = await ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'afeed', params });
  assert.equal(created.response.success, true);
  const read = await ow.feeds.get({ name: '/whisk.system/alarms/alarm', trigger: 'afeed', params });
  assert.equal(read.response.result.config.cron, '*/8 * * * * *');
  assert.deepEqual(read.response.result.config.trigger_payload, { name: 'test' });
  const updated = await ow.feeds.update({ name: '/whisk.system/alarms/alarm', trigger: 'afeed', params: { cron: '* * * * *' } });
  assert.equal(updated.response.success, true);
  const bad = await ow.actions.invoke({ name: '/whisk.system/alarms/alarm', blocking: true, params: { lifecycleEvent: 'CREATE', triggerName: `/${s.namespace}/afeed`, cron: 'nope' } }).catch((e: any) => e);
  assert.match(JSON.stringify(bad.error ?? bad), /not valid/);
  const deleted = await ow.feeds.delete({ name: '/whisk.system/alarms/alarm', trigger: 'afeed' });
  assert.equal(deleted.response.success, true);
  await ow.triggers.delete({ name: 'afeed' });
});
