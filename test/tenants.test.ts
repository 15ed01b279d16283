// Per-namespace limits and keys (issue 13, points 4 and 5), end to end: `flare admin` (a separate process writing the
// store) changes them while real servers run; the servers apply the change at once. The first part runs on the test
// store (SQLite or PostgreSQL); the second always on PostgreSQL with two nodes in separate processes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newAuth, putAction, startServer, testStoreArgs, waitFor, waitForRecord, type TestServer } from './helpers/server.js';
import { runCli } from './helpers/cli.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ECHO = `function main(p) { console.log('secret log', p.secret); return { echoed: p.secret }; }`;

const basic = (auth: string) => `Basic ${Buffer.from(auth).toString('base64')}`;

/** `flare admin …` on the server's store. */
async function admin(s: TestServer, storeArgs: string[], ...args: string[]) {
  const r = await runCli(['admin', ...args, '--data-dir', s.dataDir, ...storeArgs], { env: { FLARE_CONFIG_DIR: `${s.dataDir}/cli-config` } });
  return r;
}

async function ok(p: Promise<{ code: number | null; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, `flare admin failed: ${r.stderr}`);
  return r.stdout;
}

/** Milliseconds until `check` holds, polling every 25 ms, failing after `ms`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  await waitFor(async () => ((await check()) ? true : undefined), ms, 25);
  return Date.now() - t0;
}

describe('per-namespace limits and keys on one node', () => {
  let s: TestServer;
  const storeArgs = testStoreArgs();

  before(async () => {
    s = await startServer({ args: storeArgs });
  });
  after(async () => {
    await s.kill();
    s.cleanup();
  });

  it('GET /api/v1 reports the caller\'s namespace limits (defaults), and nothing extra without credentials', async () => {
    const anon = await (await fetch(`${s.url}/api/v1`)).json();
    assert.equal(anon.namespace_limits, undefined);
    assert.equal(anon.api_version, '1.0.0');
    const info = await (await s.api('/api/v1')).json();
    assert.equal(info.namespace, s.namespace);
    assert.deepEqual(info.namespace_limits, {
      invocations_per_minute: anon.limits.actions_per_minute,
      concurrent_invocations: anon.limits.concurrent_actions,
      fires_per_minute: anon.limits.triggers_per_minute,
      max_action_memory_mb: anon.limits.max_action_memory / 1_048_576,
      max_action_timeout_ms: anon.limits.max_action_duration,
      store_activations: true,
    });
    const shown = await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace));
    assert.match(shown, /^invocations-per-minute\s+600\s+default$/m);
    assert.match(shown, /^allowed-kinds\s+all\s+default$/m);
  });

  it('bad flag values are refused with a message naming the flag; an unknown namespace is an error', async () => {
    const bad = await admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--concurrent', 'lots');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--concurrent must be an integer/);
    const mem = await admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--max-memory-mb', '999999');
    assert.equal(mem.code, 1);
    assert.match(mem.stderr, /--max-memory-mb must be an integer from 128 to 1024/);
    const store = await admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--store-activations', 'maybe');
    assert.equal(store.code, 1);
    const missing = await admin(s, storeArgs, 'namespace', 'limits', 'no-such-ns', '--concurrent', '3');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /namespace 'no-such-ns' does not exist/);
  });

  it('allowed kinds, max memory and max timeout: enforced on PUT and on invoke, OpenWhisk-shaped errors', async () => {
    await putAction(s, 'node-fn', ECHO);
    await putAction(s, 'big-fn', ECHO, { limits: { memory: 512 } });
    await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--allowed-kinds', 'python', '--max-memory-mb', '256', '--max-timeout-ms', '10000'));
    const info = await waitFor(async () => {
      const i = await (await s.api('/api/v1')).json();
      return i.namespace_limits.allowed_kinds ? i : undefined;
    }, 5_000);
    assert.deepEqual(info.namespace_limits.allowed_kinds, ['python']);
    assert.equal(info.namespace_limits.max_action_memory_mb, 256);
    assert.equal(info.namespace_limits.max_action_timeout_ms, 10_000);

    const put = await s.api('/api/v1/namespaces/_/actions/another?overwrite=true', { method: 'PUT', json: { exec: { kind: 'nodejs:20', code: ECHO } } });
    assert.equal(put.status, 403);
    const body = await put.json();
    assert.equal(body.error, `The kind 'nodejs:20' is not allowed in namespace '${s.namespace}'. Allowed kinds: 'python'.`);
    assert.equal(typeof body.code, 'string');
    const py = await s.api('/api/v1/namespaces/_/actions/py-fn?overwrite=true', {
      method: 'PUT',
      json: { exec: { kind: 'python:3.11', code: 'def main(a):\n    return {"ok": True}\n' } },
    });
    assert.equal(py.status, 200, 'python is allowed (family name matches every version)');
    const pyBig = await s.api('/api/v1/namespaces/_/actions/py-big?overwrite=true', {
      method: 'PUT',
      json: { exec: { kind: 'python:default', code: 'def main(a):\n    return {}\n' }, limits: { memory: 512 } },
    });
    assert.equal(pyBig.status, 400);
    assert.equal((await pyBig.json()).error, 'memory size 512 MB exceeds allowed threshold of 256 MB');
    const pySlow = await s.api('/api/v1/namespaces/_/actions/py-slow?overwrite=true', {
      method: 'PUT',
      json: { exec: { kind: 'python:3.11', code: 'def main(a):\n    return {}\n' }, limits: { timeout: 20_000 } },
    });
    assert.equal(pySlow.status, 400);
    assert.equal((await pySlow.json()).error, 'timeout 20000 milliseconds exceeds allowed threshold of 10000 milliseconds');

    // An action written before the limits tightened is refused when invoked.
    const inv = await s.api('/api/v1/namespaces/_/actions/node-fn?blocking=true', { method: 'POST', json: {} });
    assert.equal(inv.status, 403);
    assert.match((await inv.json()).error, /The kind 'nodejs:20' is not allowed/);

    await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--allowed-kinds', 'nodejs:20,python', '--max-timeout-ms', '60000'));
    await within(5_000, async () => (await s.api('/api/v1/namespaces/_/actions/node-fn?blocking=true', { method: 'POST', json: {} })).status === 200);
    const big = await s.api('/api/v1/namespaces/_/actions/big-fn?blocking=true', { method: 'POST', json: {} });
    assert.equal(big.status, 400);
    assert.equal((await big.json()).error, 'memory size 512 MB exceeds allowed threshold of 256 MB');

    await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--reset'));
    await within(5_000, async () => !(await (await s.api('/api/v1')).json()).namespace_limits.allowed_kinds);
    const shown = await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace));
    assert.doesNotMatch(shown, /\bset$/m, 'after --reset every limit is the default');
    assert.equal((await s.api('/api/v1/namespaces/_/actions/big-fn?blocking=true', { method: 'POST', json: {} })).status, 200);
  });

  it('--store-activations false: records keep status and timings only, and the limit is back with --reset', async () => {
    await putAction(s, 'secretive', ECHO);
    await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--store-activations', 'false'));
    await within(5_000, async () => (await (await s.api('/api/v1')).json()).namespace_limits.store_activations === false);
    const r = await s.api('/api/v1/namespaces/_/actions/secretive?blocking=true', { method: 'POST', json: { secret: 'hunter2' } });
    assert.equal(r.status, 200);
    const rec = await r.json();
    const stored = await waitForRecord(s, rec.activationId);
    for (const x of [rec, stored]) {
      assert.equal(x.statusCode, 0);
      assert.deepEqual(x.response, { status: 'success', statusCode: 0, success: true, result: {} });
      assert.deepEqual(x.logs, []);
      assert.equal(typeof x.duration, 'number');
      assert.equal(typeof x.start, 'number');
      assert.ok(x.annotations.some((a: { key: string; value: unknown }) => a.key === 'storeActivations' && a.value === false));
      assert.doesNotMatch(JSON.stringify(x), /hunter2/);
    }
    const logs = await (await s.api(`/api/v1/namespaces/_/activations/${rec.activationId}/logs`)).json();
    assert.deepEqual(logs.logs, []);
    await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--reset'));
    await within(5_000, async () => (await (await s.api('/api/v1')).json()).namespace_limits.store_activations === true);
    const again = await (await s.api('/api/v1/namespaces/_/actions/secretive?blocking=true', { method: 'POST', json: { secret: 'hunter2' } })).json();
    assert.deepEqual(again.response.result, { echoed: 'hunter2' });
    assert.equal(again.annotations.some((a: { key: string }) => a.key === 'storeActivations'), false);
  });

  it('invocations per minute and concurrency set per namespace are enforced (429 with OpenWhisk messages)', async () => {
    await putAction(s, 'quick', `function main() { return {}; }`);
    await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--invocations-per-minute', '2'));
    await within(5_000, async () => (await (await s.api('/api/v1')).json()).namespace_limits.invocations_per_minute === 2);
    // The minute window may already hold earlier invocations of this namespace: at most 2 of these 3 pass.
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await s.api('/api/v1/namespaces/_/actions/quick?blocking=true', { method: 'POST', json: {} });
      codes.push(r.status);
      const b = await r.json();
      if (r.status === 429) assert.match(b.error, /^Too many requests in the last minute \(count: \d+, allowed: 2\)\.$/);
    }
    assert.equal(codes.at(-1), 429);
    await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--invocations-per-minute', '1000', '--concurrent', '0'));
    await within(5_000, async () => (await (await s.api('/api/v1')).json()).namespace_limits.concurrent_invocations === 0);
    const c = await s.api('/api/v1/namespaces/_/actions/quick?blocking=true', { method: 'POST', json: {} });
    assert.equal(c.status, 429);
    assert.match((await c.json()).error, /^Too many concurrent requests in flight \(count: 1, allowed: 0\)\.$/);
    await ok(admin(s, storeArgs, 'namespace', 'limits', s.namespace, '--reset'));
  });

  it('keys: several per namespace, listed without secrets, a revoked key is refused, the first keeps working', async () => {
    const created = (await ok(admin(s, storeArgs, 'key', 'create', s.namespace))).trim();
    const [uuid, secret] = created.split(':');
    assert.match(uuid!, /^[0-9a-f-]{36}$/);
    assert.ok(secret && secret.length >= 32);
    const second = await fetch(`${s.url}/api/v1/namespaces/_/actions`, { headers: { authorization: basic(created) } });
    assert.equal(second.status, 200);
    const info = await (await fetch(`${s.url}/api/v1`, { headers: { authorization: basic(created) } })).json();
    assert.equal(info.namespace, s.namespace);

    const list = await ok(admin(s, storeArgs, 'key', 'list', s.namespace));
    const lines = list.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, new RegExp(`^${s.auth.split(':')[0]}\\t\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\tfirst$`));
    assert.match(lines[1]!, new RegExp(`^${uuid}\\t\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`));
    assert.ok(!list.includes(secret!) && !list.includes(s.auth.split(':')[1]!), 'never a secret');

    await ok(admin(s, storeArgs, 'key', 'revoke', s.namespace, uuid!));
    const ms = await within(5_000, async () => (await fetch(`${s.url}/api/v1/namespaces/_/actions`, { headers: { authorization: basic(created) } })).status === 401);
    assert.ok(ms <= 5_000);
    const refused = await fetch(`${s.url}/api/v1/namespaces/_/actions`, { headers: { authorization: basic(created) } });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, 'The supplied authentication is invalid');
    assert.equal((await s.api('/api/v1/namespaces/_/actions')).status, 200, 'the first key keeps working');
    const again = await admin(s, storeArgs, 'key', 'revoke', s.namespace, uuid!);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /has no key/);
  });
});

describe('limits and key revocation seen by a second node (PostgreSQL, separate processes)', () => {
  const schema = `flare_tn_${randomBytes(6).toString('hex')}`;
  const storeUrl = (() => {
    const u = new URL(PG_URL);
    u.searchParams.set('schema', schema);
    u.searchParams.set('pool_max', '4');
    return u.toString();
  })();
  const namespace = `fn-tn-${randomBytes(4).toString('hex')}`;
  const auth = newAuth();
  const nodes: TestServer[] = [];

  before(async () => {
    nodes.push(await startServer({ namespace, auth, args: ['--store', storeUrl] }));
    nodes.push(await startServer({ namespace, auth, args: ['--store', storeUrl, '--role', 'api'] }));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.cleanup();
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('a key revoked through one store is refused by both nodes within 5 s, with warm auth caches', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const created = (await ok(admin(a, ['--store', storeUrl], 'key', 'create', namespace))).trim();
    const get = (n: TestServer) => fetch(`${n.url}/api/v1/namespaces/_/actions`, { headers: { authorization: basic(created) } });
    // Warm both nodes' caches with the key.
    assert.equal((await get(a)).status, 200);
    assert.equal((await get(b)).status, 200);
    await ok(admin(a, ['--store', storeUrl], 'key', 'revoke', namespace, created.split(':')[0]!));
    const [ta, tb] = await Promise.all([within(5_000, async () => (await get(a)).status === 401), within(5_000, async () => (await get(b)).status === 401)]);
    assert.ok(ta <= 5_000 && tb <= 5_000, `refused after ${ta} ms and ${tb} ms`);
    assert.equal((await b.api('/api/v1/namespaces/_/actions')).status, 200, 'the first key keeps working on the second node');
  });

  it('limits set through the CLI are reported and enforced by the second node at once', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    await putAction(a, 'echo', ECHO);
    assert.equal((await b.api('/api/v1/namespaces/_/actions/echo?blocking=true', { method: 'POST', json: {} })).status, 200);
    await ok(admin(a, ['--store', storeUrl], 'namespace', 'limits', namespace, '--allowed-kinds', 'python:3.11', '--concurrent', '7'));
    await within(5_000, async () => (await (await b.api('/api/v1')).json()).namespace_limits.concurrent_invocations === 7);
    const info = await (await b.api('/api/v1')).json();
    assert.deepEqual(info.namespace_limits.allowed_kinds, ['python:3.11']);
    const r = await b.api('/api/v1/namespaces/_/actions/echo?blocking=true', { method: 'POST', json: {} });
    assert.equal(r.status, 403);
    const limits = await (await b.api('/api/v1/namespaces/_/limits')).json();
    assert.equal(limits.concurrentInvocations, 7);
    assert.deepEqual(limits.allowedKinds, ['python:3.11']);
    await ok(admin(a, ['--store', storeUrl], 'namespace', 'limits', namespace, '--reset'));
    await within(5_000, async () => (await b.api('/api/v1/namespaces/_/actions/echo?blocking=true', { method: 'POST', json: {} })).status === 200);
  });
});
