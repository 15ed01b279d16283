// Hostile functions through the real server (bin/flare serve, HTTP, real sandboxed executors): each attack gets
// OpenWhisk's answer, and afterwards an ordinary function in another namespace still answers normally.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, putAction, newAuth, FLARE_BIN, type TestServer } from './helpers/server.js';
import { hostProcessesWith } from '../src/runtime/test-helpers.js';

let s: TestServer;
let other: { authHeader: string; ns: string };
let isolated = false;

before(async () => {
  s = await startServer();
  const args = s.proc.spawnargs;
  const storeArgs = ['--data-dir', s.dataDir, ...(args.includes('--store') ? ['--store', args[args.indexOf('--store') + 1]!] : [])];
  const auth = newAuth();
  const r = spawnSync(process.execPath, [FLARE_BIN, 'admin', 'namespace', 'create', 'bystander', '--auth', auth, ...storeArgs], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  other = { authHeader: `Basic ${Buffer.from(auth).toString('base64')}`, ns: 'bystander' };
  const info = await (await fetch(`${s.url}/api/v1`)).json();
  isolated = JSON.stringify(info).includes('"isolated":true');
  // The bystander's ordinary function.
  const put = await fetch(`${s.url}/api/v1/namespaces/_/actions/ordinary?overwrite=true`, {
    method: 'PUT',
    headers: { authorization: other.authHeader, 'content-type': 'application/json' },
    body: JSON.stringify({ exec: { kind: 'nodejs:20', code: 'function main(a) { return { sum: a.a + a.b } }' } }),
  });
  assert.equal(put.status, 200, await put.text());
});

after(async () => {
  await s.stop();
  s.cleanup();
});

async function invoke(name: string, params: Record<string, unknown> = {}, authHeader?: string): Promise<any> {
  const res = await fetch(`${s.url}/api/v1/namespaces/_/actions/${name}?blocking=true`, {
    method: 'POST',
    headers: { authorization: authHeader ?? s.authHeader, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  const body = await res.json();
  assert.ok(res.status === 200 || res.status === 502, `${name}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

async function bystanderAnswers() {
  const rec = await invoke('ordinary', { a: 40, b: 2 }, other.authHeader);
  assert.equal(rec.response.statusCode, 0, JSON.stringify(rec.response));
  assert.deepEqual(rec.response.result, { sum: 42 });
}

function hostile(name: string, fn: () => Promise<void>) {
  test(name, async (ctx) => {
    if (!isolated) return ctx.skip('the server runs in unsafe dev mode here');
    await fn();
    await bystanderAnswers();
    assert.equal(s.proc.exitCode, null, 'the server must still run');
  });
}


test('GET /api/v1 reports the sandbox mode', async () => {
  const info = await (await fetch(`${s.url}/api/v1`)).json();
  assert.match(JSON.stringify(info), /"isolated":(true|false)/);
  await bystanderAnswers();
});

hostile('infinite loop ignoring SIGTERM with a setsid grandchild: timeout, whole sandbox killed', async () => {
  const marker = `87654${Date.now() % 100000}`;
  await putAction(
    s,
    'spin',
    `const { spawn } = require('child_process');
     function main() { process.on('SIGTERM', () => {}); spawn('/bin/sleep', ['${marker}'], { detached: true, stdio: 'ignore' }).unref(); for (;;) {} }`,
    { limits: { timeout: 1000 } },
  );
  const rec = await invoke('spin');
  assert.equal(rec.response.statusCode, 2);
  assert.deepEqual(rec.response.result, { error: 'The action exceeded its time limits of 1000 milliseconds.' });
  assert.ok(rec.annotations.some((a: any) => a.key === 'timeout' && a.value === true));
  const deadline = Date.now() + 3000;
  while (hostProcessesWith(marker).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(hostProcessesWith(marker), []);
});

hostile('memory bombs (heap, Buffers): "The action exhausted its memory and was aborted."', async () => {
  await putAction(s, 'heap', 'function main() { const a = []; for (;;) a.push(new Array(1e6).fill(7)); }', { limits: { memory: 128 } });
  await putAction(s, 'bufs', 'function main() { const b = []; for (;;) b.push(Buffer.alloc(32 * 1024 * 1024, 1)); }', { limits: { memory: 128 } });
  for (const name of ['heap', 'bufs']) {
    const rec = await invoke(name);
    assert.equal(rec.response.statusCode, 2, name);
    assert.deepEqual(rec.response.result, { error: 'The action exhausted its memory and was aborted.' });
  }
});

hostile('fork bomb is contained', async () => {
  await putAction(
    s,
    'forks',
    `const { spawn } = require('child_process');
     function main() { let ok = 0, failed = 0; for (let i = 0; i < 600; i++) { try { const c = spawn('/bin/sleep', ['30'], { stdio: 'ignore' }); c.on('error', () => {}); if (c.pid) ok++; else failed++; } catch (e) { failed++; } } return { ok, failed }; }`,
    { limits: { timeout: 20_000 } },
  );
  const rec = await invoke('forks');
  if (rec.response.statusCode === 0) {
    assert.ok(rec.response.result.ok < 256, JSON.stringify(rec.response.result));
    assert.ok(rec.response.result.failed > 0);
  } else assert.equal(rec.response.statusCode, 2);
});

hostile('100 MB of logs are truncated with the notice line', async () => {
  await putAction(
    s,
    'flood',
    `function main() { const s = 'x'.repeat(1023); for (let i = 0; i < 100 * 1024; i++) console.log(s); return { done: true } }`,
    { limits: { logs: 1, timeout: 60_000 } },
  );
  const rec = await invoke('flood');
  assert.equal(rec.response.statusCode, 0, JSON.stringify(rec.response));
  // Blocking answers carry logs: [] (as OpenWhisk); the stored record has them.
  const { logs } = await (await s.api(`/api/v1/namespaces/_/activations/${rec.activationId}/logs`)).json();
  rec.logs = logs;
  assert.ok(rec.logs.length > 900 && rec.logs.length < 1100, `lines ${rec.logs.length}`);
  assert.match(rec.logs.at(-1), /stderr: Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes\.$/);
});

hostile('a 10 MB result is an application error with the truncation message', async () => {
  await putAction(s, 'huge', 'function main() { return { big: "z".repeat(10 * 1024 * 1024) } }');
  const rec = await invoke('huge');
  assert.equal(rec.response.statusCode, 1);
  assert.match(rec.response.result.error, /^The action produced a response that exceeded the allowed length: \d+ > 1048576 bytes\. The truncated response was: /);
});

hostile("cannot read the data dir, /etc/shadow, another namespace's code or the server's environment", async () => {
  const code = `const fs = require('fs');
    function tryRead(p) { try { return fs.statSync(p).isDirectory() ? fs.readdirSync(p) : fs.readFileSync(p, 'utf8'); } catch (e) { return 'ERR ' + e.code; } }
    function main(a) { return { data: tryRead(a.dataDir), db: tryRead(a.dataDir + '/flare.db'), shadow: tryRead('/etc/shadow'), executors: tryRead(a.dataDir + '/executors'),
      serverEnv: tryRead('/proc/' + a.serverPid + '/environ'), env: Object.keys(process.env), uid: process.getuid() }; }`;
  await putAction(s, 'snoop', code);
  const rec = await invoke('snoop', { dataDir: s.dataDir, serverPid: s.proc.pid });
  assert.equal(rec.response.statusCode, 0, JSON.stringify(rec.response));
  const r = rec.response.result;
  for (const k of ['data', 'db', 'shadow', 'executors', 'serverEnv']) assert.match(String(r[k]), /^ERR /, `${k}: ${String(r[k]).slice(0, 100)}`);
  assert.ok(!r.env.includes('NODE_EXTRA_CA_CERTS') && !r.env.some((k: string) => k.startsWith('FLARE_')), r.env.join(','));
  assert.notEqual(r.uid, 0);
  // The bystander's code exists on the host, but not in this sandbox.
  const execRoot = join(s.dataDir, 'executors');
  assert.ok(readdirSync(execRoot).length > 0);
});

hostile("cannot reach the server's port on 127.0.0.1", async () => {
  await putAction(
    s,
    'knock',
    `function main(a) { return fetch(a.url + '/api/v1').then((r) => ({ reached: true, status: r.status }), (e) => ({ reached: false, why: String(e.cause && e.cause.code || e) })); }`,
  );
  const rec = await invoke('knock', { url: s.url });
  assert.equal(rec.response.statusCode, 0, JSON.stringify(rec.response));
  assert.equal(rec.response.result.reached, false);
});

hostile('process.kill of the parent cannot touch the server', async () => {
  await putAction(s, 'regicide', `function main(a) { const r = {}; for (const pid of [process.ppid, 1, a.serverPid]) { try { process.kill(pid, 'SIGKILL'); r[pid] = 'sent'; } catch (e) { r[pid] = e.code; } } return r; }`);
  const rec = await invoke('regicide', { serverPid: s.proc.pid });
  assert.ok([0, 2].includes(rec.response.statusCode), JSON.stringify(rec.response));
});
