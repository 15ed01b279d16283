// Real nodejs:20 functions in real child runtime processes, through the Runtime contract.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, action, request, logText, type TestRuntime } from './test-helpers.js';

let t: TestRuntime;
before(async () => {
  t = await testRuntime();
});
after(async () => {
  await t.close();
});

test('returns an object: statusCode 0, cold start has initTime, warm start does not', async () => {
  const a = action('function main(args) { return { greeting: "Hello " + args.name }; }');
  const o1 = await t.rt.run(request(a, { name: 'sammy' }));
  assert.equal(o1.statusCode, 0);
  assert.deepEqual(o1.result, { greeting: 'Hello sammy' });
  assert.equal(typeof o1.initTime, 'number');
  assert.ok(o1.end >= o1.start);
  assert.equal(o1.timeout, false);
  const o2 = await t.rt.run(request(a, { name: 'again' }));
  assert.deepEqual(o2.result, { greeting: 'Hello again' });
  assert.equal(o2.initTime, undefined);
});

test('module.exports.main, exports.main, custom main name and ESM', async () => {
  for (const [code, main] of [
    ['module.exports.main = (a) => ({ v: a.x * 2 })', undefined],
    ['exports.main = async (a) => ({ v: a.x * 2 })', undefined],
    ['function hello(a) { return { v: a.x * 2 } }', 'hello'],
    ['export function main(a) { return { v: a.x * 2 } }', undefined],
    ['import { join } from "node:path";\nexport default function (a) { return { v: a.x * 2, p: join("a","b") } }', undefined],
  ] as const) {
    const o = await t.rt.run(request(action(code, { main }), { x: 21 }));
    assert.equal(o.statusCode, 0, `${code}: ${JSON.stringify(o.result)}`);
    assert.equal((o.result as { v: number }).v, 42);
  }
});

test('statusCode mapping: error field, rejection, throw, non-object, undefined, array', async () => {
  const cases: Array<[string, number, (r: any) => void]> = [
    ['function main() { return { error: "bad" } }', 1, (r) => assert.equal(r.error, 'bad')],
    ['async function main() { throw new Error("nope") }', 1, (r) => assert.equal(r.error.message, 'nope')],
    ['function main() { return Promise.reject() }', 1, (r) => assert.deepEqual(r, { error: {} })],
    ['function main() { throw new Error("sync") }', 2, (r) => assert.equal(r.error, 'An error has occurred: Error: sync')],
    ['function main() { return "str" }', 2, (r) => assert.equal(r.error, 'The action did not return a dictionary.')],
    ['function main() { return }', 0, (r) => assert.deepEqual(r, {})],
    ['function main() { return [1, 2] }', 0, (r) => assert.deepEqual(r, [1, 2])],
    ['function main() { process.exit(3) }', 2, (r) => assert.equal(r.error, 'The action did not produce a valid response and exited unexpectedly.')],
    ['function main() { return null }', 2, (r) => assert.equal(r.error, 'The action did not produce a valid JSON or JSON Array response: null')],
  ];
  for (const [code, status, check] of cases) {
    const o = await t.rt.run(request(action(code)));
    assert.equal(o.statusCode, status, `${code}: ${JSON.stringify(o.result)}`);
    check(o.result);
  }
});

test('init failures are developer errors with OpenWhisk messages', async () => {
  const syntax = await t.rt.run(request(action('function main( {')));
  assert.equal(syntax.statusCode, 2);
  assert.match((syntax.result as any).error, /^Initialization has failed due to: [^\n]*action.js:1\n[\s\S]*SyntaxError/);
  assert.equal(typeof syntax.initTime, 'number');
  const nomain = await t.rt.run(request(action('function other() {}')));
  assert.equal(nomain.statusCode, 2);
  assert.equal((nomain.result as any).error, "Initialization has failed due to: Action entrypoint 'main' is not a function.");
  const exits = await t.rt.run(request(action('process.exit(1)')));
  assert.equal(exits.statusCode, 2);
  assert.equal((exits.result as any).error, 'The action did not initialize and exited unexpectedly.');
});

test('logs: OpenWhisk line format, both streams, per activation', async () => {
  const a = action('function main(a) { console.log("out " + a.n); console.error("err " + a.n); process.stdout.write("partial"); return {} }');
  const o1 = await t.rt.run(request(a, { n: 1 }));
  assert.deepEqual(logText(o1).sort(), ['stderr: err 1', 'stdout: out 1', 'stdout: partial'].sort());
  for (const l of o1.logs) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr): /);
  const o2 = await t.rt.run(request(a, { n: 2 }));
  assert.deepEqual(logText(o2).sort(), ['stderr: err 2', 'stdout: out 2', 'stdout: partial'].sort());
});

test('timeout kills the executor: statusCode 2, D6 message, timeout true; next call is cold', async () => {
  const a = action('function main(a) { if (a.spin) for(;;){}; return { ok: true } }', { limits: { timeout: 300 } });
  const o = await t.rt.run(request(a, { spin: true }));
  assert.equal(o.statusCode, 2);
  assert.deepEqual(o.result, { error: 'The action exceeded its time limits of 300 milliseconds.' });
  assert.equal(o.timeout, true);
  assert.ok(o.end - o.start >= 300 && o.end - o.start < 3000, `duration ${o.end - o.start}`);
  const again = await t.rt.run(request(a, {}));
  assert.equal(again.statusCode, 0);
  assert.equal(typeof again.initTime, 'number');
});

test('__OW_ env, init params as env, context object for main(event, context)', async () => {
  const a = action(
    'function main(args, ctx) { return { env: { id: process.env.__OW_ACTIVATION_ID, ns: process.env.__OW_NAMESPACE, name: process.env.__OW_ACTION_NAME, ver: process.env.__OW_ACTION_VERSION, dl: process.env.__OW_DEADLINE, host: process.env.__OW_API_HOST, key: process.env.__OW_API_KEY, tid: process.env.__OW_TRANSACTION_ID, secret: process.env.SECRET, extra: process.env.NODE_EXTRA_CA_CERTS }, ctx: { activationId: ctx.activationId, functionName: ctx.functionName, namespace: ctx.namespace, requestId: ctx.requestId, apiKey: ctx.apiKey, apiHost: ctx.apiHost, remaining: ctx.getRemainingTimeInMillis(), deadline: ctx.deadline, functionVersion: ctx.functionVersion } } }',
  );
  const req = request(a, {}, { env: { SECRET: 's3' }, apiKey: 'u:k' });
  const o = await t.rt.run(req);
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  const r = o.result as any;
  assert.equal(r.env.id, req.activationId);
  assert.equal(r.env.ns, 'guest');
  assert.equal(r.env.name, req.actionName);
  assert.equal(r.env.ver, '0.0.1');
  assert.equal(r.env.host, req.apiHost);
  assert.equal(r.env.key, 'u:k');
  assert.equal(r.env.tid, req.transactionId);
  assert.equal(r.env.secret, 's3');
  assert.equal(r.env.extra, undefined, 'the server environment must not leak');
  assert.ok(Number(r.env.dl) > Date.now() - 5000);
  assert.equal(r.ctx.activationId, req.activationId);
  assert.equal(r.ctx.functionName, req.actionName);
  assert.equal(r.ctx.requestId, req.transactionId);
  assert.equal(r.ctx.apiKey, 'u:k');
  assert.ok(r.ctx.remaining > 0 && r.ctx.remaining <= 10_000);
  // Without provide-api-key the key is absent, also on a warm executor that had one before.
  const o2 = await t.rt.run(request(a, {}, { env: { SECRET: 's3' } }));
  assert.equal((o2.result as any).env.key, undefined);
});

test('result over the limit: statusCode 1 with the truncation message', async () => {
  const a = action('function main() { return { big: "x".repeat(2 * 1024 * 1024) } }');
  const o = await t.rt.run(request(a));
  assert.equal(o.statusCode, 1);
  const err = (o.result as any).error as string;
  assert.match(err, /^The action produced a response that exceeded the allowed length: \d+ > 1048576 bytes\. The truncated response was: \{"big":"xxx/);
  assert.ok(err.length < 1_048_576 + 200);
});

test('memory budget: freeSlots shrinks while busy and onCapacity fires on release', async () => {
  const small = await testRuntime({ memoryBudgetMb: 512 });
  try {
    let fired = 0;
    small.rt.onCapacity(() => fired++);
    assert.equal(small.rt.freeSlots(256), 2);
    const a = action('function main() { return new Promise(r => setTimeout(() => r({}), 300)) }');
    const p = small.rt.run(request(a));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(small.rt.freeSlots(256), 1);
    const o = await p;
    assert.equal(o.statusCode, 0);
    assert.equal(small.rt.freeSlots(256), 2);
    assert.ok(fired >= 1);
  } finally {
    await small.close();
  }
});

test('init timeout: "… during initialization.", and init logs belong to the first activation', async () => {
  const spin = action('for (;;) {}\nfunction main() { return {} }', { limits: { timeout: 300 } });
  const o = await t.rt.run(request(spin));
  assert.equal(o.statusCode, 2);
  assert.deepEqual(o.result, { error: 'The action exceeded its time limits of 300 milliseconds during initialization.' });
  assert.equal(o.timeout, true);
  assert.equal(typeof o.initTime, 'number');
  const chatty = action('console.log("loading");\nfunction main() { console.log("running"); return {} }');
  const first = await t.rt.run(request(chatty));
  assert.deepEqual(logText(first), ['stdout: loading', 'stdout: running']);
  const second = await t.rt.run(request(chatty));
  assert.deepEqual(logText(second), ['stdout: running']);
});

test('limits.logs 0 collects nothing; a long line without newline is capped', async () => {
  const none = await t.rt.run(request(action('function main() { console.log("x"); return {} }', { limits: { logs: 0 } })));
  assert.deepEqual(none.logs, []);
  const long = await t.rt.run(
    request(action('function main() { process.stdout.write("q".repeat(3 * 1024 * 1024)); return { ok: 1 } }', { limits: { logs: 1 } })),
  );
  assert.equal(long.statusCode, 0);
  assert.match(long.logs.at(-1)!, /Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes\.$/);
  assert.ok(long.logs.join('').length < 1_048_576 + 1000);
});
