// Run control end to end (issue 10, run-control spec §4.1–4.3, §4.11): an activation is seen queued (the invoker's
// only slot is taken), then running, through the in-flight 404, /status and `?state=` lists; `?wait` and
// `Prefer: wait` answer the moment the record commits, or on expiry exactly what the GET without wait answers.
// The same holds across nodes: an `api` node and an `invoker` node on PostgreSQL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, waitFor, type TestServer } from './helpers/server.js';
import { readEvents } from './helpers/sse.js';
import { runCli, tempConfigDir } from './helpers/cli.js';

const NOT_FOUND =
  "The requested activation record does not exist. This either means that the invocation is still running and the record is not yet created or the activation's retention period has already expired.";

// Logs a line every 100 ms for `ms` (default 2.5 s), then answers; with `progress`, publishes {tick} every 5 ticks.
const TICKER = `async function main(p, context) {
  const until = Date.now() + (p.ms || 2500);
  let i = 0;
  while (Date.now() < until) {
    console.log('tick ' + i++);
    if (p.progress && i % 5 === 0) context.progress({ tick: i });
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ticks: i };
}`;

// Answers by mode: succeeded (0), application error (1), developer error (2).
const FLAKY = `function main(p) {
  if (p.mode === 'app') return { error: 'refused' };
  if (p.mode === 'dev') throw new Error('broken');
  return { ok: true };
}`;

/** One 256 MB executor slot: a second invocation stays queued while the first runs. */
const ENV = { FLARE_INVOKER_MEMORY_MB: '256', FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000', FLARE_LOG_FOLLOW_MARGIN_MS: '1000' };

async function invokeAsync(s: TestServer, name: string, params: unknown = {}): Promise<string> {
  const r = await s.api(`/api/v1/namespaces/_/actions/${name}?blocking=false`, { method: 'POST', json: params });
  const body = (await r.json()) as { activationId: string };
  assert.equal(r.status, 202, JSON.stringify(body));
  return body.activationId;
}

async function status(s: TestServer, id: string, query = ''): Promise<any> {
  const r = await s.api(`/api/v1/namespaces/_/activations/${id}/status${query}`);
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

const waitState = (s: TestServer, id: string, state: string) =>
  waitFor(async () => ((await status(s, id)).state === state ? true : undefined), 20_000);

/** The checks, against an API node `api` (which may or may not run the invoker). */
function runControlChecks(get: () => { api: TestServer }) {
  it('queued → running → succeeded: in-flight 404, /status, ?state lists, waits', async () => {
    const { api } = get();
    await putAction(api, 'ticker', TICKER, { limits: { memory: 256 } });
    const version = (await (await api.api('/api/v1/namespaces/_/actions/ticker')).json()).version;

    const a = await invokeAsync(api, 'ticker', { ms: 6000 }); // long enough to see b queued on a loaded machine
    await waitState(api, a, 'running');
    const b = await invokeAsync(api, 'ticker', { ms: 300 });
    const sb = await status(api, b);
    assert.equal(sb.state, 'queued');
    assert.equal(sb.start, undefined);
    assert.equal(sb.name, 'ticker');
    assert.equal(sb.version, version);

    // In flight: the seed's 404, with state fields after `error` and `code`.
    const r = await api.api(`/api/v1/namespaces/_/activations/${a}`);
    const body = await r.json();
    assert.equal(r.status, 404);
    assert.equal(body.error, NOT_FOUND);
    assert.equal(typeof body.code, 'string');
    assert.deepEqual(Object.keys(body).slice(0, 2), ['error', 'code']);
    assert.equal(body.activationId, a);
    assert.equal(body.state, 'running');
    assert.equal(body.name, 'ticker');
    assert.equal(body.version, version);
    assert.equal(typeof body.queuedAt, 'number');
    assert.ok(body.start >= body.queuedAt - 1_000, JSON.stringify(body));
    for (const sub of ['result', 'logs']) {
      const rs = await api.api(`/api/v1/namespaces/_/activations/${a}/${sub}`);
      assert.equal(rs.status, 404);
      assert.equal((await rs.json()).state, 'running');
    }
    const rb = await (await api.api(`/api/v1/namespaces/_/activations/${b}`)).json();
    assert.equal(rb.state, 'queued');
    assert.equal(rb.start, undefined);

    // Unknown ids: the same 404 without state; /status too.
    const unknown = 'f'.repeat(32);
    const ru = await api.api(`/api/v1/namespaces/_/activations/${unknown}`);
    assert.equal(ru.status, 404);
    assert.deepEqual(Object.keys(await ru.json()), ['error', 'code']);
    const su = await api.api(`/api/v1/namespaces/_/activations/${unknown}/status?wait=5000`);
    assert.equal(su.status, 404); // nothing to wait for: answered at once
    assert.deepEqual(Object.keys(await su.json()), ['error', 'code']);

    // Lists: in-flight entries only when an in-flight state is asked.
    const list = async (q: string) => (await (await api.api(`/api/v1/namespaces/_/activations?${q}`)).json()) as any[];
    const both = await list('state=queued,running&name=ticker');
    assert.deepEqual(new Set(both.map((x) => `${x.activationId}:${x.state}`)), new Set([`${a}:running`, `${b}:queued`]));
    for (const x of both) assert.equal(x.end, undefined);
    assert.deepEqual((await list('state=running')).map((x) => x.activationId), [a]);
    assert.deepEqual((await list('state=queued&name=other')).length, 0);
    assert.equal((await list('')).some((x) => x.activationId === a || x.activationId === b), false);
    assert.deepEqual(await (await api.api('/api/v1/namespaces/_/activations?state=queued,running&count=true')).json(), { activations: 2 });
    const bad = await api.api('/api/v1/namespaces/_/activations?state=sleeping');
    assert.equal(bad.status, 400);

    // Prefer: wait on a queued activation expires: exactly the in-flight 404, with Preference-Applied.
    const t0 = Date.now();
    const rp = await api.api(`/api/v1/namespaces/_/activations/${b}`, { headers: { Prefer: 'wait=1' } });
    assert.equal(rp.status, 404);
    assert.equal(rp.headers.get('preference-applied'), 'wait=1');
    assert.ok(Date.now() - t0 >= 900, 'waited about a second');
    assert.equal((await rp.json()).state, 'queued');

    // ?wait on the running one answers once its record commits.
    const rw = await api.api(`/api/v1/namespaces/_/activations/${a}/result?wait=120000`);
    assert.equal(rw.status, 200);
    const result = await rw.json();
    assert.equal(result.success, true);
    assert.ok(result.result.ticks >= 10);
    const sa = await status(api, a);
    assert.equal(sa.state, 'succeeded');
    assert.equal(sa.statusCode, 0);
    assert.ok(sa.end >= sa.start && typeof sa.duration === 'number');
    for (const k of ['params', 'result', 'response', 'logs']) assert.equal(sa[k], undefined);

    // The queued one now runs; /status?wait returns its finished status promptly after completion.
    const sw = await status(api, b, '?wait=30000');
    assert.equal(sw.state, 'succeeded');
    const logs = await (await api.api(`/api/v1/namespaces/_/activations/${b}/logs?wait=100`)).json();
    assert.ok(logs.logs.length >= 1);
    assert.deepEqual((await list('state=succeeded&name=ticker')).map((x) => x.activationId).sort(), [a, b].sort());
    assert.deepEqual(await list('state=failed,cancelled&name=ticker'), []);
  });

  it('progress: the latest value shows in /status and the in-flight 404, and is gone from the finished status', async () => {
    const { api } = get();
    const id = await invokeAsync(api, 'ticker', { ms: 4000, progress: true });
    const st = await waitFor(async () => {
      const x = await status(api, id);
      return x.state === 'running' && (x.progress?.tick ?? 0) >= 10 ? x : undefined;
    }, 20_000);
    assert.equal(st.progress.tick % 5, 0);
    const r = await api.api(`/api/v1/namespaces/_/activations/${id}`);
    assert.equal(r.status, 404);
    const body = await r.json();
    assert.equal(body.error, NOT_FOUND);
    assert.equal(body.state, 'running');
    assert.ok(body.progress.tick >= st.progress.tick, JSON.stringify(body));
    const done = await status(api, id, '?wait=60000');
    assert.equal(done.state, 'succeeded');
    assert.equal(done.progress, undefined);
  });

  it('a live stream lasts the action timeout plus the margin, then `timeout`; a resumed stream gets the rest', async () => {
    const { api } = get();
    await putAction(api, 'quick', `async function main() { console.log('quick ran'); return { ok: true }; }`, { limits: { memory: 256, timeout: 1000 } });
    const blocker = await invokeAsync(api, 'ticker', { ms: 5000 });
    await waitState(api, blocker, 'running');
    const q = await invokeAsync(api, 'quick');
    assert.equal((await status(api, q)).state, 'queued');
    const t0 = Date.now();
    const first = await readEvents(await api.api(`/api/v1/namespaces/_/activations/${q}/logs?follow=true`, { headers: { accept: 'text/event-stream' } }));
    const took = Date.now() - t0;
    assert.equal(first.at(-1)?.event, 'timeout', JSON.stringify(first));
    assert.ok(took >= 1_500 && took < 4_500, `timeout + margin = 2 s; the stream lasted ${took} ms`);
    // Reconnecting (as clients do on `timeout`) until the end: the line arrives once.
    const lines: string[] = [];
    for (let i = 0; ; i++) {
      const rest = await readEvents(await api.api(`/api/v1/namespaces/_/activations/${q}/logs?follow=true`, { headers: { accept: 'text/event-stream' } }));
      lines.push(...rest.filter((e) => e.event === 'log').map((e) => e.data));
      if (rest.at(-1)?.event === 'end') break;
      assert.equal(rest.at(-1)?.event, 'timeout');
      assert.ok(i < 10, 'the activation ended');
    }
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /stdout: quick ran$/);
    await status(api, blocker, '?wait=60000');
  });

  it('?state= terminal lists read the statusCode index, page by cursor, and count', async () => {
    const { api } = get();
    await putAction(api, 'flaky', FLAKY, { limits: { memory: 256 } });
    const ids: Record<string, string[]> = { ok: [], app: [], dev: [] };
    for (const mode of ['ok', 'app', 'dev', 'ok', 'app', 'dev', 'app']) {
      const r = await api.api('/api/v1/namespaces/_/actions/flaky?blocking=true', { method: 'POST', json: { mode } });
      ids[mode]!.push((await r.json()).activationId);
    }
    const list = async (q: string) => {
      const r = await api.api(`/api/v1/namespaces/_/activations?name=flaky&${q}`);
      assert.equal(r.status, 200);
      return { ids: ((await r.json()) as any[]).map((x) => x.activationId as string), next: r.headers.get('flare-next-cursor') };
    };
    const sorted = (a: string[]) => [...a].sort();
    assert.deepEqual(sorted((await list('state=succeeded')).ids), sorted(ids.ok!));
    assert.deepEqual(sorted((await list('state=failed')).ids), sorted([...ids.app!, ...ids.dev!]));
    assert.deepEqual((await list('state=cancelled')).ids, []);
    assert.deepEqual(sorted((await list('state=failed&statusCode=1')).ids), sorted(ids.app!));
    assert.deepEqual((await list('state=succeeded&statusCode=2')).ids, []);
    assert.deepEqual(sorted((await list('state=running,failed&statusCode=2')).ids), sorted(ids.dev!), 'in-flight entries have no statusCode');
    assert.deepEqual(await (await api.api('/api/v1/namespaces/_/activations?name=flaky&state=failed&count=true')).json(), { activations: 5 });
    // The same records as the plain list, in the same order.
    const plain = ((await (await api.api('/api/v1/namespaces/_/activations?name=flaky')).json()) as any[]).map((x) => x.activationId);
    assert.deepEqual((await list('state=succeeded,failed,cancelled')).ids, plain);
    // Cursor pages: every failed record once.
    const p1 = await list('state=failed&limit=3');
    assert.equal(p1.ids.length, 3);
    assert.ok(p1.next);
    const p2 = await list(`state=failed&limit=3&cursor=${p1.next}`);
    assert.deepEqual(sorted([...p1.ids, ...p2.ids]), sorted([...ids.app!, ...ids.dev!]));
    assert.equal((await api.api(`/api/v1/namespaces/_/activations?state=failed&cursor=${p1.next}&skip=1`)).status, 400);
  });

  it('CLI: activations list --state shows running/queued with elapsed time; get|result --wait block until done', async () => {
    const { api } = get();
    const env = { FLARE_CONFIG_DIR: tempConfigDir() };
    assert.equal((await runCli(['connect', '--apihost', api.url, '--auth', api.auth], { env })).code, 0);
    const a = await invokeAsync(api, 'ticker', { ms: 20_000 }); // outlasts several CLI start-ups on a loaded machine
    await waitState(api, a, 'running');
    const b = await invokeAsync(api, 'ticker', { ms: 300 });
    const ls = await runCli(['activations', 'list', '--state', 'queued,running'], { env });
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^Datetime\s+Status\s+Kind\s+Version\s+Activation ID\s+Start\s+Wait\s+Duration\s+Function$/);
    const rowA = lines.find((l) => l.includes(a))!;
    const rowB = lines.find((l) => l.includes(b))!;
    assert.match(rowA, / running /);
    assert.match(rowB, / queued /);
    assert.ok(Number(/ (\d+)ms /.exec(rowA)![1]) > 0, rowA);
    const json = JSON.parse((await runCli(['activations', 'list', '--state', 'running', '-o', 'json'], { env })).stdout);
    assert.deepEqual(json.map((x: any) => `${x.activationId}:${x.state}`), [`${a}:running`]);

    // Piped: the result alone, no spinner; the record once finished.
    const res = await runCli(['activations', 'result', a, '--wait'], { env });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(JSON.parse(res.stdout).ticks >= 10);
    assert.equal(res.stderr, '');
    const got = await runCli(['activations', 'get', b, '--wait'], { env });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(JSON.parse(got.stdout).activationId, b);
    assert.equal(got.stderr, '');

    // Finished rows print the same with or without --state.
    const plain = await runCli(['activations', 'list', 'ticker', '--limit', '2'], { env });
    const byState = await runCli(['activations', 'list', 'ticker', '--limit', '2', '--state', 'succeeded'], { env });
    assert.equal(byState.stdout, plain.stdout);
    const unknown = await runCli(['activations', 'get', 'f'.repeat(32), '--wait'], { env });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /does not exist/);
  });

  it('a waiting connection that closes drops its waiter; a wait returns right after completion', async () => {
    const { api } = get();
    const id = await invokeAsync(api, 'ticker', { ms: 1500 });
    const ac = new AbortController();
    const dropped = api.api(`/api/v1/namespaces/_/activations/${id}?wait=60000`, { signal: ac.signal }).catch(() => 'aborted');
    setTimeout(() => ac.abort(), 100);
    assert.equal(await dropped, 'aborted');
    const t0 = Date.now();
    const r = await api.api(`/api/v1/namespaces/_/activations/${id}?wait=60000`);
    assert.equal(r.status, 200);
    const rec = await r.json();
    // Answered promptly after the record's end (slack for a loaded machine; bench/run.ts measures the figure).
    assert.ok(Date.now() - rec.end < 1_000, `answered ${Date.now() - rec.end} ms after end`);
    assert.ok(Date.now() - t0 < 10_000);
  });
}

describe('run control, one node', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: ENV });
  });
  after(async () => {
    await s.stop();
    s.cleanup();
  });
  runControlChecks(() => ({ api: s }));
});

describe('run control across nodes: api node + invoker node on PostgreSQL', { skip: process.env.FLARE_TEST_STORE !== 'postgres' }, () => {
  const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const SCHEMA = `flare_rc_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', SCHEMA);
  u.searchParams.set('pool_max', '4');
  const nodes: TestServer[] = [];
  const namespace = `fn-rc-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();
  before(async () => {
    nodes.push(await startServer({ namespace, auth, env: ENV, args: ['--store', u.toString(), '--role', 'api'] }));
    nodes.push(await startServer({ namespace, auth, env: ENV, args: ['--store', u.toString(), '--role', 'invoker'] }));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  });
  runControlChecks(() => ({ api: nodes[0]! }));
});
