// Queue TTL (issue 11, run-control §4.8): `?ttl=` and the annotation max-event-age-ms. A backlog behind a saturated
// invoker (memory for one executor) expires instead of running late.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, putAction, waitForRecord, type TestServer } from './helpers/server.js';

let s: TestServer;
const NS = '/api/v1/namespaces/_';

async function post(path: string, json: unknown = {}): Promise<{ status: number; body: any }> {
  const r = await s.api(path, { method: 'POST', json });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

before(async () => {
  s = await startServer({ env: { FLARE_SANDBOX: process.env.FLARE_SANDBOX ?? 'off', FLARE_INVOKER_MEMORY_MB: '256' } });
  await putAction(s, 'block', 'async function main(a) { await new Promise((r) => setTimeout(r, a.ms)); return { slept: a.ms }; }');
  await putAction(s, 'marker', 'function main(a) { console.log("started"); return { ran: true }; }');
  await putAction(s, 'aged', 'function main(a) { return { ran: true }; }', { annotations: [{ key: 'max-event-age-ms', value: 300 }] });
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('a backlog behind a saturated invoker expires after its ttl without starting; work within its ttl runs', async () => {
  const blocker = await post(`${NS}/actions/block`, { ms: 2500 });
  assert.equal(blocker.status, 202);
  await new Promise((r) => setTimeout(r, 300)); // the blocker holds the only executor
  const short = await post(`${NS}/actions/marker?ttl=500`);
  const annotated = await post(`${NS}/actions/aged`);
  const roomy = await post(`${NS}/actions/marker?ttl=120000`);
  for (const r of [short, annotated, roomy]) assert.equal(r.status, 202);

  const expired = await waitForRecord(s, short.body.activationId, 30_000);
  assert.equal(expired.statusCode, 3);
  assert.equal(expired.response.status, 'whisk internal error');
  assert.deepEqual(expired.response.result, { error: 'The activation expired in the queue after 500 ms.' });
  assert.equal(expired.annotations.find((a: any) => a.key === 'expired')?.value, true);
  assert.deepEqual(expired.logs, [], 'the function never started');

  const aged = await waitForRecord(s, annotated.body.activationId, 30_000);
  assert.deepEqual(aged.response.result, { error: 'The activation expired in the queue after 300 ms.' });

  const ran = await waitForRecord(s, roomy.body.activationId, 30_000);
  assert.equal(ran.statusCode, 0);
  assert.deepEqual(ran.response.result, { ran: true });
  assert.equal(ran.annotations.find((a: any) => a.key === 'expired'), undefined);
});

test('ttl must be a positive number of milliseconds', async () => {
  for (const bad of ['0', '-5', 'abc', '1.5']) {
    const r = await post(`${NS}/actions/marker?ttl=${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(typeof r.body.code, 'string');
  }
});
