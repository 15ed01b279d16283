// Live logs and progress (issue 10 §6–7): a running function is followed as server-sent events, every line once and
// in order, with progress, state and end events; late and resuming followers; text/plain; the plain /logs unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, putAction, waitForRecord, type TestServer } from './helpers/server.js';
import { readEvents } from './helpers/sse.js';
import { spawn } from 'node:child_process';
import { runCli, tempConfigDir } from './helpers/cli.js';
import { FLARE_BIN } from './helpers/server.js';

let s: TestServer;

before(async () => {
  s = await startServer({ env: { FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000' } });
  await putAction(
    s,
    'ticker',
    `async function main(args, context) {
      const n = args.n || 20;
      for (let i = 1; i <= n; i++) {
        console.log('tick ' + i + ' ' + Date.now());
        if (i === 5) context.progress({ done: i, of: n });
        await new Promise((r) => setTimeout(r, 100));
      }
      globalThis.flare.progress({ big: 'x'.repeat(5000) });
      return { ok: true };
    }`,
  );
  await putAction(
    s,
    'pyticker',
    `import time\nimport flare\ndef main(args):\n    for i in range(1, 11):\n        print('py %d' % i)\n        if i == 3:\n            flare.progress({'step': i})\n        time.sleep(0.1)\n    return {'ok': True}\n`,
    {},
    'python:3.11',
  );
  await putAction(s, 'failer', `async function main() { console.log('about to fail'); await new Promise((r) => setTimeout(r, 300)); throw new Error('boom'); }`);
});
after(async () => {
  await s.stop();
  s.cleanup();
});

const invoke = async (name: string, params: unknown = {}) => {
  const r = await s.api(`/api/v1/namespaces/_/actions/${name}`, { method: 'POST', json: params });
  assert.equal(r.status, 202);
  return (await r.json()).activationId as string;
};
const follow = (id: string, headers: Record<string, string> = {}, query = '') =>
  s.api(`/api/v1/namespaces/_/activations/${id}/logs?follow=true${query}`, { headers: { accept: 'text/event-stream', ...headers } });

test('a running function is followed live: state, every line once in order and promptly, progress, end', async () => {
  const id = await invoke('ticker', { n: 30 });
  const res = await follow(id);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events = await readEvents(res, { stamp: true });
  assert.equal(events[0]!.retry, 2000);
  assert.equal(events.find((e) => e.event === 'state')?.data && JSON.parse(events.find((e) => e.event === 'state')!.data).state, 'running');
  const logs = events.filter((e) => e.event === 'log');
  const ticks = logs.filter((e) => / stdout: tick /.test(e.data));
  assert.deepEqual(ticks.map((e) => Number(/tick (\d+)/.exec(e.data)![1])), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.deepEqual(logs.map((e) => Number(e.id)), logs.map((_, i) => i + 1), 'ids are 1..n once each');
  // Most lines arrive while the function runs, each within a generous bound of being written (box is shared).
  const lags = ticks.map((e) => e.at! - Number(/tick \d+ (\d+)/.exec(e.data)![1]));
  lags.sort((a, b) => a - b);
  assert.ok(lags[Math.floor(lags.length / 2)]! < 1000, `median lag ${lags[Math.floor(lags.length / 2)]} ms`);
  const progress = events.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data));
  assert.deepEqual(progress, [{ done: 5, of: 30 }], 'the oversized progress value is ignored');
  const end = events.at(-1)!;
  assert.equal(end.event, 'end');
  assert.deepEqual(JSON.parse(end.data), { state: 'succeeded', statusCode: 0, status: 'success' });
  const rec = await waitForRecord(s, id);
  assert.deepEqual(logs.map((e) => e.data), rec.logs, 'the live lines are the record lines, same order and sequence');
  assert.ok(rec.logs.some((l: string) => /stderr: progress ignored: the value is \d+ bytes of JSON, more than the limit of 4096 bytes\./.test(l)));
});

test('a late follower gets every line and the end; a follower resuming with Last-Event-ID or ?from misses nothing', async () => {
  const id = await invoke('ticker', { n: 15 });
  // Read the first few events, then drop the connection.
  const first = await follow(id);
  const seen = await readEvents(first, { until: (e) => e.event === 'log' && Number(e.id) >= 4 });
  const lastId = seen.filter((e) => e.event === 'log').at(-1)!.id!;
  const resumed = await readEvents(await follow(id, { 'last-event-id': lastId }));
  const all = [...seen.filter((e) => e.event === 'log'), ...resumed.filter((e) => e.event === 'log')];
  assert.deepEqual(all.map((e) => Number(e.id)), all.map((_, i) => i + 1), 'no loss, no duplicate');
  const rec = await waitForRecord(s, id);
  assert.deepEqual(all.map((e) => e.data), rec.logs);
  // After the end: everything from the record, then end.
  const late = await readEvents(await follow(id));
  assert.deepEqual(late.filter((e) => e.event === 'log').map((e) => e.data), rec.logs);
  assert.equal(late.at(-1)!.event, 'end');
  const from = await readEvents(await follow(id, {}, '&from=10'));
  assert.deepEqual(from.filter((e) => e.event === 'log').map((e) => Number(e.id)), rec.logs.slice(10).map((_: string, i: number) => i + 11));
});

test('Accept: text/plain streams raw lines; without follow /logs is unchanged; unknown ids 404; Python progress', async () => {
  const id = await invoke('pyticker');
  const plain = await s.api(`/api/v1/namespaces/_/activations/${id}/logs?follow=true`, { headers: { accept: 'text/plain' } });
  assert.equal(plain.status, 200);
  assert.match(plain.headers.get('content-type') ?? '', /^text\/plain/);
  const progress = await waitProgressInStream(id);
  assert.equal(progress, JSON.stringify({ step: 3 }));
  const text = await plain.text();
  const rec = await waitForRecord(s, id);
  assert.equal(text, rec.logs.map((l: string) => l + '\n').join(''));
  assert.deepEqual(rec.logs.map((l: string) => l.replace(/^.* stdout: /, '')), Array.from({ length: 10 }, (_, i) => `py ${i + 1}`));
  const unknown = await follow('0'.repeat(32));
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).error, /^The requested activation record does not exist/);
  const inflight = await invoke('ticker', { n: 5 });
  const plainLogs = await s.api(`/api/v1/namespaces/_/activations/${inflight}/logs`);
  assert.equal(plainLogs.status, 404);
  await waitForRecord(s, inflight);
});

async function waitProgressInStream(id: string): Promise<string | undefined> {
  const events = await readEvents(await follow(id), { until: (e) => e.event === 'progress' || e.event === 'end' });
  return events.find((e) => e.event === 'progress')?.data;
}

test('CLI: activations logs <id> --follow prints lines while it runs and exits 0; invoke --follow streams then prints the result', async () => {
  const env = { FLARE_CONFIG_DIR: tempConfigDir(), NO_COLOR: '1' };
  assert.equal((await runCli(['connect', '--apihost', s.url, '--auth', s.auth], { env })).code, 0);
  const id = await invoke('ticker', { n: 100 }); // 10 s: the CLI's own start-up on a loaded machine must not eat the run
  const child = spawn(process.execPath, [FLARE_BIN, 'activations', 'logs', id, '--follow', '-r'], { env: { ...process.env, ...env } });
  let stdout = '';
  let firstAt = 0;
  child.stdout.on('data', (d) => {
    stdout += d;
    firstAt ||= Date.now();
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const rec = await waitForRecord(s, id);
  assert.equal(code, 0);
  assert.ok(firstAt > 0 && firstAt < rec.end - 1000, 'the first line is printed well before the activation ends');
  assert.deepEqual(
    stdout.trimEnd().split('\n').map((l) => l.replace(/ \d+$/, '')),
    [...Array.from({ length: 100 }, (_, i) => `tick ${i + 1}`), 'progress ignored: the value is 5010 bytes of JSON, more than the limit of 4096 bytes.'],
  );

  const inv = await runCli(['functions', 'invoke', 'ticker', '-p', 'n:3', '--follow'], { env });
  assert.equal(inv.code, 0, inv.stderr);
  assert.deepEqual(JSON.parse(inv.stdout), { ok: true });
  assert.equal(inv.stderr.split('\n').filter((l) => / stdout: tick \d/.test(l)).length, 3);

  const bad = await runCli(['functions', 'invoke', 'failer', '--follow'], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /stdout: about to fail/);
  assert.match(JSON.stringify(JSON.parse(bad.stdout).error), /boom/);
  const failedId = /activation ([0-9a-f]{32})/.exec(bad.stderr)![1]!;
  const again = await runCli(['activations', 'logs', failedId, '--follow'], { env });
  assert.equal(again.code, 1);
  assert.match(again.stdout, /stdout: about to fail/);
});
