// Insights (issue 13, point 9): after known traffic the aggregate endpoint's numbers are exact — counts by status,
// errors, cold starts — and its percentiles match the records' durations to the histogram's resolution.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { putAction, startServer, testStoreArgs, type TestServer } from './helpers/server.js';

const OK = `function main(p) { return { n: p.n }; }`;
const FAIL = `function main(p) { return { error: 'no ' + p.n }; }`;

/** The bucket upper bound the server reports for a duration (2^(1/8) steps). */
const upper = (ms: number) => (ms <= 1 ? 1 : Math.round(2 ** (Math.ceil(Math.log2(ms) * 8 - 1e-9) / 8)));
function pct(durations: number[], q: number): number {
  const sorted = [...durations].sort((a, b) => a - b);
  return upper(sorted[Math.ceil(q * sorted.length) - 1]!);
}

describe('insights endpoint', () => {
  let s: TestServer;
  const records: any[] = [];

  before(async () => {
    s = await startServer({ args: testStoreArgs() });
    await putAction(s, 'ok-fn', OK);
    await putAction(s, 'fail-fn', FAIL);
    for (let i = 0; i < 7; i++) {
      const r = await s.api('/api/v1/namespaces/_/actions/ok-fn?blocking=true', { method: 'POST', json: { n: i } });
      assert.equal(r.status, 200);
      records.push(await r.json());
    }
    for (let i = 0; i < 3; i++) {
      const r = await s.api('/api/v1/namespaces/_/actions/fail-fn?blocking=true', { method: 'POST', json: { n: i } });
      assert.equal(r.status, 502);
      records.push(await r.json());
    }
  });
  after(async () => {
    await s.kill();
    s.cleanup();
  });

  const expectFor = (recs: any[]) => ({
    invocations: recs.length,
    success: recs.filter((r) => r.statusCode === 0).length,
    applicationErrors: recs.filter((r) => r.statusCode === 1).length,
    errors: recs.filter((r) => r.statusCode !== 0).length,
    coldStarts: recs.filter((r) => r.annotations.some((a: any) => a.key === 'initTime')).length,
    p50: pct(recs.map((r) => r.duration), 0.5),
    p95: pct(recs.map((r) => r.duration), 0.95),
  });

  for (const period of ['1h', '24h', '7d']) {
    it(`namespace and per-function numbers are exact after known traffic (period ${period})`, async () => {
      const ns = await (await s.api(`/api/v1/namespaces/_/insights?period=${period}`)).json();
      assert.equal(ns.period, period);
      assert.equal(ns.name, null);
      assert.equal(ns.intervals.length, { '1h': 60, '24h': 96, '7d': 168 }[period]);
      const want = expectFor(records);
      assert.equal(ns.totals.invocations, 10);
      assert.equal(ns.totals.success, 7);
      assert.equal(ns.totals.applicationErrors, 3);
      assert.equal(ns.totals.errors, 3);
      assert.equal(ns.totals.developerErrors + ns.totals.internalErrors, 0);
      assert.equal(ns.totals.coldStarts, want.coldStarts);
      assert.ok(want.coldStarts >= 2, 'each function started cold at least once');
      assert.equal(ns.totals.p50DurationMs, want.p50);
      assert.equal(ns.totals.p95DurationMs, want.p95);
      const avg = records.reduce((a, r) => a + r.duration, 0) / records.length;
      assert.equal(ns.totals.avgDurationMs, Math.round(avg * 10) / 10);
      // Every record lies in the interval its start falls in.
      const sum = ns.intervals.reduce((a: number, i: any) => a + i.invocations, 0);
      assert.equal(sum, 10);
      for (const r of records) {
        const i = ns.intervals.find((x: any) => x.start <= r.start && r.start < x.start + ns.intervalMs);
        assert.ok(i && i.invocations > 0, `record ${r.activationId} is counted in its interval`);
      }

      const fail = await (await s.api(`/api/v1/namespaces/_/insights?period=${period}&name=fail-fn`)).json();
      const wantFail = expectFor(records.filter((r) => r.name === 'fail-fn'));
      assert.equal(fail.name, 'fail-fn');
      assert.equal(fail.totals.invocations, 3);
      assert.equal(fail.totals.applicationErrors, 3);
      assert.equal(fail.totals.success, 0);
      assert.equal(fail.totals.coldStarts, wantFail.coldStarts);
      assert.equal(fail.totals.p50DurationMs, wantFail.p50);
      const okFn = await (await s.api(`/api/v1/namespaces/_/insights?period=${period}&name=ok-fn`)).json();
      assert.equal(okFn.totals.invocations, 7);
      assert.equal(okFn.totals.errors, 0);
    });
  }

  it('bad periods and names are 400s; another namespace is 403; an unknown function is all zeros', async () => {
    const bad = await s.api('/api/v1/namespaces/_/insights?period=2h');
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /The query parameter 'period' was malformed/);
    assert.equal((await s.api('/api/v1/namespaces/_/insights?name=')).status, 400);
    assert.equal((await s.api('/api/v1/namespaces/someone-else/insights')).status, 403);
    assert.equal((await fetch(`${s.url}/api/v1/namespaces/_/insights`)).status, 401);
    const none = await (await s.api('/api/v1/namespaces/_/insights?name=nothing-here')).json();
    assert.equal(none.totals.invocations, 0);
    assert.equal(none.totals.p50DurationMs, null);
  });
});
