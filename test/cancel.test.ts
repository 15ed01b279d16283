// Cancel end to end (issue 10 point 5, run-control spec §4.4), on one node (both stores) and across an `api` node and
// an `invoker` node on PostgreSQL: a function that logs a line every 100 ms for 20 s and starts a grandchild process
// is cancelled while it runs (every process of it gone from the host's process table, no line after the cancel, the
// cancelled record); queued work cancelled never runs; cancel racing completion yields one record; 409 on finished
// work, 404 on unknown ids; bulk cancel; a sequence stops; SIGTERM's grace; a node dying while cancelling.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, waitFor, waitForRecord, type TestServer } from './helpers/server.js';
import { readEvents } from './helpers/sse.js';

const NOT_FOUND =
  "The requested activation record does not exist. This either means that the invocation is still running and the record is not yet created or the activation's retention period has already expired.";

// Logs a line every 100 ms for p.ms (20 s), with a grandchild shell loop; both carry the marker in their command line.
const LOGGER = `const { spawn } = require('child_process');
async function main(p) {
  process.title = 'flarecancel-' + p.marker;
  const child = spawn('/bin/sh', ['-c', 'while :; do sleep 0.2; done', 'flarecancel-' + p.marker + '-child'], { stdio: 'ignore' });
  const until = Date.now() + (p.ms || 20000);
  let i = 0;
  while (Date.now() < until) { console.log('line ' + i++); await new Promise((r) => setTimeout(r, 100)); }
  child.kill();
  return { lines: i };
}`;

// Cleans up on SIGTERM (the grace), logging it; `stubborn` ignores SIGTERM and keeps logging.
const GRACEFUL = `async function main(p) {
  process.on('SIGTERM', () => {
    console.log('cleaning up');
    if (!p.stubborn) setTimeout(() => { console.log('clean'); process.exit(0); }, 200);
  });
  for (let i = 0; i < 400; i++) { console.log('tick ' + i); await new Promise((r) => setTimeout(r, 100)); }
  return {};
}`;

const SLEEPER = `async function main(p) { await new Promise((r) => setTimeout(r, p.ms || 0)); return { slept: p.ms || 0 }; }`;
const HELLO = `function main(p) { console.log('hello ran'); return { hello: p.name || 'world' }; }`;

/** One 256 MB executor slot: a second invocation stays queued while the first runs. */
const ENV = { FLARE_INVOKER_MEMORY_MB: '256', FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000', FLARE_LIMIT_CONCURRENT: '1000' };

const ann = (rec: any, key: string) => rec.annotations.find((a: any) => a.key === key)?.value;

/** Host processes whose command line carries the marker (the sandbox's pid namespace is still on the host). */
function processesWith(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(`flarecancel-${marker}`)) found.push(`${pid}: ${cmd.trim()}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

async function invokeAsync(s: TestServer, name: string, params: unknown = {}): Promise<string> {
  const r = await s.api(`/api/v1/namespaces/_/actions/${name}?blocking=false`, { method: 'POST', json: params });
  const body = (await r.json()) as { activationId: string };
  assert.equal(r.status, 202, JSON.stringify(body));
  return body.activationId;
}

async function status(s: TestServer, id: string): Promise<any> {
  const r = await s.api(`/api/v1/namespaces/_/activations/${id}/status`);
  return r.json();
}

const waitState = (s: TestServer, id: string, state: string, ms = 30_000) =>
  waitFor(async () => ((await status(s, id)).state === state ? true : undefined), ms);

/** Follows the activation's live logs until a line ending with `text` was written (the function is past its start). */
async function waitForLine(s: TestServer, id: string, text: string): Promise<void> {
  const res = await s.api(`/api/v1/namespaces/_/activations/${id}/logs?follow=true`, { headers: { Accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  const events = await readEvents(res, { until: (e) => (e.event === 'log' && e.data.endsWith(text)) || e.event === 'end', timeoutMs: 30_000 });
  await res.body?.cancel().catch(() => undefined);
  assert.ok(events.some((e) => e.event === 'log' && e.data.endsWith(text)), `saw '${text}'`);
}

/** DELETE …/activations/{id}; a 202 (still cancelling on a loaded machine) is followed by a wait for the record. */
async function cancel(s: TestServer, id: string, query = ''): Promise<{ status: number; body: any; at: number }> {
  const r = await s.api(`/api/v1/namespaces/_/activations/${id}${query}`, { method: 'DELETE' });
  return { status: r.status, body: await r.json(), at: Date.now() };
}

/** ISO timestamp of an OpenWhisk log line → epoch ms. */
const lineTime = (line: string) => Date.parse(line.slice(0, line.indexOf('Z') + 1));

function assertCancelledRecord(rec: any, id: string, reason?: string) {
  assert.equal(rec.activationId, id);
  assert.equal(rec.statusCode, 2, JSON.stringify(rec));
  assert.equal(rec.response.status, 'action developer error');
  assert.equal(rec.response.success, false);
  assert.deepEqual(rec.response.result, { error: 'The activation was cancelled.' });
  assert.equal(ann(rec, 'cancelled'), true);
  assert.equal(typeof ann(rec, 'cancelledBy'), 'string');
  assert.ok(ann(rec, 'cancelledBy').length > 0);
  assert.equal(ann(rec, 'cancelReason'), reason);
}

function cancelChecks(get: () => { api: TestServer; runsHere: boolean }) {
  it('running: SIGTERM to the whole sandbox (grandchild too), record after every process is gone, no line after the cancel', async () => {
    const { api } = get();
    await putAction(api, 'logger', LOGGER, { limits: { memory: 256, timeout: 60_000 } });
    const marker = randomBytes(6).toString('hex');
    const id = await invokeAsync(api, 'logger', { marker, ms: 20_000 });
    await waitForLine(api, id, 'stdout: line 3');
    // The function and its grandchild are on the host's process table (this check can see them).
    await waitFor(async () => (processesWith(marker).length >= 2 ? true : undefined), 20_000);
    // A waiter and a live-log follower parked before the cancel are woken by the cancelled record.
    const waiting = api.api(`/api/v1/namespaces/_/activations/${id}?wait=60000`).then(async (r) => ({ status: r.status, body: await r.json() }));
    const follow = await api.api(`/api/v1/namespaces/_/activations/${id}/logs?follow=true`, { headers: { Accept: 'text/event-stream' } });
    const followed = readEvents(follow, { until: (e) => e.event === 'end', timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    const c = await cancel(api, id, '?reason=' + encodeURIComponent('wrong input'));
    assert.ok(c.status === 200 || c.status === 202, JSON.stringify(c.body));
    if (c.status === 202) {
      assert.deepEqual(c.body, { activationId: id, state: 'cancelling' });
    } else assertCancelledRecord(c.body, id, 'wrong input');
    const rec = c.status === 200 ? c.body : await waitForRecord(api, id, 30_000);
    assertCancelledRecord(rec, id, 'wrong input');
    // Written only once every process was gone.
    assert.deepEqual(processesWith(marker), [], 'no process of the sandbox is left');
    assert.ok(rec.logs.length >= 3, `logs up to the kill: ${rec.logs.length}`);
    assert.match(rec.logs[0], /stdout: line 0$/);
    const last = lineTime(rec.logs[rec.logs.length - 1]);
    assert.ok(last <= c.at, `no line after the cancel answered (last line ${last}, answer ${c.at})`);
    assert.ok(rec.end <= Date.now() && rec.duration >= 0);
    assert.equal(ann(rec, 'timeout'), false);
    const woken = await waiting;
    assert.equal(woken.status, 200);
    assert.deepEqual(woken.body, rec);
    const events = await followed;
    const end = events.find((e) => e.event === 'end');
    assert.ok(end, 'the follower got the end event');
    assert.equal(JSON.parse(end.data).state, 'cancelled');
    assert.equal(JSON.parse(end.data).statusCode, 2);
    const followedLines = events.filter((e) => e.event === 'log').map((e) => e.data);
    assert.deepEqual(followedLines, rec.logs, 'the follower saw exactly the record\'s lines');
    // GET answers the same record; /status says cancelled with who and why; a second cancel is idempotent.
    const got = await (await api.api(`/api/v1/namespaces/_/activations/${id}`)).json();
    assert.deepEqual(got, rec);
    const st = await status(api, id);
    assert.equal(st.state, 'cancelled');
    assert.equal(st.statusCode, 2);
    assert.equal(st.cancel.reason, 'wrong input');
    const again = await cancel(api, id);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, rec);
    // Nothing of it is left running: the same function runs again normally (a fresh executor).
    const marker2 = randomBytes(6).toString('hex');
    const r = await api.api(`/api/v1/namespaces/_/actions/logger?blocking=true&result=true`, { method: 'POST', json: { marker: marker2, ms: 300 } });
    assert.equal(r.status, 200);
    assert.ok((await r.json()).lines >= 1);
  });

  it('queued: never runs, the cancelled record at once (200); POST …/cancel alias with a reason; /status and lists show cancelling', async () => {
    const { api } = get();
    await putAction(api, 'logger', LOGGER, { limits: { memory: 256, timeout: 60_000 } });
    await putAction(api, 'hello', HELLO, { limits: { memory: 256 } });
    const blocker = await invokeAsync(api, 'logger', { marker: randomBytes(6).toString('hex'), ms: 20_000 });
    await waitState(api, blocker, 'running');
    const q1 = await invokeAsync(api, 'hello', { name: 'q1' });
    const q2 = await invokeAsync(api, 'hello', { name: 'q2' });
    assert.equal((await status(api, q1)).state, 'queued');
    const t0 = Date.now();
    const c1 = await cancel(api, q1);
    assert.equal(c1.status, 200, JSON.stringify(c1.body));
    assertCancelledRecord(c1.body, q1);
    assert.equal(c1.body.name, 'hello');
    assert.equal(c1.body.duration, 0);
    assert.equal(c1.body.start, c1.body.end);
    assert.ok(c1.body.start >= t0 - 5_000 && c1.body.start <= Date.now());
    assert.deepEqual(c1.body.logs, []);
    assert.equal(typeof ann(c1.body, 'waitTime'), 'number');
    assert.equal(ann(c1.body, 'kind'), 'nodejs:20');
    const r2 = await api.api(`/api/v1/namespaces/_/activations/${q2}/cancel`, { method: 'POST', json: { reason: 'not needed' } });
    const b2 = await r2.json();
    assert.equal(r2.status, 200, JSON.stringify(b2));
    assertCancelledRecord(b2, q2, 'not needed');
    // The blocker: POST alias without a body, then watch it leave through /status.
    const r3 = await api.api(`/api/v1/namespaces/_/activations/${blocker}/cancel`, { method: 'POST' });
    assert.ok(r3.status === 200 || r3.status === 202);
    await r3.arrayBuffer();
    await waitForRecord(api, blocker, 30_000);
    // Neither queued one ever ran: their records are still the cancelled ones, and hello has no other record.
    await new Promise((r) => setTimeout(r, 1_000));
    for (const [id, body] of [[q1, c1.body], [q2, b2]] as const) {
      assert.deepEqual(await (await api.api(`/api/v1/namespaces/_/activations/${id}`)).json(), body);
    }
    const list = await (await api.api('/api/v1/namespaces/_/activations?name=hello&docs=true&limit=50')).json();
    for (const rec of list) assert.ok(!rec.logs.some((l: string) => l.includes('hello ran')) || ![q1, q2].includes(rec.activationId));
    assert.deepEqual(list.filter((rec: any) => [q1, q2].includes(rec.activationId)).map((rec: any) => rec.statusCode), [2, 2]);
  });

  it('cancelling is a state: /status, the in-flight 404 and ?state=cancelling lists show it; 202 while the grace runs', async () => {
    const { api } = get();
    // Ignores SIGTERM: the grace (3 s) runs out, then SIGKILL.
    await putAction(api, 'stubborn', GRACEFUL, { limits: { memory: 256, timeout: 60_000 }, annotations: [{ key: 'cancel-grace-ms', value: 3_000 }] });
    const id = await invokeAsync(api, 'stubborn', { stubborn: true });
    await waitForLine(api, id, 'stdout: tick 1');
    const c = await cancel(api, id, '?reason=stop');
    assert.equal(c.status, 202, JSON.stringify(c.body));
    assert.deepEqual(c.body, { activationId: id, state: 'cancelling' });
    const st = await status(api, id);
    assert.equal(st.state, 'cancelling');
    assert.equal(st.cancel.reason, 'stop');
    assert.equal(typeof st.cancel.requestedAt, 'number');
    const nf = await api.api(`/api/v1/namespaces/_/activations/${id}`);
    const nfb = await nf.json();
    assert.equal(nf.status, 404);
    assert.equal(nfb.error, NOT_FOUND);
    assert.equal(nfb.state, 'cancelling');
    const listed = await (await api.api('/api/v1/namespaces/_/activations?state=cancelling')).json();
    assert.deepEqual(listed.map((e: any) => [e.activationId, e.state]), [[id, 'cancelling']]);
    // Idempotent while cancelling.
    const again = await cancel(api, id);
    assert.equal(again.status, 202);
    const rec = await waitForRecord(api, id, 30_000);
    assertCancelledRecord(rec, id, 'stop');
    assert.ok(rec.logs.some((l: string) => l.endsWith('stdout: cleaning up')), 'the function saw SIGTERM');
    assert.ok(rec.end - c.at >= 2_000, `the grace ran (${rec.end - c.at} ms) before SIGKILL`);
  });

  it('grace: a function that exits on SIGTERM ends early with its clean-up lines', async () => {
    const { api } = get();
    await putAction(api, 'graceful', GRACEFUL, { limits: { memory: 256, timeout: 60_000 }, annotations: [{ key: 'cancel-grace-ms', value: 10_000 }] });
    const id = await invokeAsync(api, 'graceful', {});
    await waitForLine(api, id, 'stdout: tick 1');
    const c = await cancel(api, id);
    const rec = c.status === 200 ? c.body : await waitForRecord(api, id, 30_000);
    assertCancelledRecord(rec, id);
    const texts = rec.logs.map((l: string) => l.replace(/^.*stdout: /, ''));
    assert.ok(texts.includes('cleaning up'), JSON.stringify(rec.logs));
    assert.equal(texts[texts.length - 1], 'clean', 'its last line is the clean-up, then it exited');
    assert.ok(rec.end - c.at < 8_000, 'ended when the function exited, not after the 10 s grace');
  });

  it('finished → 409 naming its status; unknown → 404; bad ids → 400; bad bodies → 400', async () => {
    const { api } = get();
    await putAction(api, 'hello', HELLO, { limits: { memory: 256 } });
    const r = await api.api('/api/v1/namespaces/_/actions/hello?blocking=true', { method: 'POST', json: {} });
    const done = await r.json();
    assert.equal(r.status, 200);
    const c = await cancel(api, done.activationId);
    assert.equal(c.status, 409);
    assert.equal(c.body.error, "The activation already completed with status 'succeeded'.");
    assert.equal(typeof c.body.code, 'string');
    assert.equal(c.body.state, 'succeeded');
    assert.deepEqual(Object.keys(c.body).slice(0, 2), ['error', 'code']);
    // The finished record is unchanged.
    const kept = await (await api.api(`/api/v1/namespaces/_/activations/${done.activationId}`)).json();
    assert.deepEqual([kept.statusCode, kept.response, kept.end], [done.statusCode, done.response, done.end]);
    const u = await cancel(api, randomBytes(16).toString('hex'));
    assert.equal(u.status, 404);
    assert.equal(u.body.error, NOT_FOUND);
    assert.equal(u.body.state, undefined);
    const pu = await api.api(`/api/v1/namespaces/_/activations/${randomBytes(16).toString('hex')}/cancel`, { method: 'POST', json: {} });
    assert.equal(pu.status, 404);
    await pu.arrayBuffer();
    const short = await cancel(api, 'abc');
    assert.equal(short.status, 400);
    assert.equal(short.body.error, 'Activation id length is 3 but must be 32.');
    for (const json of [[1], 'text', { reason: 5 }, { reason: 'x'.repeat(1_001) }]) {
      const b = await api.api(`/api/v1/namespaces/_/activations/${done.activationId}/cancel`, { method: 'POST', json });
      assert.equal(b.status, 400, JSON.stringify(json));
      assert.equal(typeof (await b.json()).error, 'string');
    }
    const failing = await putAction(api, 'failing', `function main() { return { error: 'no' }; }`, { limits: { memory: 256 } });
    assert.ok(failing);
    const f = await (await api.api('/api/v1/namespaces/_/actions/failing?blocking=true', { method: 'POST', json: {} })).json();
    const cf = await cancel(api, f.activationId);
    assert.equal(cf.status, 409);
    assert.equal(cf.body.error, "The activation already completed with status 'failed'.");
    // Without credentials: 401 like every read.
    const anon = await fetch(`${api.url}/api/v1/namespaces/_/activations/${done.activationId}`, { method: 'DELETE' });
    assert.equal(anon.status, 401);
    await anon.arrayBuffer();
  });

  it('cancel racing completion: exactly one record, and it agrees with the answer (200 cancelled / 409 succeeded)', async () => {
    const { api } = get();
    await putAction(api, 'sleeper', SLEEPER, { limits: { memory: 256 }, annotations: [{ key: 'cancel-grace-ms', value: 0 }] });
    // Warm it so the runs end at a predictable moment.
    await (await api.api('/api/v1/namespaces/_/actions/sleeper?blocking=true', { method: 'POST', json: { ms: 1 } })).arrayBuffer();
    const outcomes: number[] = [];
    for (let k = 0; k < 8; k++) {
      const id = await invokeAsync(api, 'sleeper', { ms: 300 });
      await waitState(api, id, 'running');
      await new Promise((r) => setTimeout(r, 250 + k * 15));
      const c = await cancel(api, id);
      const rec = c.status === 202 ? await waitForRecord(api, id, 30_000) : await waitForRecord(api, id, 30_000);
      if (c.status === 409) {
        assert.equal(rec.statusCode, 0, 'the cancel lost: the run succeeded');
        assert.equal(c.body.state, 'succeeded');
      } else {
        assert.ok(c.status === 200 || c.status === 202, JSON.stringify(c.body));
        assertCancelledRecord(rec, id);
        if (c.status === 200) assert.deepEqual(c.body, rec);
      }
      outcomes.push(c.status);
      // One record: the list holds this id once.
      const all = await (await api.api('/api/v1/namespaces/_/activations?name=sleeper&limit=200')).json();
      assert.equal(all.filter((x: any) => x.activationId === id).length, 1);
    }
    assert.equal(outcomes.length, 8);
  });

  it('bulk: DELETE …/activations?name&state=queued cancels the queued ones of that function only; state is required', async () => {
    const { api } = get();
    await putAction(api, 'logger', LOGGER, { limits: { memory: 256, timeout: 60_000 } });
    await putAction(api, 'hello', HELLO, { limits: { memory: 256 } });
    await putAction(api, 'other', HELLO, { limits: { memory: 256 } });
    const blocker = await invokeAsync(api, 'logger', { marker: randomBytes(6).toString('hex'), ms: 20_000 });
    await waitState(api, blocker, 'running');
    const hellos = [await invokeAsync(api, 'hello'), await invokeAsync(api, 'hello'), await invokeAsync(api, 'hello')];
    const other = await invokeAsync(api, 'other');
    for (const [q, msg] of [
      ['?name=hello', /'state' is required/],
      ['?name=hello&state=succeeded', /'succeeded' cannot be cancelled/],
      ['?name=a/b/c&state=queued', /simple/],
    ] as const) {
      const r = await api.api(`/api/v1/namespaces/_/activations${q}`, { method: 'DELETE' });
      const b = await r.json();
      assert.equal(r.status, 400, q);
      assert.match(b.error, msg);
    }
    assert.equal((await status(api, hellos[0]!)).state, 'queued', 'a refused bulk cancel changed nothing');
    const r = await api.api('/api/v1/namespaces/_/activations?name=hello&state=queued&reason=bulk', { method: 'DELETE' });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { cancelled: 3 });
    for (const id of hellos) {
      const rec = await (await api.api(`/api/v1/namespaces/_/activations/${id}`)).json();
      assertCancelledRecord(rec, id, 'bulk');
    }
    assert.equal((await status(api, other)).state, 'queued', 'another function is left alone');
    assert.equal((await status(api, blocker)).state, 'running', 'running work is left alone by state=queued');
    const all = await api.api('/api/v1/namespaces/_/activations?state=queued,running', { method: 'DELETE' });
    assert.deepEqual(await all.json(), { cancelled: 2 });
    for (const id of [other, blocker]) assertCancelledRecord(await waitForRecord(api, id, 30_000), id);
    const none = await api.api('/api/v1/namespaces/_/activations?state=queued', { method: 'DELETE' });
    assert.deepEqual(await none.json(), { cancelled: 0 });
  });

  it('sequence: cancelling it cancels the running component and starts no further one; its record is cancelled', async () => {
    const { api } = get();
    await putAction(api, 'logger', LOGGER, { limits: { memory: 256, timeout: 60_000 } });
    await putAction(api, 'hello', HELLO, { limits: { memory: 256 } });
    const ns = api.namespace;
    const put = await api.api('/api/v1/namespaces/_/actions/seqcancel?overwrite=true', {
      method: 'PUT',
      json: { exec: { kind: 'sequence', components: [`/${ns}/logger`, `/${ns}/hello`] } },
    });
    assert.equal(put.status, 200);
    await put.arrayBuffer();
    const marker = randomBytes(6).toString('hex');
    const seq = await invokeAsync(api, 'seqcancel', { marker, ms: 20_000 });
    const component = await waitFor(async () => {
      const l = await (await api.api('/api/v1/namespaces/_/activations?state=running&name=logger')).json();
      return l.find((e: any) => e.cause === seq)?.activationId as string | undefined;
    }, 30_000);
    await waitFor(async () => (processesWith(marker).length >= 2 ? true : undefined), 20_000);
    const c = await cancel(api, seq, '?reason=seq');
    assert.ok(c.status === 200 || c.status === 202, JSON.stringify(c.body));
    const rec = c.status === 200 ? c.body : await waitForRecord(api, seq, 30_000);
    assertCancelledRecord(rec, seq, 'seq');
    assert.deepEqual(rec.logs, [component], 'no further component ran');
    assert.equal(ann(rec, 'kind'), 'sequence');
    const comp = await waitForRecord(api, component, 30_000);
    assertCancelledRecord(comp, component, 'seq');
    assert.deepEqual(processesWith(marker), []);
    await new Promise((r) => setTimeout(r, 1_000));
    const caused = await (await api.api(`/api/v1/namespaces/_/activations?cause=${seq}&limit=50`)).json();
    assert.deepEqual(caused.map((x: any) => x.activationId), [component], 'hello never started');
  });
}

describe('cancel, one node', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: ENV });
  });
  after(async () => {
    await s.stop();
    s.cleanup();
  });
  cancelChecks(() => ({ api: s, runsHere: true }));
});

describe('cancel across nodes: api node + invoker node on PostgreSQL', { skip: process.env.FLARE_TEST_STORE !== 'postgres' }, () => {
  const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const SCHEMA = `flare_cx_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', SCHEMA);
  u.searchParams.set('pool_max', '4');
  const nodes: TestServer[] = [];
  const namespace = `fn-cx-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();
  const NODE_ENV = { ...ENV, FLARE_LEASE_MS: '3000' };
  before(async () => {
    nodes.push(await startServer({ namespace, auth, env: NODE_ENV, args: ['--store', u.toString(), '--role', 'api'] }));
    nodes.push(await startServer({ namespace, auth, env: NODE_ENV, args: ['--store', u.toString(), '--role', 'invoker'] }));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  });
  cancelChecks(() => ({ api: nodes[0]!, runsHere: false }));

  it('a node that dies while cancelling: recovery writes the cancelled record, never re-runs it', async () => {
    const api = nodes[0]!;
    await putAction(api, 'stubborn', GRACEFUL, { limits: { memory: 256, timeout: 60_000 }, annotations: [{ key: 'cancel-grace-ms', value: 30_000 }] });
    const id = await invokeAsync(api, 'stubborn', { stubborn: true });
    await waitForLine(api, id, 'stdout: tick 1');
    const c = await cancel(api, id, '?reason=dying');
    assert.equal(c.status, 202, JSON.stringify(c.body));
    // The invoker holding it dies in the grace (kill -9; bubblewrap's --die-with-parent takes the sandbox down).
    const invoker = nodes[1]!;
    await invoker.kill();
    assert.equal((await status(api, id)).state, 'cancelling');
    nodes[1] = await invoker.restart();
    const rec = await waitForRecord(api, id, 30_000);
    assertCancelledRecord(rec, id, 'dying');
    assert.equal(ann(rec, 'interrupted'), undefined);
    assert.ok(!rec.logs.some((l: string) => l.endsWith('stdout: tick 0') && lineTime(l) > c.at), 'never re-run');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual(await (await api.api(`/api/v1/namespaces/_/activations/${id}`)).json(), rec, 'one record');
  });
});
