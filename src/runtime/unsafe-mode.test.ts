// Unsafe dev mode: still runs functions (clean environment, child processes), but says so; and a server that
// requires isolation refuses to start without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from './create-runtime.js';
import { testRuntime, action, request } from './test-helpers.js';

test('unsafe dev mode is labelled, warned about, and still runs functions with a clean environment', async () => {
  const warnings: string[] = [];
  const t = await testRuntime({ unsafe: true, logger: { warn: (m) => warnings.push(m), info: () => undefined } });
  try {
    assert.equal(t.rt.sandbox.isolated, false);
    assert.match(t.rt.sandbox.description, /^unsafe dev mode/);
    assert.ok(warnings.some((w) => /unsafe dev mode/.test(w)));
    const o = await t.rt.run(request(action('function main() { return { pid: process.pid, leak: process.env.NODE_EXTRA_CA_CERTS ?? null } }')));
    assert.equal(o.statusCode, 0);
    assert.notEqual((o.result as any).pid, process.pid, 'never in the server process');
    assert.equal((o.result as any).leak, null);
  } finally {
    await t.close();
  }
});

test('requireSandbox refuses to start without isolation', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flare-rt-'));
  try {
    await assert.rejects(
      createRuntime({ dataDir, memoryBudgetMb: 1024, resultMaxBytes: 1_048_576, requireSandbox: true, unsafe: true, stemCells: {} }),
      /Isolation is required but unavailable/,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
