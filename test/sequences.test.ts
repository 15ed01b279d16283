// Sequences (§5.1, §7) against a real server: PUT checks with OpenWhisk's messages, the stored and listed shapes,
// chained execution across Node.js and Python components, the sequence and component records, short-circuits, nesting,
// a component deleted before the run, blocking/non-blocking invokes, and a kill -9 while a sequence waits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startServer, putAction, newAuth, waitForRecord, waitFor, type TestServer } from './helpers/server.js';

let s: TestServer;

before(async () => {
  s = await startServer({ env: { FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000' } });
});
after(async () => {
  await s.stop();
  s.cleanup();
});

const putSeq = (name: string, components: unknown, extra: Record<string, unknown> = {}) =>
  s.api(`/api/v1/namespaces/_/actions/${name}?overwrite=true`, { method: 'PUT', json: { exec: { kind: 'sequence', components }, ...extra } });
const invoke = (name: string, params: unknown = {}, query = 'blocking=true') =>
  s.api(`/api/v1/namespaces/_/actions/${name}?${query}`, { method: 'POST', json: params });
const ann = (rec: any, key: string) => rec.annotations.find((a: any) => a.key === key)?.value;

const INC = 'function main(a) { return { n: (a.n || 0) + 1 } }';

async function expect400(res: Response, message: string): Promise<void> {
  const body = await res.json();
  assert.equal(res.status, 400, JSON.stringify(body));
  assert.equal(body.error, message);
  assert.equal(typeof body.code, 'string');
}

test('PUT: components are qualified, only _actions is kept, GET/list shapes; OpenWhisk error messages', async () => {
  await putAction(s, 'inc', INC);
  const ns = s.namespace;

  // `_` and relative names are qualified at PUT; other params are discarded for the hidden `_actions`.
  const put = await putSeq('seqshape', ['/_/inc', 'inc'], { parameters: [{ key: 'x', value: 1 }] });
  assert.equal(put.status, 200);
  const created = await put.json();
  assert.deepEqual(created.exec, { kind: 'sequence', components: [`/${ns}/inc`, `/${ns}/inc`] });
  assert.deepEqual(created.parameters, [{ key: '_actions', value: [`/${ns}/inc`, `/${ns}/inc`] }]);
  assert.equal(ann(created, 'exec'), 'sequence');
  for (const q of ['', '?code=false']) {
    const got = await (await s.api(`/api/v1/namespaces/_/actions/seqshape${q}`)).json();
    assert.deepEqual(got.exec, { kind: 'sequence', components: [`/${ns}/inc`, `/${ns}/inc`] }, q);
    assert.deepEqual(got.parameters, [{ key: '_actions', value: [`/${ns}/inc`, `/${ns}/inc`] }]);
  }
  const listed = (await (await s.api('/api/v1/namespaces/_/actions')).json()).find((a: any) => a.name === 'seqshape');
  assert.deepEqual(listed.exec, { binary: false });

  await expect400(await putSeq('bad', []), 'No component specified for the sequence.');
  await expect400(await s.api('/api/v1/namespaces/_/actions/bad', { method: 'PUT', json: { exec: { kind: 'sequence' } } }), 'No component specified for the sequence.');
  await expect400(await putSeq('selfref', ['/_/inc', '/_/selfref']), 'Sequence may not refer to itself.');
  await expect400(await putSeq('bad', ['/_/inc', '/_/nosuchaction']), 'Sequence component does not exist.');
  await expect400(await putSeq('bad', ['/_/nopkg/inc']), 'Sequence component does not exist.');
  // A cycle through a nested sequence: outer → seqshape2 → outer.
  assert.equal((await putSeq('cyc1', ['/_/inc'])).status, 200);
  assert.equal((await putSeq('cyc2', ['/_/cyc1'])).status, 200);
  await expect400(await putSeq('cyc1', ['/_/cyc2']), 'Sequence may not refer to itself.');
  // 50 atomic actions (nested ones counted) are allowed, 51 are not.
  assert.equal((await putSeq('ten', Array(10).fill('/_/inc'))).status, 200);
  const fifty = await putSeq('fifty', Array(5).fill('/_/ten'));
  assert.equal(fifty.status, 200, JSON.stringify(await fifty.clone().json()));
  await expect400(await putSeq('bad', [...Array(5).fill('/_/ten'), '/_/inc']), 'Too many actions in the sequence.');
  await expect400(await putSeq('bad', Array(51).fill('/_/inc')), 'Too many actions in the sequence.');
  const malformed = await putSeq('bad', ['/a/b/c/d']);
  assert.equal(malformed.status, 400);
  // Nothing was stored by the refused PUTs.
  assert.equal((await s.api('/api/v1/namespaces/_/actions/bad')).status, 404);
  assert.equal((await s.api('/api/v1/namespaces/_/actions/selfref')).status, 404);
});

test('a Node → Python → Node sequence chains results, with records linked by cause', async () => {
  // Package params and action params merge UNDER the incoming object; the first step sees the raw payload only.
  const pk = await s.api('/api/v1/namespaces/_/packages/chain?overwrite=true', { method: 'PUT', json: { parameters: [{ key: 'pkgp', value: 'from-pkg' }] } });
  assert.equal(pk.status, 200);
  await putAction(s, 'chain/first', `function main(a) {
    return { n: a.n + 1, pkgp: a.pkgp, sawActions: '_actions' in a, sawSeqPkg: 'seqp' in a, trail: ['node'] } }`);
  await putAction(
    s,
    'second',
    'def main(a):\n    return dict(a, n=a["n"] * 10, trail=a["trail"] + ["python"])\n',
    { parameters: [{ key: 'n', value: 999 }, { key: 'own', value: 'second-default' }], limits: { memory: 512 } },
    'python:3.11',
  );
  await putAction(s, 'third', `function main(a) { return { ...a, trail: a.trail.concat('node') } }`);
  const sp = await s.api('/api/v1/namespaces/_/packages/seqpkg?overwrite=true', { method: 'PUT', json: { parameters: [{ key: 'seqp', value: 1 }] } });
  assert.equal(sp.status, 200);
  assert.equal((await putSeq('seqpkg/three', ['/_/chain/first', '/_/second', '/_/third'])).status, 200);

  const r = await invoke('seqpkg/three', { n: 4 });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.deepEqual(body.response.result, {
    n: 50, own: 'second-default', pkgp: 'from-pkg', sawActions: false, sawSeqPkg: false, trail: ['node', 'python', 'node'],
  });
  assert.equal(r.headers.get('x-openwhisk-activation-id'), body.activationId);

  const seq = await waitForRecord(s, body.activationId);
  assert.equal(seq.name, 'seqpkg/three');
  assert.equal(seq.statusCode, 0);
  assert.equal(seq.response.statusCode, 0);
  assert.equal(seq.logs.length, 3);
  assert.equal(seq.cause, undefined);
  assert.equal(ann(seq, 'topmost'), true);
  assert.equal(ann(seq, 'kind'), 'sequence');
  assert.equal(ann(seq, 'path'), `${s.namespace}/seqpkg/three`);
  assert.equal(typeof ann(seq, 'waitTime'), 'number');
  assert.equal(ann(seq, 'causedBy'), undefined);
  assert.equal(ann(seq, 'initTime'), undefined);
  assert.equal(ann(seq, 'timeout'), undefined);
  assert.deepEqual(ann(seq, 'limits'), { concurrency: 1, logs: 10, memory: 512, timeout: 60000 });

  const comps = await Promise.all(seq.logs.map((id: string) => waitForRecord(s, id)));
  assert.deepEqual(comps.map((c) => c.name), ['chain/first', 'second', 'third']);
  assert.deepEqual(comps.map((c) => ann(c, 'kind')), ['nodejs:20', 'python:3.11', 'nodejs:20']);
  for (const c of comps) {
    assert.equal(c.cause, seq.activationId);
    assert.equal(ann(c, 'causedBy'), 'sequence');
    assert.equal(ann(c, 'topmost'), undefined);
    assert.equal(c.statusCode, 0);
  }
  assert.equal(seq.duration, comps.reduce((sum, c) => sum + c.duration, 0));
  assert.deepEqual(seq.response.result, comps[2].response.result);
  assert.ok(seq.start <= comps[0].start && seq.end >= comps[2].end);

  // result=true gives the bare result.
  const bare = await invoke('seqpkg/three', { n: 0 }, 'blocking=true&result=true');
  assert.equal(bare.status, 200);
  assert.equal((await bare.json()).n, 10);
});

test('an error result short-circuits the sequence and becomes its response', async () => {
  await putAction(s, 'inc', INC);
  await putAction(s, 'fail', 'function main(a) { return { error: "boom at " + a.n } }');
  assert.equal((await putSeq('failing', ['/_/inc', '/_/fail', '/_/inc'])).status, 200);
  const r = await invoke('failing', { n: 1 });
  const body = await r.json();
  assert.equal(r.status, 502);
  assert.deepEqual(body.response.result, { error: 'boom at 2' });
  const seq = await waitForRecord(s, body.activationId);
  assert.equal(seq.statusCode, 1);
  assert.equal(seq.response.status, 'application error');
  assert.equal(seq.response.success, false);
  assert.equal(seq.logs.length, 2, 'the third component never ran');
  const failed = await waitForRecord(s, seq.logs[1]);
  assert.equal(failed.name, 'fail');
  assert.equal(failed.statusCode, 1);
});

test('nested sequences: the inner one is a component with its own record, cause and component ids', async () => {
  await putAction(s, 'inc', INC);
  assert.equal((await putSeq('inner', ['/_/inc', '/_/inc'])).status, 200);
  assert.equal((await putSeq('outer', ['/_/inc', '/_/inner', '/_/inc'])).status, 200);
  const r = await invoke('outer', { n: 10 });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.deepEqual(body.response.result, { n: 14 });
  const outer = await waitForRecord(s, body.activationId);
  assert.equal(outer.logs.length, 3, 'the nested sequence appears as one id, not flattened');
  const inner = await waitForRecord(s, outer.logs[1]);
  assert.equal(inner.name, 'inner');
  assert.equal(inner.cause, outer.activationId);
  assert.equal(ann(inner, 'causedBy'), 'sequence');
  assert.equal(ann(inner, 'topmost'), false);
  assert.equal(ann(inner, 'kind'), 'sequence');
  assert.equal(inner.logs.length, 2);
  const innerComps = await Promise.all(inner.logs.map((id: string) => waitForRecord(s, id)));
  for (const c of innerComps) assert.equal(c.cause, inner.activationId);
  assert.equal(inner.duration, innerComps.reduce((sum, c) => sum + c.duration, 0));
  const first = await waitForRecord(s, outer.logs[0]);
  const last = await waitForRecord(s, outer.logs[2]);
  assert.equal(outer.duration, first.duration + inner.duration + last.duration);
});

test('a component deleted before the run: statusCode 1 "Sequence component does not exist."', async () => {
  await putAction(s, 'inc', INC);
  await putAction(s, 'doomed', INC);
  assert.equal((await putSeq('broken', ['/_/inc', '/_/doomed'])).status, 200);
  assert.equal((await s.api('/api/v1/namespaces/_/actions/doomed', { method: 'DELETE' })).status, 200);
  const r = await invoke('broken', { n: 1 });
  const body = await r.json();
  assert.equal(r.status, 502);
  assert.deepEqual(body.response.result, { error: 'Sequence component does not exist.' });
  const seq = await waitForRecord(s, body.activationId);
  assert.equal(seq.statusCode, 1);
  assert.equal(seq.logs.length, 1, 'only the first component ran');
  assert.equal((await waitForRecord(s, seq.logs[0])).response.result.n, 2);
});

test('arrays pass through unmerged; non-blocking returns the sequence id; a blocking wait demotes to 202', async () => {
  await putAction(s, 'arr', 'function main(a) { return [a.n, a.n + 1] }');
  await putAction(s, 'len', 'function main(a) { return { isArray: Array.isArray(a), sum: a.reduce((x, y) => x + y, 0) } }', {
    parameters: [{ key: 'ignored', value: true }],
  });
  assert.equal((await putSeq('arrays', ['/_/arr', '/_/len'])).status, 200);
  const ar = await invoke('arrays', { n: 2 }, 'blocking=true&result=true');
  assert.equal(ar.status, 200);
  assert.deepEqual(await ar.json(), { isArray: true, sum: 5 });

  await putAction(s, 'slowinc', 'async function main(a) { await new Promise((r) => setTimeout(r, Number(a.sleep))); return { n: (a.n || 0) + 1, sleep: a.sleep } }');
  assert.equal((await putSeq('slowseq', ['/_/slowinc', '/_/slowinc'])).status, 200);
  const nb = await invoke('slowseq', { n: 0, sleep: 50 }, 'blocking=false');
  assert.equal(nb.status, 202);
  const { activationId } = await nb.json();
  assert.match(activationId, /^[0-9a-f]{32}$/);
  const rec = await waitForRecord(s, activationId);
  assert.equal(ann(rec, 'kind'), 'sequence');
  assert.deepEqual(rec.response.result, { n: 2, sleep: 50 });

  const demoted = await invoke('slowseq', { n: 0, sleep: 700 }, 'blocking=true&timeout=300');
  assert.equal(demoted.status, 202);
  const d = await demoted.json();
  assert.deepEqual(Object.keys(d), ['activationId']);
  const later = await waitForRecord(s, d.activationId);
  assert.equal(ann(later, 'kind'), 'sequence');
  assert.equal(later.statusCode, 0);
});

test('a web-exported sequence answers on the web route with the last component\'s response', async () => {
  await putAction(s, 'webinc', 'function main(a) { return { n: Number(a.n) + 1, m: a.__ow_method } }');
  await putAction(s, 'webbody', 'function main(a) { return { body: "n=" + a.n + " m=" + a.m } }');
  const p = await putSeq('webseq', ['/_/webinc', '/_/webbody'], { annotations: [{ key: 'web-export', value: true }] });
  assert.equal(p.status, 200);
  const r = await fetch(`${s.url}/api/v1/web/${s.namespace}/default/webseq?n=4`);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'n=5 m=get');
  const id = r.headers.get('x-openwhisk-activation-id');
  assert.ok(id);
  const rec = await waitForRecord(s, id!);
  assert.equal(ann(rec, 'kind'), 'sequence');
  assert.equal(rec.logs.length, 2);
});

test('waiting sequences hold no executor slot (one-slot node), and kill -9 while one waits still ends with a record', async () => {
  // The component leaves a mark on the host when it starts, so this server runs functions unsandboxed
  // (FLARE_SANDBOX=off, as durability.test.ts): it checks the queue and invoker, not the isolation.
  const marks = mkdtempSync(join(tmpdir(), 'flare-seq-marks-'));
  const mark = join(marks, 'started');
  // 256 MB of executor memory: one function at a time, and at most two activations in flight on this node.
  const env = { FLARE_LEASE_MS: '1500', FLARE_SANDBOX: 'off', FLARE_INVOKER_MEMORY_MB: '256' };
  let k = await startServer({ env });
  try {
    // More waiting sequences than the node has slots: if they held slots their components could never run.
    await putAction(k, 'inc', INC);
    const ps = await k.api('/api/v1/namespaces/_/actions/twice?overwrite=true', { method: 'PUT', json: { exec: { kind: 'sequence', components: ['/_/inc', '/_/inc'] } } });
    assert.equal(ps.status, 200);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await k.api('/api/v1/namespaces/_/actions/twice?blocking=false', { method: 'POST', json: { n: i } });
      assert.equal(r.status, 202);
      ids.push((await r.json()).activationId);
    }
    for (const [i, id] of ids.entries()) {
      const rec = await waitForRecord(k, id, 20_000);
      assert.equal(rec.statusCode, 0);
      assert.deepEqual(rec.response.result, { n: i + 2 });
    }

    await putAction(k, 'sleepy', `async function main() {
      require('fs').writeFileSync(${JSON.stringify(mark)}, process.env.__OW_ACTIVATION_ID);
      await new Promise((r) => setTimeout(r, 60000));
      return {} }`);
    const p = await k.api('/api/v1/namespaces/_/actions/hang?overwrite=true', { method: 'PUT', json: { exec: { kind: 'sequence', components: ['/_/sleepy'] } } });
    assert.equal(p.status, 200);
    const r = await k.api('/api/v1/namespaces/_/actions/hang?blocking=false', { method: 'POST', json: {} });
    assert.equal(r.status, 202);
    const { activationId } = await r.json();
    // The component is running, so the sequence is waiting on it: kill the node now.
    const componentId = await waitFor(async () => (existsSync(mark) ? readFileSync(mark, 'utf8') : undefined));
    await k.kill();
    k = await k.restart(env);
    const seq = await waitForRecord(k, activationId, 20_000);
    assert.equal(seq.statusCode, 3);
    assert.match(seq.response.result.error, /interrupted/);
    assert.equal(ann(seq, 'kind'), 'sequence');
    const comp = await waitForRecord(k, componentId, 20_000);
    assert.equal(comp.statusCode, 3);
    assert.equal(comp.cause, activationId);
  } finally {
    await k.stop();
    k.cleanup();
    rmSync(marks, { recursive: true, force: true });
  }
});

test('PostgreSQL, 1 API + 2 invoker nodes: components complete across nodes and wake their sequence at once', async () => {
  const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `flare_seq_${randomBytes(6).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  u.searchParams.set('pool_max', '4');
  const storeUrl = u.toString();
  const namespace = `fn-seq-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();
  // One function at a time per invoker node, so three chains of components spread over both nodes.
  const env = { FLARE_INVOKER_MEMORY_MB: '256', FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000' };
  const nodes: TestServer[] = [];
  const start = async (role: string) => {
    const n = await startServer({ namespace, auth, env, args: ['--store', storeUrl, '--role', role] });
    nodes.push(n);
    return n;
  };
  try {
    // One after another: a node that failed to start must not leave a sibling starting after the cleanup ran.
    const api = await start('api');
    await start('invoker');
    await start('invoker');
    // __OW_API_HOST of an invoker node is its own URL: it tells which node ran each component.
    await putAction(api, 'step', `async function main(a) {
      await new Promise((r) => setTimeout(r, 150));
      return { n: a.n + 1, hosts: (a.hosts || []).concat(process.env.__OW_API_HOST) } }`);
    const p = await api.api('/api/v1/namespaces/_/actions/six?overwrite=true', { method: 'PUT', json: { exec: { kind: 'sequence', components: Array(6).fill('/_/step') } } });
    assert.equal(p.status, 200);
    const results = await Promise.all([0, 10, 20].map(async (n) => {
      const r = await api.api('/api/v1/namespaces/_/actions/six?blocking=true', { method: 'POST', json: { n } });
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(body.response.result.n, n + 6);
      return body;
    }));
    const hosts = new Set(results.flatMap((b) => b.response.result.hosts));
    assert.equal(hosts.size, 2, `components ran on both invoker nodes: ${[...hosts]}`);
    assert.ok(results.some((b) => new Set(b.response.result.hosts).size === 2), 'some sequence had components on both nodes');
    // The next component is enqueued when the sequence hears of the previous record: through NOTIFY that is
    // immediate, where the 1 s safety poll alone would leave gaps of up to a second.
    let worst = 0;
    for (const b of results) {
      const seq = await waitForRecord(api, b.activationId);
      const comps = await Promise.all(seq.logs.map((id: string) => waitForRecord(api, id)));
      for (let i = 1; i < comps.length; i++) {
        const enqueued = comps[i].start - ann(comps[i], 'waitTime');
        worst = Math.max(worst, enqueued - comps[i - 1].end);
      }
    }
    assert.ok(worst < 700, `worst gap between a component's end and the next one's enqueue: ${worst} ms`);
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  }
});
