// Execution-layer benchmarks: cold starts (Node, Python), prewarmed stem-cell starts (Node, PHP, Go from its cached binary), and the warm call overhead
// of the sandbox over the unsandboxed path. Each figure is the wall time of Runtime.run() as the invoker sees it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createRuntime, type RuntimeOptions } from '../src/runtime/create-runtime.js';
import type { RunRequest, Runtime } from '../src/runtime/runtime.js';
import type { ActionDoc } from '../src/types.js';
import { resolveKind } from '../src/kinds.js';
import { percentile as pct, timeCalls, type BenchRow } from './stats.js';

export type { BenchRow };

const QUICK = process.env.BENCH_QUICK === '1';

let seq = 0;
function actionDoc(kind: string, code: string): ActionDoc {
  seq++;
  return {
    namespace: 'bench',
    name: `a${seq}`,
    exec: { kind, code, binary: false },
    parameters: [],
    limits: { timeout: 60_000, memory: 256, logs: 10, concurrency: 1 },
    version: '0.0.1',
    publish: false,
    annotations: [],
    updated: Date.now() + seq,
  };
}

function req(a: ActionDoc): RunRequest {
  return {
    activationId: randomUUID().replace(/-/g, ''),
    transactionId: randomUUID().replace(/-/g, ''),
    namespace: 'bench',
    actionName: `/bench/${a.name}`,
    action: a,
    params: { n: 1 },
    env: {},
    apiHost: 'http://127.0.0.1:1',
  };
}

async function measure(n: number, fn: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  const { p50, p99 } = await timeCalls(n, fn);
  return { p50: +p50.toFixed(3), p99: +p99.toFixed(3) };
}

async function withRuntime<T>(opts: Partial<RuntimeOptions>, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flare-bench-rt-'));
  const rt = await createRuntime({ dataDir, memoryBudgetMb: 4096, resultMaxBytes: 1_048_576, requireSandbox: false, stemCells: {}, ...opts });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const NODE_FN = 'function main(a) { return { n: a.n } }';
const PHP_FN = '<?php function main(array $a): array { return ["n" => $a["n"] ?? 0]; }';
const GO_FN = 'package main\n\nfunc Main(a map[string]interface{}) map[string]interface{} { return map[string]interface{}{"n": a["n"]} }\n';
const PY_FN = 'def main(a):\n    return {"n": a["n"]}\n';

async function check(rt: Runtime, r: RunRequest): Promise<void> {
  const o = await rt.run(r);
  if (o.statusCode !== 0) throw new Error(`bench function failed: ${JSON.stringify(o.result)}`);
}

export async function benchRuntime(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const coldN = QUICK ? 10 : 30;
  const warmN = QUICK ? 1000 : 5000;
  let label = '';
  // A budget large enough that no eviction (kill + cgroup removal) overlaps the timed cold starts.
  await withRuntime({ memoryBudgetMb: 65_536 }, async (rt) => {
    label = rt.sandbox.isolated ? 'sandbox' : 'unsafe';
    const cold = async (kind: string, code: string) => measure(coldN, () => check(rt, req(actionDoc(kind, code))));
    await cold('nodejs:20', NODE_FN); // warm the page cache
    rows.push({ name: `cold start nodejs:20 (${label})`, ...(await cold('nodejs:20', NODE_FN)), unit: 'ms' });
    rows.push({ name: `cold start python:3.11 (${label})`, ...(await cold('python:3.11', PY_FN)), unit: 'ms' });
  });
  // Stem-cell starts: Node; PHP (a new PHP function's first invoke); Go from the digest-cached binary (each round is
  // a new version of one Go function, built once before timing) on the native runner's stem cell.
  const goFirst = actionDoc('go:default', GO_FN);
  const stemRow = async (name: string, kind: string, stem: string, make: () => ActionDoc, before?: (rt: Runtime) => Promise<void>) =>
    withRuntime({ stemCells: { [stem]: 1 }, memoryBudgetMb: 65_536 }, async (rt) => {
      if (before) await before(rt);
      const times: number[] = [];
      for (let i = 0; i < coldN; i++) {
        // Wait for a booted stem cell, as a server between requests would have one.
        const deadline = Date.now() + 10_000;
        while ((rt.stats?.().stemCellsReady ?? 0) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 20));
        const t0 = process.hrtime.bigint();
        const o = await rt.run(req(make()));
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (o.statusCode !== 0) throw new Error(`bench function failed: ${JSON.stringify(o.result)}`);
        if (o.executor !== 'prewarmed') throw new Error(`expected a stem cell, got ${o.executor}`);
      }
      times.sort((a, b) => a - b);
      rows.push({ name: `${name} ${kind} (${label})`, p50: +pct(times, 50).toFixed(3), p99: +pct(times, 99).toFixed(3), unit: 'ms' });
    });
  await stemRow('stem-cell start', 'nodejs:20', 'nodejs:20', () => actionDoc('nodejs:20', NODE_FN));
  if (resolveKind('php:default')) await stemRow('cold start (stem cell)', 'php:8.2', 'php:8.2', () => actionDoc('php:8.2', PHP_FN));
  if (resolveKind('go:default')) {
    await stemRow('cached-binary start', 'go', 'blackbox', () => ({ ...goFirst, version: `0.0.${++seq}`, updated: goFirst.updated + seq }), async (rt) => check(rt, req(goFirst)));
  }
  const warm = async (unsafe: boolean) =>
    withRuntime({ unsafe }, async (rt) => {
      const a = actionDoc('nodejs:20', NODE_FN);
      for (let i = 0; i < 200; i++) await check(rt, req(a));
      return measure(warmN, () => check(rt, req(a)));
    });
  const inside = await warm(false);
  const outside = await warm(true);
  rows.push({ name: `warm call nodejs:20 (${label})`, ...inside, unit: 'ms' });
  rows.push({ name: 'warm call nodejs:20 (unsandboxed)', ...outside, unit: 'ms' });
  rows.push({ name: 'warm call overhead of the sandbox (p50 difference)', value: +(inside.p50 - outside.p50).toFixed(3), unit: 'ms' });
  await withRuntime({ unsafe: true, memoryBudgetMb: 65_536 }, async (rt) => {
    const cold = async (kind: string, code: string) => measure(coldN, () => check(rt, req(actionDoc(kind, code))));
    rows.push({ name: 'cold start nodejs:20 (unsandboxed)', ...(await cold('nodejs:20', NODE_FN)), unit: 'ms' });
  });
  return rows;
}

// Run directly: node --import tsx bench/runtime.ts
if (process.argv[1] && process.argv[1].endsWith('runtime.ts')) {
  benchRuntime().then((rows) => {
    for (const r of rows) console.log(`${r.name.padEnd(52)} ${r.p50 !== undefined ? `p50 ${r.p50} p99 ${r.p99}` : r.value} ${r.unit}`);
  });
}
