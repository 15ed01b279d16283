// Replay (issue 11 point 5, run-control §4.10): same function version, same parameters, a new activation linked by
// `cause` and `replayOf`; `store-params: false` opts out; bulk replay of a filtered set; `flare activations replay`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { putAction, waitForRecord, type TestServer } from './helpers/server.js';
import { connectedCli, runCli, type ConnectedCli } from './helpers/cli.js';

let c: ConnectedCli;
let s: TestServer;
const NS = '/api/v1/namespaces/_';

async function call(path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await s.api(path, init);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

async function invoke(name: string, json: unknown = {}): Promise<string> {
  const r = await call(`${NS}/actions/${name}`, { method: 'POST', json });
  assert.equal(r.status, 202);
  return r.body.activationId;
}

const ann = (rec: any, key: string) => rec.annotations.find((a: any) => a.key === key)?.value;

before(async () => {
  c = await connectedCli('flare-replay-');
  s = c.server;
  await putAction(s, 'echo', 'function main(a) { return { got: a, v: 1 }; }', { parameters: [{ key: 'bound', value: 'b' }] });
  await putAction(s, 'secretive', 'function main(a) { return { got: a }; }', { annotations: [{ key: 'store-params', value: false }] });
  await putAction(s, 'fails', 'function main(a) { return { error: "no " + a.n }; }');
  await putAction(s, 'slow', 'async function main() { await new Promise((r) => setTimeout(r, 3000)); return {}; }');
});
after(async () => {
  await c?.close();
});

test('a replay runs the same version with the same parameters, as a new activation linked to the original', async () => {
  const first = await invoke('echo', { x: 1, nested: { y: [2, 3] } });
  const orig = await waitForRecord(s, first, 30_000);
  assert.deepEqual(orig.response.result, { got: { bound: 'b', x: 1, nested: { y: [2, 3] } }, v: 1 });

  const r = await call(`${NS}/activations/${first}/replay`, { method: 'POST' });
  assert.equal(r.status, 202);
  assert.match(r.body.activationId, /^[0-9a-f]{32}$/);
  assert.notEqual(r.body.activationId, first);
  assert.equal(r.headers.get('x-openwhisk-activation-id'), r.body.activationId);
  const replay = await waitForRecord(s, r.body.activationId, 30_000);
  assert.deepEqual(replay.response.result, orig.response.result);
  assert.equal(replay.version, orig.version);
  assert.equal(replay.name, 'echo');
  assert.equal(replay.cause, first);
  assert.equal(ann(replay, 'replayOf'), first);
  // The original record is unchanged; ?cause= lists its replays.
  assert.deepEqual(await waitForRecord(s, first), orig);
  const byCause = (await call(`${NS}/activations?cause=${first}`)).body as any[];
  assert.deepEqual(byCause.map((a) => a.activationId), [r.body.activationId]);
});

test('a function updated since: 409 naming both versions; ?version=latest runs the current one', async () => {
  const first = await invoke('echo', { x: 2 });
  await waitForRecord(s, first, 30_000);
  await putAction(s, 'echo', 'function main(a) { return { got: a, v: 2 }; }', { parameters: [{ key: 'bound', value: 'b' }] });
  const r = await call(`${NS}/activations/${first}/replay`, { method: 'POST' });
  assert.equal(r.status, 409);
  assert.match(r.body.error, /was updated since this activation.*version=latest/);
  assert.equal(typeof r.body.code, 'string');
  const latest = await call(`${NS}/activations/${first}/replay?version=latest`, { method: 'POST' });
  assert.equal(latest.status, 202);
  const rec = await waitForRecord(s, latest.body.activationId, 30_000);
  assert.deepEqual(rec.response.result, { got: { bound: 'b', x: 2 }, v: 2 });
  const bad = await call(`${NS}/activations/${first}/replay?version=0.0.1`, { method: 'POST' });
  assert.equal(bad.status, 400);
});

test('store-params: false keeps no parameters, so a replay is refused with a clear 409', async () => {
  const id = await invoke('secretive', { password: 'hunter2' });
  await waitForRecord(s, id, 30_000);
  const r = await call(`${NS}/activations/${id}/replay`, { method: 'POST' });
  assert.equal(r.status, 409);
  assert.match(r.body.error, /store-params: false/);
});

test('unknown, malformed and in-flight ids', async () => {
  assert.equal((await call(`${NS}/activations/${'0'.repeat(32)}/replay`, { method: 'POST' })).status, 404);
  assert.equal((await call(`${NS}/activations/nope/replay`, { method: 'POST' })).status, 400);
  const running = await invoke('slow');
  const r = await call(`${NS}/activations/${running}/replay`, { method: 'POST' });
  assert.equal(r.status, 409);
  assert.match(r.body.error, /not finished/);
  await waitForRecord(s, running, 30_000);
});

test('bulk replay of a filtered set returns the new ids; limits are enforced', async () => {
  const ids: string[] = [];
  for (let n = 0; n < 3; n++) ids.push(await invoke('fails', { n }));
  for (const id of ids) await waitForRecord(s, id, 30_000);
  const r = await call(`${NS}/activations/replay`, { method: 'POST', json: { filter: { name: 'fails', statusCode: 1 }, limit: 1000 } });
  assert.equal(r.status, 202);
  assert.equal(r.body.replayed, 3);
  assert.equal(r.body.activationIds.length, 3);
  const results = new Set<string>();
  for (const id of r.body.activationIds) {
    const rec = await waitForRecord(s, id, 30_000);
    assert.ok(ids.includes(rec.cause));
    assert.equal(ann(rec, 'replayOf'), rec.cause);
    results.add(rec.response.result.error);
  }
  assert.deepEqual([...results].sort(), ['no 0', 'no 1', 'no 2']);
  for (const bad of [{ limit: 1001 }, { limit: 0 }, { filter: { bogus: 1 } }, { filter: { statusCode: 7 } }, { filter: { name: 'a/b/c' } }]) {
    const b = await call(`${NS}/activations/replay`, { method: 'POST', json: bad });
    assert.equal(b.status, 400, JSON.stringify(bad));
    assert.equal(typeof b.body.code, 'string');
  }
});

test('flare activations replay <id> prints the new id', async () => {
  const id = await invoke('echo', { cli: true });
  await waitForRecord(s, id, 30_000);
  const r = await runCli(['activations', 'replay', id], { env: c.env });
  assert.equal(r.code, 0, r.stderr);
  const m = /^ok: replayed ([0-9a-f]{32}) as ([0-9a-f]{32})\n$/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(m![1], id);
  const rec = await waitForRecord(s, m![2]!, 30_000);
  assert.equal(rec.cause, id);
  assert.deepEqual(rec.response.result.got, { bound: 'b', cli: true });
  const bulk = await runCli(['activations', 'replay', '--function', 'echo', '--limit', '1', '--output', 'json'], { env: c.env });
  assert.equal(bulk.code, 0, bulk.stderr);
  assert.equal(JSON.parse(bulk.stdout).replayed, 1);
  const none = await runCli(['activations', 'replay'], { env: c.env });
  assert.notEqual(none.code, 0);
});
