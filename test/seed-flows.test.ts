// The seed's flows over HTTP against a real server: async invoke, 404 while running, record after, /result,
// ?limit=3, and a blocking call demoted to 202 after the sync wait.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitForRecord, type TestServer } from './helpers/server.js';

const D2 =
  "The requested activation record does not exist. This either means that the invocation is still running and the record is not yet created or the activation's retention period has already expired.";

let s: TestServer;

before(async () => {
  s = await startServer({ args: ['--sync-wait-ms', '1500'] });
  const pkg = await s.api('/api/v1/namespaces/_/packages/sample', { method: 'PUT', json: {} });
  assert.equal(pkg.status, 200);
  const code = `
    function main(args) {
      const ms = Number(args.sleep || 0);
      console.log('greeting ' + (args.name || 'stranger'));
      return new Promise((resolve) => setTimeout(() => resolve({ body: 'Hello ' + (args.name || 'stranger') + '!' }), ms));
    }`;
  const put = await s.api('/api/v1/namespaces/_/actions/sample/hello', { method: 'PUT', json: { exec: { kind: 'nodejs:default', code } } });
  assert.equal(put.status, 200);
});

after(async () => {
  await s.stop();
  s.cleanup();
});

test('non-blocking invoke answers 202 with an activation id at once; 404 with the seed text while running', async () => {
  const t0 = Date.now();
  const res = await s.api('/api/v1/namespaces/_/actions/sample/hello?blocking=false', { method: 'POST', json: { sleep: 1200 } });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.match(body.activationId, /^[0-9a-f]{32}$/);
  assert.equal(res.headers.get('x-openwhisk-activation-id'), body.activationId);
  assert.ok(Date.now() - t0 < 1000, 'the 202 does not wait for the function');
  assert.deepEqual(Object.keys(body), ['activationId']);

  for (const suffix of ['', '/result', '/logs']) {
    const r = await s.api(`/api/v1/namespaces/_/activations/${body.activationId}${suffix}`);
    assert.equal(r.status, 404);
    const err = await r.json();
    assert.equal(err.error, D2);
    assert.match(err.code, /^[A-Za-z0-9]{32}$/);
  }

  const record = await waitForRecord(s, body.activationId);
  assert.deepEqual(Object.keys(record), [
    'namespace', 'name', 'version', 'subject', 'activationId', 'start', 'end', 'duration', 'statusCode', 'response', 'logs', 'annotations', 'publish',
  ]);
  assert.equal(record.namespace, s.namespace);
  assert.equal(record.name, 'sample/hello');
  assert.equal(record.version, '0.0.1');
  assert.equal(record.activationId, body.activationId);
  assert.equal(record.statusCode, 0);
  assert.ok(record.duration >= 1150, `duration ${record.duration}`);
  assert.equal(record.end - record.start, record.duration);
  assert.deepEqual(record.response, { status: 'success', statusCode: 0, success: true, result: { body: 'Hello stranger!' }, size: 26 });
  assert.equal(record.logs.length, 1);
  assert.match(record.logs[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z *stdout: greeting stranger$/);
  assert.equal(record.logs[0].indexOf(' stdout'), 30);
  const ann = Object.fromEntries(record.annotations.map((a: any) => [a.key, a.value]));
  assert.equal(ann.path, `${s.namespace}/sample/hello`);
  assert.equal(ann.kind, 'nodejs:20');
  assert.equal(ann.timeout, false);
  assert.deepEqual(ann.limits, { concurrency: 1, logs: 10, memory: 256, timeout: 60000 });
  assert.equal(typeof ann.waitTime, 'number');

  const result = await s.api(`/api/v1/namespaces/_/activations/${body.activationId}/result`);
  assert.equal(result.status, 200);
  assert.deepEqual(await result.json(), { status: 'success', statusCode: 0, success: true, result: { body: 'Hello stranger!' }, size: 26 });
  const logs = await (await s.api(`/api/v1/namespaces/_/activations/${body.activationId}/logs`)).json();
  assert.deepEqual(logs, { logs: record.logs });
});

test("the seed's copied curl: bare token without 'Basic', blocking=true&result=true", async () => {
  const res = await fetch(`${s.url}/api/v1/namespaces/${s.namespace}/actions/sample/hello?blocking=true&result=true`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: Buffer.from(s.auth).toString('base64') },
    body: JSON.stringify({ name: 'sammy' }),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { body: 'Hello sammy!' });
  assert.match(res.headers.get('x-openwhisk-activation-id') ?? '', /^[0-9a-f]{32}$/);
});

test('?limit=3 lists the last three activations, newest first', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await s.api('/api/v1/namespaces/_/actions/sample/hello?blocking=true', { method: 'POST', json: { name: `n${i}` } });
    assert.equal(r.status, 200);
    ids.push((await r.json()).activationId);
  }
  const res = await s.api('/api/v1/namespaces/_/activations?limit=3');
  assert.equal(res.status, 200);
  const list = await res.json();
  assert.equal(list.length, 3);
  assert.deepEqual(list.map((a: any) => a.activationId), ids.slice(1).reverse());
  for (const a of list) {
    assert.equal(a.response, undefined);
    assert.equal(a.logs, undefined);
    assert.equal(a.name, 'sample/hello');
    assert.equal(a.statusCode, 0);
  }
});

test('a blocking call that outlives the sync wait is answered 202 and its record appears later', async () => {
  const t0 = Date.now();
  const res = await s.api('/api/v1/namespaces/_/actions/sample/hello?blocking=true', { method: 'POST', json: { sleep: 3000 } });
  const waited = Date.now() - t0;
  assert.equal(res.status, 202);
  const { activationId } = await res.json();
  assert.ok(waited >= 1400 && waited < 2900, `demoted after ${waited} ms`);
  assert.equal(res.headers.get('x-openwhisk-activation-id'), activationId);
  assert.equal((await s.api(`/api/v1/namespaces/_/activations/${activationId}`)).status, 404);
  const record = await waitForRecord(s, activationId);
  assert.equal(record.statusCode, 0);
  assert.deepEqual(record.response.result, { body: 'Hello stranger!' });
});

test('timeout query parameter shortens the blocking wait and is validated', async () => {
  const t0 = Date.now();
  const res = await s.api('/api/v1/namespaces/_/actions/sample/hello?blocking=true&timeout=300', { method: 'POST', json: { sleep: 1000 } });
  assert.equal(res.status, 202);
  assert.ok(Date.now() - t0 < 1000);
  await waitForRecord(s, (await res.json()).activationId);
  for (const bad of ['0', 'abc', '1501']) {
    const r = await s.api(`/api/v1/namespaces/_/actions/sample/hello?blocking=true&timeout=${bad}`, { method: 'POST', json: {} });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error, "The query parameter 'timeout' was malformed:\nTimeout must be number of milliseconds up to 1500.");
  }
});
