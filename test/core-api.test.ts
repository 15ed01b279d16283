// The REST API against a real server: info, auth, actions and packages CRUD, invoke semantics, status mapping,
// activation lists and filters, limits and throttles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, putAction, waitForRecord, type TestServer } from './helpers/server.js';

let s: TestServer;

before(async () => {
  s = await startServer({ env: { FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000' } });
});
after(async () => {
  await s.stop();
  s.cleanup();
});

const invoke = (name: string, params: unknown = {}, query = 'blocking=true') =>
  s.api(`/api/v1/namespaces/_/actions/${name}?${query}`, { method: 'POST', json: params });

test('GET / and GET /api/v1 answer without auth with runtimes and limits (D10); browsers go to the console', async () => {
  for (const path of ['/', '/api/v1']) {
    const r = await fetch(s.url + path);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.deepEqual(body.runtimes.nodejs.map((k: any) => [k.kind, k.default, k.deprecated]), [['nodejs:20', true, false]]);
    assert.deepEqual(body.runtimes.python.map((k: any) => [k.kind, k.default]), [['python:3.11', true]]);
    assert.deepEqual(body.limits, {
      actions_per_minute: 100000, triggers_per_minute: 60, concurrent_actions: 120, sequence_length: 50,
      min_action_duration: 100, max_action_duration: 900000, min_action_memory: 134217728, max_action_memory: 1073741824,
      min_action_logs: 0, max_action_logs: 10485760,
    });
  }
  const v1 = await (await fetch(s.url + '/api/v1')).json();
  assert.equal(v1.api_version, '1.0.0');
  assert.equal(typeof v1.flare.sandbox.isolated, 'boolean');
  const html = await fetch(s.url + '/', { headers: { accept: 'text/html' }, redirect: 'manual' });
  assert.equal(html.status, 302);
  assert.equal(html.headers.get('location'), '/console/');
});

test('auth: 401 with WWW-Authenticate, the caller namespace list, 403 for another namespace, CORS and request ids', async () => {
  const missing = await fetch(`${s.url}/api/v1/namespaces/_/actions`);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('www-authenticate'), 'Basic realm="OpenWhisk secure realm"');
  assert.equal((await missing.json()).error, 'The resource requires authentication, which was not supplied with the request');
  const bad = await fetch(`${s.url}/api/v1/namespaces`, { headers: { authorization: 'Basic ' + Buffer.from('x:y').toString('base64') } });
  assert.equal(bad.status, 401);
  assert.equal((await bad.json()).error, 'The supplied authentication is invalid');
  const wrongKey = s.auth.slice(0, -1) + (s.auth.endsWith('a') ? 'b' : 'a');
  const wrong = await fetch(`${s.url}/api/v1/namespaces`, { headers: { authorization: 'Basic ' + Buffer.from(wrongKey).toString('base64') } });
  assert.equal(wrong.status, 401);
  const ns = await s.api('/api/v1/namespaces');
  assert.deepEqual(await ns.json(), [s.namespace]);
  const other = await s.api('/api/v1/namespaces/someone-else/actions');
  assert.equal(other.status, 403);
  assert.equal((await other.json()).error, "The supplied authentication is not authorized to access 'someone-else'.");
  const withId = await s.api('/api/v1/namespaces/_/actions', { headers: { 'x-request-id': 'my-trace-1' } });
  assert.equal(withId.headers.get('x-request-id'), 'my-trace-1');
  assert.equal(withId.headers.get('access-control-allow-origin'), '*');
  const opt = await fetch(`${s.url}/api/v1/namespaces/_/actions`, { method: 'OPTIONS' });
  assert.equal(opt.status, 200);
  const unknown = await s.api('/api/v1/nope');
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).code, /^[A-Za-z0-9]{32}$/);
});

test('actions: create, 409 without overwrite, update bumps the version, code=false, list/count/skip, delete', async () => {
  const a = await putAction(s, 'crud', 'function main(){return {v:1}}', { parameters: [{ key: 'p', value: 1 }], annotations: [{ key: 'x', value: 'y' }] }, 'nodejs:default');
  assert.equal(a.version, '0.0.1');
  assert.equal(a.exec.kind, 'nodejs:20');
  assert.equal(a.exec.binary, false);
  assert.deepEqual(a.limits, { timeout: 60000, memory: 256, logs: 10, concurrency: 1 });
  assert.deepEqual(a.annotations, [{ key: 'x', value: 'y' }, { key: 'provide-api-key', value: false }, { key: 'exec', value: 'nodejs:20' }]);
  const again = await s.api('/api/v1/namespaces/_/actions/crud', { method: 'PUT', json: { exec: { kind: 'nodejs:20', code: 'x' } } });
  assert.equal(again.status, 409);
  assert.equal((await again.json()).error, 'resource already exists');
  const upd = await s.api('/api/v1/namespaces/_/actions/crud?overwrite=true', { method: 'PUT', json: { limits: { timeout: 5000 } } });
  assert.equal(upd.status, 200);
  const u = await upd.json();
  assert.equal(u.version, '0.0.2');
  assert.equal(u.exec.code, 'function main(){return {v:1}}');
  assert.equal(u.limits.timeout, 5000);
  assert.deepEqual(u.parameters, [{ key: 'p', value: 1 }]);
  const noCode = await (await s.api('/api/v1/namespaces/_/actions/crud?code=false')).json();
  assert.equal(noCode.exec.code, undefined);
  assert.equal(noCode.exec.kind, 'nodejs:20');
  await putAction(s, 'crud2', 'function main(){return {}}');
  const list = await (await s.api('/api/v1/namespaces/_/actions?limit=1')).json();
  assert.equal(list.length, 1);
  assert.equal(list[0].name, 'crud2');
  assert.deepEqual(Object.keys(list[0]).sort(), ['annotations', 'exec', 'limits', 'name', 'namespace', 'publish', 'updated', 'version']);
  assert.deepEqual(list[0].exec, { binary: false });
  const skipped = await (await s.api('/api/v1/namespaces/_/actions?limit=1&skip=1')).json();
  assert.equal(skipped[0].name, 'crud');
  const count = await (await s.api('/api/v1/namespaces/_/actions?count=true')).json();
  assert.ok(count.actions >= 2);
  const del = await s.api('/api/v1/namespaces/_/actions/crud2', { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.equal((await del.json()).name, 'crud2');
  assert.equal((await s.api('/api/v1/namespaces/_/actions/crud2')).status, 404);
  assert.equal((await s.api('/api/v1/namespaces/_/actions/crud2', { method: 'DELETE' })).status, 404);
  // delete and re-create starts again at 0.0.1
  const re = await putAction(s, 'crud2', 'function main(){return {}}');
  assert.equal(re.version, '0.0.1');
});

test('actions: validation errors use OpenWhisk messages and statuses', async () => {
  const cases: Array<[unknown, number, string | RegExp]> = [
    [{}, 400, 'exec undefined'],
    [{ exec: { kind: 'java:8', code: 'x' } }, 400, /^The specified runtime 'java:8' is not supported by this platform\. Valid values are: 'nodejs:20', 'python:3\.11'(, 'go:1\.\d+')?(, 'php:8\.2')?, 'blackbox'\.$/],
    // A kind DigitalOcean lists that Flare does not run is refused naming the kinds Flare offers.
    [{ exec: { kind: 'nodejs:18', code: 'x' } }, 400, /^The specified runtime 'nodejs:18' is not supported by this platform\. Valid values are: 'nodejs:20', /],
    [{ exec: { kind: 'blackbox', image: 'openwhisk/example' } }, 400, /^Docker images are not supported on this platform/],
    [{ exec: { kind: 'nodejs:20', code: 'x' }, limits: { timeout: 1000000 } }, 400, 'timeout 1000000 milliseconds exceeds allowed threshold of 900000 milliseconds'],
    [{ exec: { kind: 'nodejs:20', code: 'x' }, limits: { timeout: 50 } }, 400, 'timeout 50 milliseconds below allowed threshold of 100 milliseconds'],
    [{ exec: { kind: 'nodejs:20', code: 'x' }, limits: { timeout: 1.5 } }, 400, 'time limit must be whole number'],
    [{ exec: { kind: 'nodejs:20', code: 'x' }, limits: { memory: 2048 } }, 400, 'memory size 2048 MB exceeds allowed threshold of 1024 MB'],
    [{ exec: { kind: 'nodejs:20', code: 'x' }, limits: { logs: 11 } }, 400, 'log size 11 MB exceeds allowed threshold of 10 MB'],
    [{ exec: { kind: 'nodejs:20', code: 'x' }, parameters: 'nope' }, 400, /^The request content was malformed:\n/],
  ];
  for (const [body, status, msg] of cases) {
    const r = await s.api('/api/v1/namespaces/_/actions/bad?overwrite=true', { method: 'PUT', json: body });
    assert.equal(r.status, status, JSON.stringify(body));
    const e = await r.json();
    if (typeof msg === 'string') assert.equal(e.error, msg);
    else assert.match(e.error, msg);
    assert.equal(typeof e.code, 'string');
  }
  const malformed = await s.api('/api/v1/namespaces/_/actions/bad', { method: 'PUT', body: '{not json', headers: { 'content-type': 'application/json' } });
  assert.equal(malformed.status, 400);
  assert.match((await malformed.json()).error, /^The request content was malformed:\n/);
  const badName = await s.api('/api/v1/namespaces/_/actions/bad%20', { method: 'PUT', json: { exec: { kind: 'nodejs:20', code: 'x' } } });
  assert.equal(badName.status, 400);
  const big = await s.api('/api/v1/namespaces/_/actions/big', { method: 'PUT', json: { exec: { kind: 'nodejs:20', code: 'x' }, parameters: [{ key: 'a', value: 'x'.repeat(1_100_000) }] } });
  assert.equal(big.status, 413);
  assert.match((await big.json()).error, /^Parameters larger than allowed: \d+ > 1048576 bytes\.$/);
});

test('packages: sample/hello, list a package, non-empty delete needs force, bindings merge parameters', async () => {
  assert.equal((await s.api('/api/v1/namespaces/_/actions/nopkg/x', { method: 'PUT', json: { exec: { kind: 'nodejs:20', code: 'x' } } })).status, 404);
  const p = await s.api('/api/v1/namespaces/_/packages/pk', { method: 'PUT', json: { parameters: [{ key: 'who', value: 'pkg' }, { key: 'keep', value: 1 }] } });
  assert.equal(p.status, 200);
  const pd = await p.json();
  assert.deepEqual(pd.binding, {});
  await putAction(s, 'pk/echo', 'function main(a){return a}');
  const inPkg = await (await s.api('/api/v1/namespaces/_/actions/pk/')).json();
  assert.deepEqual(inPkg.map((a: any) => [a.name, a.namespace]), [['echo', `${s.namespace}/pk`]]);
  const get = await (await s.api('/api/v1/namespaces/_/packages/pk')).json();
  assert.deepEqual(get.actions.map((a: any) => a.name), ['echo']);
  const r = await invoke('pk/echo', { x: 1 }, 'blocking=true&result=true');
  assert.deepEqual(await r.json(), { who: 'pkg', keep: 1, x: 1 });
  const bind = await s.api('/api/v1/namespaces/_/packages/bound', { method: 'PUT', json: { binding: { namespace: '_', name: 'pk' }, parameters: [{ key: 'who', value: 'binding' }] } });
  assert.equal(bind.status, 200);
  assert.deepEqual((await bind.json()).binding, { namespace: s.namespace, name: 'pk' });
  const viaBinding = await invoke('bound/echo', {}, 'blocking=true');
  const rec = await viaBinding.json();
  assert.deepEqual(rec.response.result, { who: 'binding', keep: 1 });
  const ann = Object.fromEntries(rec.annotations.map((a: any) => [a.key, a.value]));
  assert.equal(ann.binding, `${s.namespace}/bound`);
  assert.equal(ann.path, `${s.namespace}/pk/echo`);
  const filtered = await (await s.api('/api/v1/namespaces/_/activations?name=bound/echo')).json();
  assert.deepEqual(filtered.map((a: any) => a.activationId), [rec.activationId]);
  assert.equal((await s.api('/api/v1/namespaces/_/actions/bound/new', { method: 'PUT', json: { exec: { kind: 'nodejs:20', code: 'x' } } })).status, 400);
  const refuse = await s.api('/api/v1/namespaces/_/packages/pk', { method: 'DELETE' });
  assert.equal(refuse.status, 409);
  assert.equal((await refuse.json()).error, 'Package not empty (contains 1 entity). Set force param or delete package contents.');
  assert.equal((await s.api('/api/v1/namespaces/_/packages/pk?force=true', { method: 'DELETE' })).status, 200);
  assert.equal((await s.api('/api/v1/namespaces/_/actions/pk/echo')).status, 404);
  const reserved = await s.api('/api/v1/namespaces/_/packages/default', { method: 'PUT', json: {} });
  assert.equal(reserved.status, 400);
});

test('invoke: status codes 0/1/2 map to HTTP 200/502, result=true bodies, array results, logs empty on blocking', async () => {
  await putAction(s, 'ok', 'function main(a){ console.log("log line"); return {a: a.a} }');
  await putAction(s, 'apperr', 'function main(){ return {error: "nope"} }');
  await putAction(s, 'reject', 'function main(){ return Promise.reject(new Error("bad")) }');
  await putAction(s, 'throws', 'function main(){ throw new Error("boom") }');
  await putAction(s, 'nonobj', 'function main(){ return 42 }');
  await putAction(s, 'arr', 'function main(){ return [1,2] }');
  await putAction(s, 'exports', 'exports.main = async (a) => ({ via: "exports" })');

  const ok = await invoke('ok', { a: 1 });
  assert.equal(ok.status, 200);
  const okRec = await ok.json();
  assert.deepEqual(okRec.logs, []);
  assert.equal(okRec.statusCode, 0);
  const full = await waitForRecord(s, okRec.activationId);
  assert.equal(full.logs.length, 1);

  const app = await invoke('apperr');
  assert.equal(app.status, 502);
  const appRec = await app.json();
  assert.equal(appRec.statusCode, 1);
  assert.equal(appRec.response.status, 'application error');
  assert.deepEqual(appRec.response.result, { error: 'nope' });
  const appResult = await invoke('apperr', {}, 'blocking=true&result=true');
  assert.equal(appResult.status, 502);
  assert.deepEqual(await appResult.json(), { error: 'nope' });

  const rej = await (await invoke('reject')).json();
  assert.equal(rej.statusCode, 1);

  const thr = await invoke('throws');
  assert.equal(thr.status, 502);
  const thrRec = await thr.json();
  assert.equal(thrRec.statusCode, 2);
  assert.equal(thrRec.response.status, 'action developer error');
  assert.match(thrRec.response.result.error, /boom/);

  const non = await (await invoke('nonobj')).json();
  assert.equal(non.statusCode, 2);
  assert.equal(non.response.result.error, 'The action did not return a dictionary.');

  const arr = await invoke('arr');
  assert.equal(arr.status, 200);
  assert.deepEqual(await arr.json(), [1, 2]);

  assert.deepEqual(await (await invoke('exports', {}, 'blocking=true&result=true')).json(), { via: 'exports' });

  const missing = await invoke('does-not-exist');
  assert.equal(missing.status, 404);
  const notObj = await s.api('/api/v1/namespaces/_/actions/ok', { method: 'POST', json: [1] });
  assert.equal(notObj.status, 400);
  const big = await s.api('/api/v1/namespaces/_/actions/ok', { method: 'POST', json: { x: 'y'.repeat(1_048_600) } });
  assert.equal(big.status, 413);
  assert.match((await big.json()).error, /^Request larger than allowed: \d+ > 1048576 bytes\.$/);
});

test('invoke: the action timeout kills the run (D6), init parameters become environment variables', async () => {
  await putAction(s, 'forever', 'function main(){ return new Promise(() => {}) }', { limits: { timeout: 300 } });
  const t = await invoke('forever');
  assert.equal(t.status, 502);
  const rec = await t.json();
  assert.equal(rec.statusCode, 2);
  assert.deepEqual(rec.response.result, { error: 'The action exceeded its time limits of 300 milliseconds.' });
  assert.equal(rec.annotations.find((a: any) => a.key === 'timeout').value, true);
  await putAction(s, 'envy', 'function main(a){ return { env: process.env.SECRET_TOKEN, arg: a.SECRET_TOKEN === undefined, ns: process.env.__OW_NAMESPACE } }', {
    parameters: [{ key: 'SECRET_TOKEN', value: 's3cr3t', init: true }],
  });
  const env = await (await invoke('envy', {}, 'blocking=true&result=true')).json();
  assert.deepEqual(env, { env: 's3cr3t', arg: true, ns: s.namespace });
});

test('records: initTime only on a cold start; a new version runs cold again', async () => {
  await putAction(s, 'coldwarm', 'function main(){ return {} }');
  const first = await (await invoke('coldwarm')).json();
  const second = await (await invoke('coldwarm')).json();
  const keys = (r: any) => r.annotations.map((a: any) => a.key);
  assert.ok(keys(first).includes('initTime'), 'first call is cold');
  assert.ok(!keys(second).includes('initTime'), 'second call is warm');
  await s.api('/api/v1/namespaces/_/actions/coldwarm?overwrite=true', { method: 'PUT', json: { exec: { kind: 'nodejs:20', code: 'function main(){ return {v:2} }' } } });
  const third = await (await invoke('coldwarm')).json();
  assert.equal(third.version, '0.0.2');
  assert.deepEqual(third.response.result, { v: 2 });
  assert.ok(keys(third).includes('initTime'));
});

test('activations: list filters (name, since/upto, docs, count, skip) and parameter errors', async () => {
  await putAction(s, 'lister', 'function main(a){ return {i: a.i} }');
  const ids: string[] = [];
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const rec = await (await invoke('lister', { i })).json();
    ids.push(rec.activationId);
    starts.push(rec.start);
  }
  const byName = await (await s.api('/api/v1/namespaces/_/activations?name=lister&limit=0')).json();
  assert.deepEqual(byName.map((a: any) => a.activationId), [...ids].reverse());
  assert.deepEqual(await (await s.api('/api/v1/namespaces/_/activations?name=lister&count=true')).json(), { activations: 5 });
  const docs = await (await s.api('/api/v1/namespaces/_/activations?name=lister&docs=true&limit=2&skip=1')).json();
  assert.deepEqual(docs.map((a: any) => a.response.result.i), [3, 2]);
  const window = await (await s.api(`/api/v1/namespaces/_/activations?name=lister&since=${starts[1]}&upto=${starts[3]}`)).json();
  assert.ok(window.every((a: any) => a.start >= starts[1]! && a.start <= starts[3]!));
  assert.ok(window.some((a: any) => a.activationId === ids[1]) && window.some((a: any) => a.activationId === ids[3]));
  const errors: Array<[string, string]> = [
    ['limit=201', "The value '201' is not in the range of 0 to 200 for activations."],
    ['limit=x', "The value 'x' is not an integer for activations."],
    ['skip=-1', "The value '-1' is not greater than or equal to 0 for activations."],
    ['since=yesterday', 'Parameter is not a valid value for epoch seconds: yesterday'],
    ['count=true&docs=true', "The parameter 'docs' is not permitted with 'count'."],
    ['name=a/b/c', "Parameter may be a 'simple' name or 'package-name/simple' name: a/b/c"],
  ];
  for (const [q, msg] of errors) {
    const r = await s.api(`/api/v1/namespaces/_/activations?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal((await r.json()).error, msg);
  }
  const shortId = await s.api('/api/v1/namespaces/_/activations/abc');
  assert.equal(shortId.status, 400);
  assert.equal((await shortId.json()).error, 'Activation id length is 3 but must be 32.');
});

test('limits endpoint reports the namespace limits', async () => {
  const l = await (await s.api('/api/v1/namespaces/_/limits')).json();
  assert.equal(l.concurrentInvocations, 120);
  assert.equal(l.invocationsPerMinute, 100000);
  assert.equal(l.maxActionTimeout, 900000);
});

test('web actions: synchronous only (D12), http mapping, and a record is kept', async () => {
  await putAction(s, 'webby', 'function main(a){ return { statusCode: 201, headers: {"x-hello": "yes"}, body: "hi " + (a.who || "you") + " " + a.__ow_method } }', {
    annotations: [{ key: 'web-export', value: true }],
  });
  await putAction(s, 'notweb', 'function main(){ return {} }');
  const r = await fetch(`${s.url}/api/v1/web/${s.namespace}/default/webby?who=me`);
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('x-hello'), 'yes');
  assert.equal(await r.text(), 'hi me get');
  const id = r.headers.get('x-openwhisk-activation-id')!;
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal((await waitForRecord(s, id)).statusCode, 0);
  const asyncTry = await fetch(`${s.url}/api/v1/web/${s.namespace}/default/webby?blocking=false`);
  assert.equal(asyncTry.status, 400);
  assert.equal((await asyncTry.json()).error, 'Web functions cannot be invoked asynchronously. Use the REST API with blocking=false instead.');
  assert.equal((await fetch(`${s.url}/api/v1/web/${s.namespace}/default/notweb`)).status, 404);
  const json = await fetch(`${s.url}/api/v1/web/${s.namespace}/default/webby.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"who":"post"}' });
  assert.equal(json.status, 200);
  assert.equal((await json.json()).body, 'hi post post');
});

test('logs stay with their activation when quiet and logging runs alternate on one warm executor', async () => {
  await putAction(s, 'chatty', 'function main(a){ if (a.out) console.log(a.out); if (a.err) console.error(a.err); if (a.partial) process.stdout.write(a.partial); return {} }');
  const calls = [{ out: 'one' }, {}, { err: 'two' }, {}, { partial: 'no newline' }, {}, { out: 'three', err: 'four' }];
  const got: string[][] = [];
  for (const p of calls) {
    const rec = await (await invoke('chatty', p)).json();
    const full = await waitForRecord(s, rec.activationId);
    got.push(full.logs.map((l: string) => l.slice(31)).sort()); // stdout and stderr are separate pipes: no order between them
  }
  assert.deepEqual(got, [['stdout: one'], [], ['stderr: two'], [], ['stdout: no newline'], [], ['stderr: four', 'stdout: three']]);
});
