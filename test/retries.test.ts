// Retries (issue 11 point 2, run-control §4.7): the `retry` annotation, one activationId and one final record with
// `attempts`, `attemptHistory` and the logs of every attempt; `retrying` between attempts; the function steers with
// `retryable: false` / `retryAfterMs`. Functions run in the real sandbox; they tell attempts apart by __OW_ATTEMPT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, putAction, waitForRecord, waitFor, type TestServer } from './helpers/server.js';

let s: TestServer;
const NS = '/api/v1/namespaces/_';

async function invoke(name: string, json: unknown = {}): Promise<string> {
  const r = await s.api(`${NS}/actions/${name}`, { method: 'POST', json });
  assert.equal(r.status, 202);
  return ((await r.json()) as { activationId: string }).activationId;
}

function ann(rec: any, key: string): any {
  return rec.annotations.find((a: any) => a.key === key)?.value;
}

const fast = (extra: Record<string, unknown> = {}) => ({ maxAttempts: 3, initialMs: 20, maxMs: 50, ...extra });

before(async () => {
  s = await startServer();
  // Fails (throws: developer error) on attempts 1 and 2, succeeds on 3.
  await putAction(
    s,
    'flaky',
    `function main(a) {
       const n = Number(process.env.__OW_ATTEMPT);
       console.log('try ' + n + ' of ' + process.env.__OW_MAX_ATTEMPTS + ' with ' + a.x);
       if (n < 3) throw new Error('boom ' + n);
       return { ok: n, x: a.x };
     }`,
    { annotations: [{ key: 'retry', value: fast() }] },
  );
  await putAction(s, 'refuses', `function main() { console.log('once'); return { error: 'bad input', retryable: false }; }`, {
    annotations: [{ key: 'retry', value: fast({ maxAttempts: 5, on: ['application-error'] }) }],
  });
  await putAction(s, 'apperror', `function main() { return { error: 'deliberate' }; }`, { annotations: [{ key: 'retry', value: fast() }] });
  await putAction(
    s,
    'slowfirst',
    `async function main() {
       if (process.env.__OW_ATTEMPT === '1') await new Promise((r) => setTimeout(r, 5000));
       return { attempt: Number(process.env.__OW_ATTEMPT) };
     }`,
    { limits: { timeout: 500 }, annotations: [{ key: 'retry', value: fast({ maxAttempts: 2, on: ['timeout'] }) }] },
  );
  await putAction(s, 'alwaysfails', `function main() { console.log('attempt ' + process.env.__OW_ATTEMPT); throw new Error('never works'); }`, {
    annotations: [{ key: 'retry', value: fast({ maxAttempts: 2 }) }],
  });
  // Asks for a long pause before its second attempt, so the `retrying` state can be seen.
  await putAction(
    s,
    'later',
    `function main() {
       if (process.env.__OW_ATTEMPT === '1') return { error: 'not yet', retryAfterMs: 2500 };
       return { done: true };
     }`,
    { annotations: [{ key: 'retry', value: { maxAttempts: 2, on: ['application-error'] } }] },
  );
  await putAction(s, 'plain', `function main() { return { attempt: process.env.__OW_ATTEMPT, max: process.env.__OW_MAX_ATTEMPTS }; }`);
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('fails twice then succeeds: one record, attempts 3, the history and the logs of all three attempts in order', async () => {
  const id = await invoke('flaky', { x: 7 });
  const rec = await waitForRecord(s, id, 60_000);
  assert.equal(rec.activationId, id);
  assert.equal(rec.statusCode, 0);
  assert.deepEqual(rec.response.result, { ok: 3, x: 7 });
  assert.equal(ann(rec, 'attempts'), 3);
  const history = ann(rec, 'attemptHistory');
  assert.deepEqual(history.map((h: any) => [h.attempt, h.statusCode, h.reason]), [
    [1, 2, 'developer-error'],
    [2, 2, 'developer-error'],
    [3, 0, 'succeeded'],
  ]);
  assert.match(history[0].error, /boom 1/);
  for (const h of history) assert.ok(h.end >= h.start && h.duration === h.end - h.start);
  assert.ok(history[1].start >= history[0].end && history[2].start >= history[1].end, 'attempts ran one after the other');
  assert.equal(ann(rec, 'retriesExhausted'), undefined);
  // Every attempt's lines, each after its marker, in order.
  const text = rec.logs.map((l: string) => l.replace(/^\S+\s+(stdout|stderr): /, ''));
  const markers = text.map((t: string, i: number) => [t, i]).filter(([t]: [string]) => /^--- attempt \d ---$/.test(t));
  assert.deepEqual(markers.map(([t]: [string]) => t), ['--- attempt 1 ---', '--- attempt 2 ---', '--- attempt 3 ---']);
  const tries = text.filter((t: string) => t.startsWith('try '));
  assert.deepEqual(tries, ['try 1 of 3 with 7', 'try 2 of 3 with 7', 'try 3 of 3 with 7']);
  assert.ok(text.indexOf('try 1 of 3 with 7') > text.indexOf('--- attempt 1 ---') && text.indexOf('try 1 of 3 with 7') < text.indexOf('--- attempt 2 ---'));
  // Only one record for the id.
  const list = (await (await s.api(`${NS}/activations?name=flaky&limit=50`)).json()) as any[];
  assert.equal(list.filter((r) => r.activationId === id).length, 1);
});

test('retryable: false in the error result stops the retries', async () => {
  const rec = await waitForRecord(s, await invoke('refuses'), 30_000);
  assert.equal(rec.statusCode, 1);
  assert.equal(ann(rec, 'attempts'), 1);
  assert.equal(ann(rec, 'retriesExhausted'), undefined);
  assert.equal(rec.logs.filter((l: string) => l.endsWith('once')).length, 1);
});

test('an application error is not retried unless the policy lists it', async () => {
  const rec = await waitForRecord(s, await invoke('apperror'), 30_000);
  assert.equal(rec.statusCode, 1);
  assert.equal(ann(rec, 'attempts'), 1);
});

test('a timeout is retried', async () => {
  const rec = await waitForRecord(s, await invoke('slowfirst'), 60_000);
  assert.equal(rec.statusCode, 0);
  assert.deepEqual(rec.response.result, { attempt: 2 });
  const history = ann(rec, 'attemptHistory');
  assert.deepEqual(history.map((h: any) => [h.statusCode, h.reason]), [[2, 'timeout'], [0, 'succeeded']]);
});

test('exhausted retries: the last failure is the record, marked retriesExhausted, listed in the dead-letter view', async () => {
  const id = await invoke('alwaysfails');
  const rec = await waitForRecord(s, id, 60_000);
  assert.equal(rec.statusCode, 2);
  assert.equal(ann(rec, 'attempts'), 2);
  assert.equal(ann(rec, 'retriesExhausted'), true);
  const dead = (await (await s.api(`${NS}/activations?state=failed&retriesExhausted=true&limit=50`)).json()) as any[];
  assert.ok(dead.some((r) => r.activationId === id), 'listed as a dead letter');
  assert.ok(dead.every((r) => r.statusCode !== 0));
  // A failure the policy does not retry (application error, retryable: false) and a retried success are not.
  for (const name of ['flaky', 'refuses', 'apperror']) {
    const others = (await (await s.api(`${NS}/activations?name=${name}&limit=50`)).json()) as any[];
    assert.ok(others.length > 0);
    for (const r of others) assert.ok(!dead.some((d) => d.activationId === r.activationId), `${name} is no dead letter`);
  }
  const failed = (await (await s.api(`${NS}/activations?state=failed&limit=50`)).json()) as any[];
  assert.ok(failed.some((r) => r.activationId === id));
});

test('between attempts the state is retrying with nextAttemptAt (status, in-flight 404, ?state=retrying); retryAfterMs sets the delay', async () => {
  const id = await invoke('later');
  const st = await waitFor(async () => {
    const r = await s.api(`${NS}/activations/${id}/status`);
    const b = (await r.json()) as any;
    return b.state === 'retrying' ? b : undefined;
  }, 30_000, 25);
  assert.equal(st.attempt, 2);
  assert.equal(st.maxAttempts, 2);
  assert.equal(typeof st.nextAttemptAt, 'number');
  assert.ok(st.nextAttemptAt > Date.now() - 2500 && st.nextAttemptAt <= Date.now() + 2600, 'about retryAfterMs from the failure');
  const r404 = await s.api(`${NS}/activations/${id}`);
  assert.equal(r404.status, 404);
  const body = (await r404.json()) as any;
  assert.equal(body.state, 'retrying');
  assert.equal(body.nextAttemptAt, st.nextAttemptAt);
  const list = (await (await s.api(`${NS}/activations?state=retrying`)).json()) as any[];
  assert.ok(list.some((e) => e.activationId === id && e.state === 'retrying' && e.nextAttemptAt === st.nextAttemptAt));
  const rec = await waitForRecord(s, id, 30_000);
  assert.equal(rec.statusCode, 0);
  const history = ann(rec, 'attemptHistory');
  assert.ok(history[1].start >= history[0].end + 2000, 'the second attempt waited for retryAfterMs');
});

test('without a policy nothing changes: no attempt annotations, no markers; the code sees attempt 1 of 1', async () => {
  const rec = await waitForRecord(s, await invoke('plain'), 30_000);
  assert.deepEqual(rec.response.result, { attempt: '1', max: '1' });
  assert.equal(ann(rec, 'attempts'), undefined);
  assert.equal(ann(rec, 'attemptHistory'), undefined);
  assert.deepEqual(rec.logs, []);
});

test('a malformed retry policy or store-params annotation is refused on PUT with 400', async () => {
  const bad = [
    { maxAttempts: 0 },
    { maxAttempts: 21 },
    { maxAttempts: 2, on: ['sometimes'] },
    { maxAttempts: 2, factor: 0.5 },
    { maxAttempts: 2, extra: 1 },
    'three',
    [1],
  ];
  for (const value of bad) {
    const r = await s.api(`${NS}/actions/badretry?overwrite=true`, {
      method: 'PUT',
      json: { exec: { kind: 'nodejs:20', code: 'function main() { return {}; }' }, annotations: [{ key: 'retry', value }] },
    });
    const body = (await r.json()) as any;
    assert.equal(r.status, 400, JSON.stringify(value));
    assert.match(body.error, /retry/);
    assert.equal(typeof body.code, 'string');
  }
  const r = await s.api(`${NS}/actions/badretry?overwrite=true`, {
    method: 'PUT',
    json: { exec: { kind: 'nodejs:20', code: 'function main() { return {}; }' }, annotations: [{ key: 'store-params', value: 'no' }] },
  });
  assert.equal(r.status, 400);
});
