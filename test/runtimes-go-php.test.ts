// End-to-end: PHP, Go and blackbox functions on a real `flare serve`: a DigitalOcean sample project per language
// (`flare init --language`, `flare deploy`, `flare functions invoke`), `status --languages`, default kinds, and the
// hostile-function checks (another namespace's code, the data dir) through the server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { putAction, type TestServer } from './helpers/server.js';
import { connectedCli, runCli, type ConnectedCli } from './helpers/cli.js';

let cli: ConnectedCli;
let server: TestServer;

before(async () => {
  cli = await connectedCli('flare-langs-');
  server = cli.server;
});
after(async () => {
  await cli?.close();
});

async function invoke(name: string, params: Record<string, unknown> = {}): Promise<{ status: number; body: any }> {
  const res = await server.api(`/api/v1/namespaces/_/actions/${name}?blocking=true`, { method: 'POST', json: params });
  return { status: res.status, body: await res.json() };
}

test('GET /api/v1 lists every runtime with its flags; status --languages shows them; :default kinds resolve', async () => {
  const info = await (await fetch(`${server.url}/api/v1`)).json();
  const flat = Object.values(info.runtimes as Record<string, any[]>).flat().map((k) => [k.kind, k.default, k.deprecated]);
  assert.deepEqual(flat.map((k) => k[0]).sort(), ['blackbox', 'go:1.19', 'nodejs:20', 'php:8.2', 'python:3.11'].sort());
  for (const k of flat) assert.deepEqual(k.slice(1), [true, false]);
  const st = await runCli(['status', '--languages'], { env: cli.env });
  assert.equal(st.code, 0, st.stderr);
  for (const k of ['go:1.19', 'php:8.2', 'blackbox']) assert.ok(st.stdout.includes(k), st.stdout);
  const doc = await putAction(server, 'phpdef', '<?php function main(array $a): array { return ["v" => PHP_MAJOR_VERSION]; }', {}, 'php:default');
  assert.equal(doc.exec.kind, 'php:8.2');
  const res = await server.api('/api/v1/namespaces/_/actions/old?overwrite=true', { method: 'PUT', json: { exec: { kind: 'nodejs:18', code: 'x' } } });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /'nodejs:18' is not supported by this platform\. Valid values are: 'nodejs:20', 'python:3\.11', 'go:1\.19', 'php:8\.2', 'blackbox'\./);
});

test('flare init --language go|php, flare deploy, flare functions invoke', { timeout: 240_000 }, async () => {
  for (const lang of ['go', 'php']) {
    const dir = join(cli.work, `sample-${lang}`);
    const init = await runCli(['init', dir, '--language', lang], { env: cli.env });
    assert.equal(init.code, 0, init.stderr);
    const dep = await runCli(['deploy', dir], { env: cli.env, timeoutMs: 120_000 });
    assert.equal(dep.code, 0, dep.stdout + dep.stderr);
    assert.match(dep.stdout, /- sample\/hello/);
    const got = await (await server.api('/api/v1/namespaces/_/actions/sample/hello?code=false')).json();
    assert.equal(got.exec.kind, lang === 'go' ? 'go:1.19' : 'php:8.2');
    const r = await runCli(['functions', 'invoke', 'sample/hello', '-p', 'name:sammy'], { env: cli.env, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { body: 'Hello sammy!' });
  }
});

test('server: php/blackbox hostile functions cannot read the data dir or other executors\' code', async () => {
  // The data dir and the executors' code directories are not in the sandbox.
  const dataDir = JSON.stringify(server.dataDir);
  await putAction(server, 'peekphp', `<?php function main(array $a): array { return ['data' => @scandir(${dataDir}) ?: null, 'exec' => @scandir(${JSON.stringify(join(server.dataDir, 'executors'))}) ?: null]; }`, {}, 'php:8.2');
  const p = await invoke('peekphp');
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.deepEqual(p.body.response.result, { data: null, exec: null });
  const script = `#!/bin/sh\nif ls ${server.dataDir} >/dev/null 2>&1 || ls /code/../.. 2>/dev/null | grep -q executors; then echo '{"leak":true}'; else echo '{"leak":false}'; fi\n`;
  const zip = Buffer.from(zipSync({ exec: strToU8(script) })).toString('base64');
  await putAction(server, 'peekbb', zip, {}, 'blackbox');
  const b = await invoke('peekbb');
  assert.equal(b.status, 200, JSON.stringify(b.body));
  assert.deepEqual(b.body.response.result, { leak: false });
  // Errors through the server: {error} → 1 (application error), a crash → 2 (developer error).
  await putAction(server, 'phperr', `<?php function main(array $a): array { return ['error' => 'no']; }`, {}, 'php:8.2');
  const e = await invoke('phperr');
  assert.equal(e.body.response.statusCode, 1);
  await putAction(server, 'bbcrash', `#!/bin/sh\nkill -9 $$\n`, {}, 'blackbox');
  const c = await invoke('bbcrash');
  assert.equal(c.body.response.statusCode, 2);
});
