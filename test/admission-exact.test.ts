// The concurrent-invocations limit holds exactly under 64 simultaneous clients (run on both stores).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, putAction, waitFor, type TestServer } from './helpers/server.js';

const LIMIT = 10;
let s: TestServer;

before(async () => {
  s = await startServer({ env: { FLARE_LIMIT_CONCURRENT: String(LIMIT), FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000' } });
  await putAction(s, 'slow', 'function main(){ return new Promise(r => setTimeout(() => r({}), 2500)) }');
});
after(async () => {
  await s.stop();
  s.cleanup();
});

test('64 simultaneous clients: exactly the limit is admitted, the rest get 429 naming the limit', async () => {
  for (let round = 0; round < 2; round++) {
    const rs = await Promise.all(
      Array.from({ length: 64 }, () => s.api('/api/v1/namespaces/_/actions/slow', { method: 'POST', json: {} })),
    );
    const statuses = rs.map((r) => r.status);
    const accepted = statuses.filter((x) => x === 202).length;
    assert.equal(accepted + statuses.filter((x) => x === 429).length, 64, statuses.join(','));
    const ids = await Promise.all(rs.filter((r) => r.status === 202).map(async (r) => (await r.json()).activationId as string));
    const recs = await Promise.all(ids.map((id) => waitFor(async () => {
      const r = await s.api(`/api/v1/namespaces/_/activations/${id}`);
      return r.status === 200 ? r.json() : undefined;
    }, 30_000)));
    // Every admitted invocation ran its full 2.5 s, so none freed its place during the burst.
    assert.deepEqual(recs.map((r: any) => [r.response.statusCode, r.duration >= 2400]).filter(([c, d]) => c !== 0 || !d), [], JSON.stringify(recs.map((r: any) => r.response)));
    // The check and the enqueue are one store operation: not one over the limit, on either store.
    assert.ok(accepted <= LIMIT, `round ${round}: admitted ${accepted} > ${LIMIT}`);
    if (round === 0) assert.ok(accepted >= LIMIT, `the first burst fills the limit (${accepted})`);
    for (const r of rs) {
      if (r.status !== 429) continue;
      const b = await r.json();
      const m = /count: (\d+), allowed: (\d+)/.exec(b.error);
      assert.ok(m, b.error);
      assert.equal(Number(m![2]), LIMIT);
      assert.equal(Number(m![1]), LIMIT + 1);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
});
