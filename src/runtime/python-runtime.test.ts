// Real python:3.11 functions in real /usr/bin/python3 runner processes, through the Runtime contract.
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

const py = (code: string, opts: Parameters<typeof action>[1] = {}) => action(code, { kind: 'python:3.11', ...opts });

test('python main(args): result, logs, cold then warm', async () => {
  const a = py('import sys\ndef main(args):\n    print("hello", args.get("name"))\n    print("warn", file=sys.stderr)\n    return {"greeting": "Hello " + args.get("name", "stranger")}\n');
  const o = await t.rt.run(request(a, { name: 'sammy' }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { greeting: 'Hello sammy' });
  assert.deepEqual(logText(o).sort(), ['stderr: warn', 'stdout: hello sammy']);
  assert.equal(typeof o.initTime, 'number');
  const w = await t.rt.run(request(a, { name: 'x' }));
  assert.deepEqual(w.result, { greeting: 'Hello x' });
  assert.equal(w.initTime, undefined);
});

test('python statusCode mapping', async () => {
  const cases: Array<[string, number, (r: any) => void]> = [
    ['def main(a):\n    return {"error": "bad"}\n', 1, (r) => assert.equal(r.error, 'bad')],
    ['def main(a):\n    raise ValueError("nope")\n', 1, (r) => assert.equal(r.error, 'nope')],
    ['def main(a):\n    return "str"\n', 2, (r) => assert.equal(r.error, 'The action did not return a dictionary or array.')],
    ['def main(a):\n    return [1, 2]\n', 0, (r) => assert.deepEqual(r, [1, 2])],
    ['import os\ndef main(a):\n    os._exit(1)\n', 2, (r) => assert.equal(r.error, 'The action did not produce a valid response and exited unexpectedly.')],
    ['def main(a:\n', 2, (r) => assert.match(r.error, /^Initialization has failed due to: .*SyntaxError/s)],
    ['def other(a):\n    return {}\n', 2, (r) => assert.equal(r.error, "Initialization has failed due to: Exception: Action entrypoint 'main' is not a function.")],
  ];
  for (const [code, status, check] of cases) {
    const o = await t.rt.run(request(py(code)));
    assert.equal(o.statusCode, status, `${code}: ${JSON.stringify(o.result)}`);
    check(o.result);
  }
});

test('python main(event, context), __OW_ env and init params', async () => {
  const a = py(
    'import os\ndef main(event, context):\n    return {"id": context.activation_id, "fn": context.function_name, "rem": context.get_remaining_time_in_millis(), "ns": os.environ["__OW_NAMESPACE"], "secret": os.environ.get("SECRET"), "leak": os.environ.get("NODE_EXTRA_CA_CERTS"), "x": event["x"]}\n',
  );
  const req = request(a, { x: 1 }, { env: { SECRET: 'p' } });
  const o = await t.rt.run(req);
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  const r = o.result as any;
  assert.equal(r.id, req.activationId);
  assert.equal(r.fn, req.actionName);
  assert.ok(r.rem > 0 && r.rem <= 10_000);
  assert.equal(r.ns, 'guest');
  assert.equal(r.secret, 'p');
  assert.equal(r.leak, null);
  assert.equal(r.x, 1);
});

test('python timeout', async () => {
  const a = py('def main(a):\n    while True: pass\n', { limits: { timeout: 200 } });
  const o = await t.rt.run(request(a));
  assert.equal(o.statusCode, 2);
  assert.deepEqual(o.result, { error: 'The action exceeded its time limits of 200 milliseconds.' });
  assert.equal(o.timeout, true);
});
