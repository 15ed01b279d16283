// Namespaces and keys (admin commands, bootstrap idempotence, isolation between namespaces), throttles (429) and the
// retention sweep (D4), each against a real server process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, putAction, waitForRecord, FLARE_BIN, testStoreArgs } from './helpers/server.js';

const D2 =
  "The requested activation record does not exist. This either means that the invocation is still running and the record is not yet created or the activation's retention period has already expired.";

function admin(args: string[], storeArgs: string[]) {
  const r = spawnSync(process.execPath, [FLARE_BIN, 'admin', ...args, ...storeArgs], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('admin namespace create/list/delete; keys isolate namespaces; bootstrap survives a restart', async () => {
  let s = await startServer();
  try {
    const storeArgs = ['--data-dir', s.dataDir, ...(s.proc.spawnargs.includes('--store') ? ['--store', s.proc.spawnargs[s.proc.spawnargs.indexOf('--store') + 1]!] : [])];
    const created = admin(['namespace', 'create', 'team-b'], storeArgs);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^[0-9a-f-]{36}:[A-Za-z0-9]{64}$/);
    const dup = admin(['namespace', 'create', 'team-b'], storeArgs);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^Error: /);
    const list = admin(['namespace', 'list'], storeArgs);
    assert.match(list.stdout, /team-b/);
    assert.match(list.stdout, new RegExp(s.namespace));

    const b = { authorization: 'Basic ' + Buffer.from(key).toString('base64') };
    assert.deepEqual(await (await fetch(`${s.url}/api/v1/namespaces`, { headers: b })).json(), ['team-b']);
    await putAction(s, 'mine', 'function main(){ return {owner: "a"} }');
    // team-b can neither see nor invoke namespace A's function.
    assert.equal((await fetch(`${s.url}/api/v1/namespaces/${s.namespace}/actions/mine`, { headers: b })).status, 403);
    assert.equal((await fetch(`${s.url}/api/v1/namespaces/${s.namespace}/actions/mine?blocking=true`, { method: 'POST', headers: b })).status, 403);
    assert.equal((await fetch(`${s.url}/api/v1/namespaces/_/actions/mine`, { headers: b })).status, 404);
    const rec = await (await s.api('/api/v1/namespaces/_/actions/mine?blocking=true', { method: 'POST', json: {} })).json();
    assert.equal((await fetch(`${s.url}/api/v1/namespaces/_/activations/${rec.activationId}`, { headers: b })).status, 404);
    assert.deepEqual(await (await fetch(`${s.url}/api/v1/namespaces/_/activations`, { headers: b })).json(), []);

    // Restart: the same namespace and key still work (bootstrap is idempotent).
    s = await s.restart();
    assert.deepEqual(await (await s.api('/api/v1/namespaces')).json(), [s.namespace]);
    assert.equal((await s.api(`/api/v1/namespaces/_/activations/${rec.activationId}`)).status, 200);

    const del = admin(['namespace', 'delete', 'team-b'], storeArgs);
    assert.equal(del.code, 0, del.stderr);
    await new Promise((r) => setTimeout(r, 5_100)); // the auth cache holds a verified key for 5 s
    assert.equal((await fetch(`${s.url}/api/v1/namespaces`, { headers: b })).status, 401);
  } finally {
    await s.stop();
    s.cleanup();
  }
});

test('a first start without bootstrap settings generates fn-<uuid> and a key, and a restart finds the same ones', async () => {
  if (testStoreArgs().length) return; // the generated-key file lives in the data dir; covered on SQLite
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'flare-boot-'));
  const env = { ...process.env };
  delete env.FLARE_BOOTSTRAP_NAMESPACE;
  delete env.FLARE_BOOTSTRAP_AUTH;
  env.FLARE_CONFIG_DIR = join(dir, 'cfg');
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [FLARE_BIN, 'serve', '--port', '0', '--data-dir', dir], { env });
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
        if (/API host:/.test(out)) {
          p.kill('SIGTERM');
        }
      });
      p.on('exit', () => resolve(out));
      setTimeout(() => reject(new Error('no start')), 15_000).unref();
    });
  try {
    const first = await run();
    const second = await run();
    const ns1 = /Namespace: (fn-[0-9a-f-]{36})/.exec(first)?.[1];
    const key1 = /Auth key:\s+(\S+)/.exec(first)?.[1];
    assert.ok(ns1 && key1, first);
    assert.equal(/Namespace: (\S+)/.exec(second)?.[1], ns1);
    assert.equal(/Auth key:\s+(\S+)/.exec(second)?.[1], key1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('throttles: invocations per minute and concurrent invocations answer 429 with OpenWhisk messages', async () => {
  // Per-minute counts reset on the minute: start early in a minute so the whole test runs inside one window.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 35_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
  const s = await startServer({ env: { FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '5', FLARE_LIMIT_CONCURRENT: '2' } });
  try {
    await putAction(s, 'nap', 'function main(){ return new Promise(r => setTimeout(() => r({}), 1500)) }');
    const a = await s.api('/api/v1/namespaces/_/actions/nap', { method: 'POST', json: {} });
    const b = await s.api('/api/v1/namespaces/_/actions/nap', { method: 'POST', json: {} });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    const c = await s.api('/api/v1/namespaces/_/actions/nap', { method: 'POST', json: {} });
    assert.equal(c.status, 429);
    assert.equal((await c.json()).error, 'Too many concurrent requests in flight (count: 3, allowed: 2).');
    await waitForRecord(s, (await a.json()).activationId);
    await waitForRecord(s, (await b.json()).activationId);
    const statuses: number[] = [];
    let last: any;
    for (let i = 0; i < 4; i++) {
      const r = await s.api('/api/v1/namespaces/_/actions/nap', { method: 'POST', json: {} });
      statuses.push(r.status);
      last = await r.json();
      if (r.status === 202) await waitForRecord(s, last.activationId);
    }
    assert.deepEqual(statuses, [202, 202, 202, 429]);
    assert.equal(last.error, 'Too many requests in the last minute (count: 6, allowed: 5).');
  } finally {
    await s.stop();
    s.cleanup();
  }
});

test('retention: records older than the retention period are swept and answer the D2 404', async () => {
  // 0.0005 h = 1.8 s
  const s = await startServer({ args: ['--retention-hours', '0.0005'] });
  try {
    await putAction(s, 'brief', 'function main(){ return {kept: true} }');
    const rec = await (await s.api('/api/v1/namespaces/_/actions/brief?blocking=true', { method: 'POST', json: {} })).json();
    assert.equal((await s.api(`/api/v1/namespaces/_/activations/${rec.activationId}`)).status, 200);
    const deadline = Date.now() + 10_000;
    let status = 200;
    while (Date.now() < deadline && status === 200) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await s.api(`/api/v1/namespaces/_/activations/${rec.activationId}`)).status;
    }
    assert.equal(status, 404);
    const r = await s.api(`/api/v1/namespaces/_/activations/${rec.activationId}/result`);
    assert.equal((await r.json()).error, D2);
    assert.deepEqual(await (await s.api('/api/v1/namespaces/_/activations?count=true')).json(), { activations: 0 });
  } finally {
    await s.stop();
    s.cleanup();
  }
});
