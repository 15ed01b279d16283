// Python and zip functions deployed and invoked through the real server (PUT action, POST ?blocking=true).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync, strToU8 } from 'fflate';
import { startServer, putAction, type TestServer } from './helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s.stop();
  s.cleanup();
});

function zip(files: Record<string, string>): string {
  const entries: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(files)) entries[k] = strToU8(v);
  return Buffer.from(zipSync(entries)).toString('base64');
}

async function invoke(name: string, params: Record<string, unknown> = {}): Promise<any> {
  const res = await s.api(`/api/v1/namespaces/_/actions/${name}?blocking=true`, { method: 'POST', json: params });
  return res.json();
}

test('python:3.11 single file with main(event, context) and init parameters as env', async () => {
  await putAction(
    s,
    'py',
    'import os\ndef main(event, context):\n    print("hi from python")\n    return {"hello": event.get("name"), "fn": context.function_name, "token": os.environ.get("TOKEN"), "ns": os.environ["__OW_NAMESPACE"]}\n',
    { parameters: [{ key: 'TOKEN', value: 'abc', init: true }] },
    'python:3.11',
  );
  const rec = await invoke('py', { name: 'sammy' });
  assert.equal(rec.response.statusCode, 0, JSON.stringify(rec.response));
  assert.equal(rec.response.result.hello, 'sammy');
  assert.equal(rec.response.result.fn, `/${s.namespace}/py`);
  assert.equal(rec.response.result.token, 'abc');
  assert.equal(rec.response.result.ns, s.namespace);
  const { logs } = await (await s.api(`/api/v1/namespaces/_/activations/${rec.activationId}/logs`)).json();
  assert.ok(logs.some((l: string) => / stdout: hi from python$/.test(l)), JSON.stringify(logs));
});

test('python exception is an application error; python:default resolves', async () => {
  await putAction(s, 'pyerr', 'def main(a):\n    raise RuntimeError("boom")\n', {}, 'python:default');
  const rec = await invoke('pyerr');
  assert.equal(rec.response.statusCode, 1);
  assert.deepEqual(rec.response.result, { error: 'boom' });
});

test('node zip with a dependency in node_modules', async () => {
  const code = zip({
    'package.json': JSON.stringify({ name: 'fn', main: 'index.js', dependencies: { 'tiny-dep': '1.0.0' } }),
    'index.js': 'const dep = require("tiny-dep"); exports.main = (a) => ({ shout: dep(a.word) });',
    'node_modules/tiny-dep/package.json': JSON.stringify({ name: 'tiny-dep', version: '1.0.0', main: 'lib.js' }),
    'node_modules/tiny-dep/lib.js': 'module.exports = (w) => String(w).toUpperCase() + "!";',
  });
  await putAction(s, 'nodezip', code);
  const rec = await invoke('nodezip', { word: 'hey' });
  assert.equal(rec.response.statusCode, 0, JSON.stringify(rec.response));
  assert.deepEqual(rec.response.result, { shout: 'HEY!' });
});

test('python zip with __main__.py and a vendored package', async () => {
  const code = zip({
    '__main__.py': 'from vendored.calc import add\ndef main(a):\n    return {"sum": add(a["x"], a["y"])}\n',
    'vendored/__init__.py': '',
    'vendored/calc.py': 'def add(x, y):\n    return x + y\n',
  });
  await putAction(s, 'pyzip', code, {}, 'python:3.11');
  const rec = await invoke('pyzip', { x: 2, y: 40 });
  assert.equal(rec.response.statusCode, 0, JSON.stringify(rec.response));
  assert.deepEqual(rec.response.result, { sum: 42 });
});
