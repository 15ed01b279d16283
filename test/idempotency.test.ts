// Idempotency-Key on invokes and trigger fires (issue 11, run-control §4.9) against a real `flare serve` with real
// functions, on the store FLARE_TEST_STORE selects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, putAction, waitForRecord, type TestServer } from './helpers/server.js';

let s: TestServer;
const NS = '/api/v1/namespaces/_';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(path: string, json: unknown, key?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await s.api(path, { method: 'POST', json, ...(key !== undefined ? { headers: { 'Idempotency-Key': key } } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

async function recordsOf(name: string): Promise<any[]> {
  const r = await s.api(`${NS}/activations?name=${name}&limit=200`);
  return (await r.json()) as any[];
}

before(async () => {
  s = await startServer({ env: { FLARE_SANDBOX: process.env.FLARE_SANDBOX ?? 'off' } });
  await putAction(s, 'once', 'function main(a) { console.log("ran " + JSON.stringify(a)); return { got: a }; }');
  await putAction(s, 'slow', 'async function main(a) { await new Promise((r) => setTimeout(r, 800)); return { slow: a.n }; }');
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('100 concurrent POSTs with one key: one run, one activationId, no 409; a changed body is a 422', async () => {
  const body = { n: 1, nested: { b: 2, a: [1, 2] } };
  const outs = await Promise.all(Array.from({ length: 100 }, () => post(`${NS}/actions/once`, body, 'order-42')));
  assert.deepEqual([...new Set(outs.map((o) => o.status))], [202], 'every request is answered 202');
  const ids = new Set(outs.map((o) => o.body.activationId));
  assert.equal(ids.size, 1, 'one activationId');
  const [id] = [...ids];
  for (const o of outs) assert.equal(o.headers.get('x-openwhisk-activation-id'), id);
  assert.equal(outs.filter((o) => o.headers.get('idempotent-replayed') === 'true').length, 99, 'all but the first are replays');

  const record = await waitForRecord(s, id!);
  assert.equal(record.response.result.got.n, 1);
  // Same request once more, keys in another order: the same fingerprint, still a replay after the run ended.
  const late = await post(`${NS}/actions/once`, { nested: { a: [1, 2], b: 2 }, n: 1 }, 'order-42');
  assert.equal(late.status, 202);
  assert.equal(late.body.activationId, id);
  await sleep(300);
  assert.equal((await recordsOf('once')).length, 1, 'the function ran once');

  const changed = await post(`${NS}/actions/once`, { n: 2 }, 'order-42');
  assert.equal(changed.status, 422);
  assert.equal(changed.body.error, 'The Idempotency-Key was already used with a different request.');
  assert.equal(changed.headers.get('link'), '</api-docs>; rel="describedby"', 'the draft: a mismatch links to the docs');
  assert.equal(typeof changed.body.code, 'string');
  const otherFn = await post(`${NS}/actions/slow`, body, 'order-42');
  assert.equal(otherFn.status, 422, 'a key reused on another function is a mismatch');
  // Without a key nothing changes.
  const plain = await post(`${NS}/actions/once`, body);
  assert.equal(plain.status, 202);
  assert.equal(plain.headers.get('idempotent-replayed'), null);
  assert.notEqual(plain.body.activationId, id);
});

test('a blocking replay gets the first activation record, waiting for it when it is still running', async () => {
  const first = await post(`${NS}/actions/slow`, { n: 7 }, '"quoted key"');
  assert.equal(first.status, 202);
  const t0 = Date.now();
  const waited = await post(`${NS}/actions/slow?blocking=true`, { n: 7 }, '"quoted key"');
  assert.equal(waited.status, 200);
  assert.equal(waited.body.activationId, first.body.activationId);
  assert.equal(waited.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(waited.body.response.result, { slow: 7 });
  assert.ok(Date.now() - t0 < 15_000);
  const done = await post(`${NS}/actions/slow?blocking=true&result=true`, { n: 7 }, '"quoted key"');
  assert.equal(done.status, 200);
  assert.deepEqual(done.body, { slow: 7 }, 'a finished first run answers with its result');
  assert.equal((await recordsOf('slow')).filter((r) => r.activationId === first.body.activationId).length, 1);
});

test('malformed keys are 400; requests that were not accepted do not consume the key', async () => {
  for (const bad of ['has space', '"unterminated', 'x'.repeat(256), '""']) {
    const r = await post(`${NS}/actions/once`, {}, bad);
    assert.equal(r.status, 400, `key ${JSON.stringify(bad).slice(0, 20)}`);
    assert.match(r.body.error, /Idempotency-Key/);
  }
  const missing = await post(`${NS}/actions/nope`, { a: 1 }, 'k-unaccepted');
  assert.equal(missing.status, 404);
  const badBody = await s.api(`${NS}/actions/once`, { method: 'POST', body: '[1]', headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k-unaccepted' } });
  assert.equal(badBody.status, 400);
  const ok = await post(`${NS}/actions/once`, { a: 1 }, 'k-unaccepted');
  assert.equal(ok.status, 202);
  assert.equal(ok.headers.get('idempotent-replayed'), null, 'the key was still free');
});

test('trigger fires: a repeated key answers with the first fire and fires nothing', async () => {
  assert.equal((await s.api(`${NS}/triggers/tk`, { method: 'PUT', json: {} })).status, 200);
  assert.equal((await s.api(`${NS}/rules/rk`, { method: 'PUT', json: { trigger: '/_/tk', action: '/_/once' } })).status, 200);
  const before = (await recordsOf('once')).length;
  const a = await post(`${NS}/triggers/tk`, { v: 1 }, 'fire-1');
  const b = await post(`${NS}/triggers/tk`, { v: 1 }, 'fire-1');
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(b.body.activationId, a.body.activationId);
  assert.equal(b.headers.get('idempotent-replayed'), 'true');
  assert.equal((await post(`${NS}/triggers/tk`, { v: 2 }, 'fire-1')).status, 422);
  await waitForRecord(s, a.body.activationId);
  await sleep(500);
  assert.equal((await recordsOf('once')).length, before + 1, 'the rule ran once');
});
