// Zip actions: Node with package.json main / index.js / "file.func" / node_modules, Python with __main__.py plus
// vendored packages or a virtualenv/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync, strToU8 } from 'fflate';
import { testRuntime, action, request, type TestRuntime } from './test-helpers.js';

let t: TestRuntime;
before(async () => {
  t = await testRuntime();
});
after(async () => {
  await t.close();
});

function zip(files: Record<string, string>): string {
  const entries: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(files)) entries[k] = strToU8(v);
  return Buffer.from(zipSync(entries)).toString('base64');
}

test('node zip: package.json main with a dependency shipped in node_modules', async () => {
  const code = zip({
    'package.json': JSON.stringify({ name: 'fn', main: 'lib/handler.js' }),
    'lib/handler.js': 'const pad = require("leftpad2"); exports.main = (a) => ({ padded: pad(String(a.n), 5) });',
    'node_modules/leftpad2/package.json': JSON.stringify({ name: 'leftpad2', main: 'index.js' }),
    'node_modules/leftpad2/index.js': 'module.exports = (s, n) => s.padStart(n, "0");',
  });
  const o = await t.rt.run(request(action(code, { binary: true }), { n: 42 }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { padded: '00042' });
});

test('node zip: index.js, "file.func" main, ESM package, missing entry', async () => {
  const idx = await t.rt.run(request(action(zip({ 'index.js': 'exports.main = () => ({ via: "index" })' }), { binary: true })));
  assert.deepEqual(idx.result, { via: 'index' });
  const ff = await t.rt.run(
    request(action(zip({ 'index.js': '', 'other.js': 'exports.go = () => ({ via: "other.go" })' }), { binary: true, main: 'other.go' })),
  );
  assert.deepEqual(ff.result, { via: 'other.go' }, JSON.stringify(ff.result));
  const esm = await t.rt.run(
    request(action(zip({ 'package.json': '{"type":"module","main":"m.js"}', 'm.js': 'export function main() { return { via: "esm" } }' }), { binary: true })),
  );
  assert.deepEqual(esm.result, { via: 'esm' }, JSON.stringify(esm.result));
  const none = await t.rt.run(request(action(zip({ 'x.js': '' }), { binary: true })));
  assert.equal(none.statusCode, 2);
  assert.equal(
    (none.result as any).error,
    'Initialization has failed due to: Zipped actions must contain either package.json or index.js at the root.',
  );
});

test('python zip: __main__.py with a vendored package and with virtualenv/', async () => {
  const vendored = zip({
    '__main__.py': 'import helper\ndef main(a):\n    return {"v": helper.double(a["n"])}\n',
    'helper/__init__.py': 'def double(x):\n    return 2 * x\n',
  });
  const o = await t.rt.run(request(action(vendored, { kind: 'python:3.11', binary: true }), { n: 21 }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { v: 42 });
  const venv = zip({
    '__main__.py': 'import tripler\ndef main(a):\n    return {"v": tripler.triple(a["n"])}\n',
    'virtualenv/lib/python3.11/site-packages/tripler.py': 'def triple(x):\n    return 3 * x\n',
  });
  const v = await t.rt.run(request(action(venv, { kind: 'python:3.11', binary: true }), { n: 5 }));
  assert.equal(v.statusCode, 0, JSON.stringify(v.result));
  assert.deepEqual(v.result, { v: 15 });
});

test('a zip with a path escaping its directory is refused at init', async () => {
  const code = zip({ '../evil.js': 'x', 'index.js': 'exports.main = () => ({})' });
  const o = await t.rt.run(request(action(code, { binary: true })));
  assert.equal(o.statusCode, 2);
  assert.match((o.result as any).error, /unsafe path/);
});

test('node tar.gz archive (as openwhisk-runtime-nodejs accepts), made by tar(1)', async (ctx) => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'flare-tgz-'));
  try {
    mkdirSync(join(dir, 'lib'));
    mkdirSync(join(dir, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"main":"lib/h.js"}');
    writeFileSync(join(dir, 'lib', 'h.js'), 'exports.main = () => ({ via: require("dep") })');
    writeFileSync(join(dir, 'node_modules', 'dep', 'index.js'), 'module.exports = "tgz"');
    const tar = spawnSync('tar', ['czf', '-', '-C', dir, '.']);
    if (tar.status !== 0) return ctx.skip('no tar here');
    const o = await t.rt.run(request(action(tar.stdout.toString('base64'), { binary: true })));
    assert.equal(o.statusCode, 0, JSON.stringify(o.result));
    assert.deepEqual(o.result, { via: 'tgz' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
