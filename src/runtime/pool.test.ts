// The executor pool: warm reuse per action version, prewarmed stem cells, concurrency, idle eviction, memory budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, action, request } from './test-helpers.js';
import type { PoolStats, Runtime } from './runtime.js';

async function until(what: string, fn: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const stats = (rt: Runtime): PoolStats => rt.stats!();

test('warm reuse only for the same action version and invoking namespace', async () => {
  const t = await testRuntime();
  try {
    const a = action('let n = 0; function main() { return { n: ++n, pid: process.pid } }');
    const o1 = await t.rt.run(request(a));
    const o2 = await t.rt.run(request(a));
    assert.equal(o1.executor, 'cold');
    assert.equal(o2.executor, 'warm');
    assert.deepEqual([(o1.result as any).n, (o2.result as any).n], [1, 2]);
    const updated = { ...a, version: '0.0.2', updated: a.updated + 1 };
    const o3 = await t.rt.run(request(updated));
    assert.equal(o3.executor, 'cold');
    assert.equal((o3.result as any).n, 1);
    const o4 = await t.rt.run(request(a, {}, { namespace: 'someone-else' }));
    assert.equal(o4.executor, 'cold');
  } finally {
    await t.close();
  }
});

test('concurrent activations of one action get separate executors', async () => {
  const t = await testRuntime();
  try {
    const a = action('function main() { return new Promise((r) => setTimeout(() => r({ pid: process.pid }), 200)) }');
    const outs = await Promise.all([1, 2, 3].map(() => t.rt.run(request(a))));
    for (const o of outs) assert.equal(o.statusCode, 0);
    assert.equal(stats(t.rt).warm, 3);
  } finally {
    await t.close();
  }
});

test('prewarmed stem cells serve first calls and are replaced', async () => {
  const t = await testRuntime({ stemCells: { 'nodejs:20': 1, 'python:3.11': 1 } });
  try {
    await until('booted stem cells', () => stats(t.rt).stemCellsReady === 2);
    const o = await t.rt.run(request(action('function main(a) { return { v: a.v } }', { limits: { memory: 512 } }), { v: 1 }));
    assert.equal(o.executor, 'prewarmed');
    assert.deepEqual(o.result, { v: 1 });
    assert.equal(typeof o.initTime, 'number');
    const p = await t.rt.run(request(action('def main(a):\n    return {"v": a["v"]}\n', { kind: 'python:3.11' }), { v: 2 }));
    assert.equal(p.executor, 'prewarmed');
    assert.deepEqual(p.result, { v: 2 });
    await until('replacement stem cells', () => stats(t.rt).stemCells === 2);
  } finally {
    await t.close();
  }
});

test('idle executors are evicted', async () => {
  const t = await testRuntime({ idleEvictMs: 200 });
  try {
    await t.rt.run(request(action('function main() { return {} }')));
    assert.equal(stats(t.rt).warm, 1);
    await until('eviction', () => stats(t.rt).executors === 0, 3000);
  } finally {
    await t.close();
  }
});

test('the memory budget evicts idle executors before overcommitting', async () => {
  const t = await testRuntime({ memoryBudgetMb: 512 });
  try {
    for (let i = 0; i < 4; i++) {
      const o = await t.rt.run(request(action(`function main() { return { i: ${i} } }`)));
      assert.equal(o.statusCode, 0);
      assert.ok(stats(t.rt).memoryMb <= 512, JSON.stringify(stats(t.rt)));
    }
    assert.equal(t.rt.freeSlots(256), 2);
    assert.equal(t.rt.freeSlots(1024), 0);
  } finally {
    await t.close();
  }
});

test('an idle executor that dies on its own leaves the pool; a crash mid-run still releases capacity', async () => {
  const t = await testRuntime({ memoryBudgetMb: 512 });
  try {
    let fired = 0;
    t.rt.onCapacity(() => fired++);
    const a = action('function main(a) { if (a.later) setTimeout(() => process.exit(9), 50); return {} }');
    await t.rt.run(request(a, { later: true }));
    await until('dead executor removed', () => stats(t.rt).executors === 0);
    const before = fired;
    const crash = await t.rt.run(request(action('function main() { process.exit(1) }')));
    assert.equal(crash.statusCode, 2);
    assert.ok(fired > before, 'capacity released after a crash');
    assert.equal(t.rt.freeSlots(256), 2);
  } finally {
    await t.close();
  }
});

test('idle warm executors are paused (frozen) after the grace period and resume on the next call', async (ctx) => {
  const t = await testRuntime({ pauseGraceMs: 50 });
  try {
    if (!t.rt.sandbox.isolated) return ctx.skip('no cgroup freezer in unsafe mode');
    const a = action('let n = 0; setInterval(() => n++, 5); function main() { return { n } }');
    const first = (await t.rt.run(request(a))).result as { n: number };
    await until('paused', () => stats(t.rt).paused === 1, 3000);
    await new Promise((r) => setTimeout(r, 500));
    const o = await t.rt.run(request(a));
    assert.equal(o.statusCode, 0);
    assert.equal(o.executor, 'warm');
    const ticks = (o.result as { n: number }).n - first.n;
    // ~600 ms passed: unpaused the timer would have ticked ~100 times; frozen it ran only during the grace.
    assert.ok(ticks < 50, `timer ticked ${ticks} times while the executor was idle`);
    assert.equal(stats(t.rt).paused, 0);
  } finally {
    await t.close();
  }
});
