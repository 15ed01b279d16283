// Fair claiming, end to end (both stores): namespace A has a 1,000-deep backlog that takes the invoker's four slots
// for minutes in arrival order; namespace B's blocking invokes still start at the next free slot and answer promptly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, putAction, newAuth, FLARE_BIN, type TestServer } from './helpers/server.js';

const BACKLOG = 1000;
let s: TestServer;
let b: { authHeader: string };

before(async () => {
  // Four slots of 256 MB: a backlog of 1,000 runs of 500 ms takes ≥ 125 s to drain in arrival order.
  s = await startServer({ env: { FLARE_LIMIT_CONCURRENT: '100000', FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000', FLARE_INVOKER_MEMORY_MB: '1024' } });
  const args = s.proc.spawnargs;
  const storeArgs = ['--data-dir', s.dataDir, ...(args.includes('--store') ? ['--store', args[args.indexOf('--store') + 1]!] : [])];
  const auth = newAuth();
  const r = spawnSync(process.execPath, [FLARE_BIN, 'admin', 'namespace', 'create', 'quiet-b', '--auth', auth, ...storeArgs], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  b = { authHeader: `Basic ${Buffer.from(auth).toString('base64')}` };
  await putAction(s, 'busy', 'function main(){ return new Promise(r => setTimeout(() => r({}), 500)) }');
  const put = await fetch(`${s.url}/api/v1/namespaces/_/actions/noop?overwrite=true`, {
    method: 'PUT',
    headers: { authorization: b.authHeader, 'content-type': 'application/json' },
    body: JSON.stringify({ exec: { kind: 'nodejs:20', code: 'function main(){ return { ok: true } }' } }),
  });
  assert.equal(put.status, 200, await put.text());
});

after(async () => {
  await s.kill();
  s.cleanup();
});

test('a 1,000-deep backlog in one namespace does not hold back another namespace', async (t) => {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    for (let i = next++; i < BACKLOG; i = next++) {
      const r = await s.api('/api/v1/namespaces/_/actions/busy?blocking=false', { method: 'POST', json: { i } });
      const text = await r.text();
      assert.equal(r.status, 202, text);
    }
  }));
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    const r = await fetch(`${s.url}/api/v1/namespaces/_/actions/noop?blocking=true&result=true`, {
      method: 'POST',
      headers: { authorization: b.authHeader, 'content-type': 'application/json' },
      body: '{}',
    });
    latencies.push(Date.now() - t0);
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.deepEqual(JSON.parse(text), { ok: true });
  }
  t.diagnostic(`B's blocking invokes: ${latencies.join(', ')} ms`);
  const done = await (await s.api('/api/v1/namespaces/_/activations?count=true')).json();
  // B's calls were served while A's backlog was still waiting: in arrival order each would have waited for the rest
  // of it (at 4 slots, `remaining` × 500 ms / 4), which is at least 25 s here.
  const remaining = BACKLOG - done.activations;
  t.diagnostic(`A: ${done.activations} of ${BACKLOG} done when B's calls ended`);
  assert.ok(remaining >= 200, `A's backlog drained while it was being queued (${done.activations} done): nothing to compare`);
  // Generous: a cold start plus at most one 500 ms run per slot on a loaded machine (tight figures: npm run bench).
  assert.ok(Math.max(...latencies) < 10_000, `B's blocking invokes took ${latencies.join(', ')} ms`);
});
