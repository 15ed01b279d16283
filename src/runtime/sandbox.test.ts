// Hostile functions against a real, isolated Runtime (bubblewrap + cgroups): the platform survives, answers with
// OpenWhisk's messages, and an ordinary function in another namespace still answers after each attack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { readdirSync, readlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testRuntime, action, request, hostProcessesWith, type TestRuntime } from './test-helpers.js';

let t: TestRuntime;
let isolated = false;
let server: Server;
let port = 0;
const secretFile = () => join(t.dataDir, 'secret-db.txt');

before(async () => {
  t = await testRuntime();
  isolated = t.rt.sandbox.isolated;
  writeFileSync(secretFile(), 'TOP SECRET');
  server = createServer((s) => s.end('hello from the host\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  server.close();
  await t.close();
});

function hostile(name: string, fn: () => Promise<void>) {
  test(name, async (ctx) => {
    if (!isolated) return ctx.skip(`no isolation here: ${t.rt.sandbox.description}`);
    await fn();
    await ordinaryStillAnswers();
  });
}

let ordinarySeq = 0;
async function ordinaryStillAnswers() {
  const a = action('function main(a) { return { ok: a.n + 1 } }', { namespace: 'bystander', name: `ok${ordinarySeq++}` });
  const o = await t.rt.run(request(a, { n: 41 }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.deepEqual(o.result, { ok: 42 });
}


test('sandbox status is reported', () => {
  assert.equal(typeof t.rt.sandbox.isolated, 'boolean');
  assert.ok(t.rt.sandbox.description.length > 0);
  if (!t.rt.sandbox.isolated) assert.match(t.rt.sandbox.description, /unsafe dev mode/);
});

hostile('infinite loop ignoring SIGTERM with a setsid grandchild: killed at the limit, grandchild dies too', async () => {
  const marker = `98765${Date.now() % 100000}`;
  const a = action(
    `const { spawn } = require('child_process');
     function main() {
       process.on('SIGTERM', () => {});
       spawn('/bin/sleep', ['${marker}'], { detached: true, stdio: 'ignore' }).unref();
       for (;;) {}
     }`,
    { namespace: 'evil', limits: { timeout: 500 } },
  );
  const o = await t.rt.run(request(a));
  assert.equal(o.statusCode, 2);
  assert.deepEqual(o.result, { error: 'The action exceeded its time limits of 500 milliseconds.' });
  assert.equal(o.timeout, true);
  const deadline = Date.now() + 3000;
  while (hostProcessesWith(marker).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(hostProcessesWith(marker), [], 'the setsid grandchild must be gone');
});

hostile('memory bomb on the heap: memory message, statusCode 2', async () => {
  const a = action('function main() { const a = []; for (;;) a.push(new Array(1e6).fill(7)); }', {
    namespace: 'evil',
    limits: { memory: 128, timeout: 20_000 },
  });
  const o = await t.rt.run(request(a));
  assert.equal(o.statusCode, 2);
  assert.deepEqual(o.result, { error: 'The action exhausted its memory and was aborted.' });
});

hostile('memory bomb with Buffers and with /tmp files: memory message', async () => {
  const bufs = action('function main() { const b = []; for (;;) b.push(Buffer.alloc(32 * 1024 * 1024, 1)); }', {
    namespace: 'evil',
    limits: { memory: 128, timeout: 20_000 },
  });
  const o = await t.rt.run(request(bufs));
  assert.equal(o.statusCode, 2);
  assert.deepEqual(o.result, { error: 'The action exhausted its memory and was aborted.' });
  const tmp = action(
    `const fs = require('fs'); function main() { const chunk = Buffer.alloc(16 * 1024 * 1024, 1); for (let i = 0; ; i++) fs.writeFileSync('/tmp/f' + i, chunk); }`,
    { namespace: 'evil', limits: { memory: 128, timeout: 20_000 } },
  );
  const o2 = await t.rt.run(request(tmp));
  assert.equal(o2.statusCode, 2);
  // Either the cgroup kills it (tmpfs pages count) or the capped /tmp fills up first and main throws.
  assert.match(JSON.stringify(o2.result), /exhausted its memory|ENOSPC/);
});

hostile('fork bomb is contained by the pids cgroup', async () => {
  const a = action(
    `const { spawn } = require('child_process');
     function main() {
       let ok = 0, failed = 0;
       for (let i = 0; i < 600; i++) {
         try { const c = spawn('/bin/sleep', ['30'], { stdio: 'ignore' }); c.on('error', () => {}); if (c.pid) ok++; else failed++; }
         catch (e) { failed++; }
       }
       return { ok, failed };
     }`,
    { namespace: 'evil', limits: { timeout: 20_000 } },
  );
  const o = await t.rt.run(request(a));
  if (o.statusCode === 0) {
    const r = o.result as { ok: number; failed: number };
    assert.ok(r.ok < 256, `spawned ${r.ok}`);
    assert.ok(r.failed > 0);
  } else {
    assert.equal(o.statusCode, 2, JSON.stringify(o.result)); // the runner itself could not create a thread
  }
});

hostile('100 MB of logs: truncated at the limit, server memory does not grow', async () => {
  const a = action(
    `function main() { const s = 'x'.repeat(1023); for (let i = 0; i < 100 * 1024; i++) console.log(s); process.stdout.write('y'.repeat(50 * 1024 * 1024)); return { done: true } }`,
    { namespace: 'evil', limits: { timeout: 60_000, logs: 1 } },
  );
  const before = process.memoryUsage().rss;
  const o = await t.rt.run(request(a));
  const grew = process.memoryUsage().rss - before;
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.ok(o.logs.length > 900 && o.logs.length < 1100, `lines ${o.logs.length}`);
  assert.match(o.logs[o.logs.length - 1], /stderr: Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes\.$/);
  assert.ok(grew < 60 * 1024 * 1024, `rss grew by ${grew}`);
});

hostile('10 MB result: statusCode 1 with the truncation message', async () => {
  const a = action('function main() { return { big: "z".repeat(10 * 1024 * 1024) } }', { namespace: 'evil' });
  const o = await t.rt.run(request(a));
  assert.equal(o.statusCode, 1);
  assert.match((o.result as { error: string }).error, /^The action produced a response that exceeded the allowed length: 104857\d\d > 1048576 bytes\./);
});

hostile('cannot read the data dir, /etc/shadow, other code, the server environment; runs unprivileged', async () => {
  // Another namespace's code, as written on the host.
  const other = action('function main() { return { mine: true } }', { namespace: 'victim' });
  await t.rt.run(request(other));
  const execRoot = join(t.dataDir, 'executors');
  mkdirSync(execRoot, { recursive: true });
  const a = action(
    `const fs = require('fs');
     function tryRead(p) { try { return fs.statSync(p).isDirectory() ? fs.readdirSync(p) : fs.readFileSync(p, 'utf8'); } catch (e) { return 'ERR ' + e.code; } }
     function main(a) {
       return {
         data: tryRead(a.secret), dataDir: tryRead(a.dataDir), shadow: tryRead('/etc/shadow'), execRoot: tryRead(a.execRoot),
         serverEnv: tryRead('/proc/' + a.serverPid + '/environ'), env: Object.keys(process.env).sort(),
         uid: process.getuid(), ppid: process.ppid, root: fs.readdirSync('/').sort(),
         fds: fs.readdirSync('/proc/self/fd').map((f) => { try { return fs.readlinkSync('/proc/self/fd/' + f); } catch { return ''; } }),
       };
     }`,
    { namespace: 'evil' },
  );
  const o = await t.rt.run(request(a, { secret: secretFile(), dataDir: t.dataDir, execRoot, serverPid: process.pid }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  const r = o.result as Record<string, any>;
  assert.match(r.data, /^ERR /);
  assert.match(r.dataDir, /^ERR /);
  assert.match(r.shadow, /^ERR /);
  assert.match(r.execRoot, /^ERR /);
  assert.match(String(r.serverEnv), /^ERR /);
  assert.ok(!r.env.includes('NODE_EXTRA_CA_CERTS'));
  for (const k of r.env) assert.ok(/^(PATH|HOME|LANG|PWD|__OW_.*)$/.test(k), `unexpected variable ${k}`);
  assert.notEqual(r.uid, 0);
  // No descriptor of the server leaks into the sandbox (only /dev/null may coincide).
  const mine = new Set(readdirSync('/proc/self/fd').map((f) => { try { return readlinkSync(`/proc/self/fd/${f}`); } catch { return ''; } }));
  const shared = (r.fds as string[]).filter((f) => f && f !== '/dev/null' && !f.startsWith('anon_inode:') && mine.has(f));
  assert.deepEqual(shared, []);
  // Each namespace runs as its own unprivileged uid.
  const who = action('function main() { return { uid: process.getuid() } }', { namespace: 'victim' });
  const w = await t.rt.run(request(who));
  assert.notEqual((w.result as any).uid, r.uid);
  assert.notEqual((w.result as any).uid, 0);
  assert.deepEqual(r.root.filter((e: string) => !['bin', 'code', 'dev', 'etc', 'flare', 'lib', 'lib32', 'lib64', 'libx32', 'out', 'proc', 'sbin', 'tmp', 'usr'].includes(e)), []);
});

hostile("cannot connect to the host's loopback", async () => {
  const a = action(
    `const net = require('net');
     function main(a) { return new Promise((resolve) => {
       const s = net.connect(a.port, '127.0.0.1');
       s.on('data', (d) => resolve({ connected: true, data: String(d) }));
       s.on('error', (e) => resolve({ connected: false, code: e.code }));
       setTimeout(() => resolve({ connected: false, code: 'TIMEOUT' }), 2000);
     }); }`,
    { namespace: 'evil' },
  );
  const o = await t.rt.run(request(a, { port }));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  assert.equal((o.result as any).connected, false);
});

hostile('process.kill of the parent and of pid 1 leaves the server alive', async () => {
  const a = action(
    `function main() { const r = {}; for (const pid of [process.ppid, 1]) { try { process.kill(pid, 'SIGKILL'); r[pid] = 'sent'; } catch (e) { r[pid] = e.code; } } return r; }`,
    { namespace: 'evil' },
  );
  const o = await t.rt.run(request(a));
  // Killing the sandbox's init ends the executor: a developer error, never harm to the server.
  assert.ok(o.statusCode === 0 || o.statusCode === 2, JSON.stringify(o.result));
  assert.ok(process.pid > 0);
});

hostile('seccomp refuses kernel interfaces a function never needs (ptrace, keyctl, bpf, io_uring, unshare)', async () => {
  if (!t.rt.sandbox.description.includes('seccomp')) return; // defence in depth, not available on every arch
  const a = action(
    'import ctypes\ndef main(a):\n    libc = ctypes.CDLL(None, use_errno=True)\n    out = {}\n    for name, nr in (("ptrace", 101), ("keyctl", 250), ("bpf", 321), ("io_uring_setup", 425), ("unshare", 272), ("getpid", 39)):\n        ctypes.set_errno(0)\n        r = libc.syscall(nr, 0, 0, 0, 0, 0)\n        out[name] = [r, ctypes.get_errno()]\n    return out\n',
    { kind: 'python:3.11', namespace: 'evil' },
  );
  const o = await t.rt.run(request(a));
  assert.equal(o.statusCode, 0, JSON.stringify(o.result));
  const r = o.result as Record<string, [number, number]>;
  for (const name of ['ptrace', 'keyctl', 'bpf', 'io_uring_setup', 'unshare']) assert.deepEqual(r[name], [-1, 38], name);
  assert.ok(r.getpid[0] > 0);
});
