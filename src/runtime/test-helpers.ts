// Helpers for the runtime's own tests: real Runtime instances and action documents.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ActionDoc, ActionLimits } from '../types.js';
import type { RunOutcome, RunRequest, Runtime } from './runtime.js';
import { createRuntime, type RuntimeOptions } from './create-runtime.js';

export interface TestRuntime {
  rt: Runtime;
  dataDir: string;
  close(): Promise<void>;
}

export async function testRuntime(opts: Partial<RuntimeOptions> = {}): Promise<TestRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flare-rt-'));
  const rt = await createRuntime({
    dataDir,
    memoryBudgetMb: 4096,
    resultMaxBytes: 1_048_576,
    requireSandbox: false,
    stemCells: {},
    ...opts,
  });
  return {
    rt,
    dataDir,
    async close() {
      await rt.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
export function action(
  code: string,
  opts: { kind?: string; main?: string; binary?: boolean; limits?: Partial<ActionLimits>; name?: string; namespace?: string } = {},
): ActionDoc {
  return {
    namespace: opts.namespace ?? 'guest',
    name: opts.name ?? `a${++seq}`,
    exec: { kind: opts.kind ?? 'nodejs:20', code, main: opts.main, binary: opts.binary ?? false },
    parameters: [],
    limits: { timeout: 10_000, memory: 256, logs: 10, concurrency: 1, ...opts.limits },
    version: '0.0.1',
    publish: false,
    annotations: [],
    updated: Date.now() + seq,
  };
}

export function request(a: ActionDoc, params: Record<string, unknown> = {}, extra: Partial<RunRequest> = {}): RunRequest {
  const ns = a.namespace.split('/')[0];
  return {
    activationId: randomUUID().replace(/-/g, ''),
    transactionId: randomUUID().replace(/-/g, ''),
    namespace: ns,
    actionName: `/${a.namespace}/${a.name}`,
    action: a,
    params,
    env: {},
    apiHost: 'http://127.0.0.1:1',
    ...extra,
  };
}

export function logText(o: RunOutcome): string[] {
  return o.logs.map((l) => l.replace(/^\S+\s+(stdout|stderr): /, '$1: '));
}

/** Host processes whose command line contains `marker` (escapees of a sandbox would show up here). */
export function hostProcessesWith(marker: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) found.push(Number(p));
    } catch {
      /* exited */
    }
  }
  return found;
}
