// kill -9 the server with invocations queued and running: after a restart every accepted id ends with a record.
// Queued ones run; running ones get a statusCode 3 "interrupted" record (never a silent re-run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, putAction, waitForRecord, waitFor } from './helpers/server.js';

test('kill -9 with queued and running invocations loses nothing and re-runs nothing', async () => {
  const marks = mkdtempSync(join(tmpdir(), 'flare-marks-'));
  // Tiny executor budget: 2 run at a time, the rest wait in the durable queue.
  // The functions leave marks on the host to prove what ran, so this test runs them unsandboxed (FLARE_SANDBOX=off):
  // it checks the queue and invoker, not the isolation.
  const env = { FLARE_INVOKER_MEMORY_MB: '512', FLARE_LEASE_MS: '2000', FLARE_SANDBOX: 'off' };
  let s = await startServer({ env });
  try {
    // Each run appends its activation id to a file, so a re-run would show as a duplicate line.
    const code = `
      const fs = require('fs');
      async function main(args) {
        fs.appendFileSync(${JSON.stringify(join(marks, 'runs'))}, process.env.__OW_ACTIVATION_ID + '\\n');
        await new Promise((r) => setTimeout(r, Number(args.sleep)));
        return { done: true };
      }`;
    await putAction(s, 'slow', code);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await s.api('/api/v1/namespaces/_/actions/slow', { method: 'POST', json: { sleep: 4000 } });
      assert.equal(r.status, 202);
      ids.push((await r.json()).activationId);
    }
    // Wait until two are running (they have written their marks), then kill -9.
    const runsFile = join(marks, 'runs');
    await waitFor(async () => (existsSync(runsFile) && readFileSync(runsFile, 'utf8').trim().split('\n').length >= 2 ? true : undefined));
    const startedBeforeKill = new Set(readFileSync(runsFile, 'utf8').trim().split('\n'));
    await s.kill();

    s = await s.restart(env);
    const records = new Map<string, any>();
    for (const id of ids) records.set(id, await waitForRecord(s, id, 30_000));

    const runs = readFileSync(runsFile, 'utf8').trim().split('\n');
    assert.equal(new Set(runs).size, runs.length, 'no invocation ran twice');
    let interrupted = 0;
    for (const id of ids) {
      const rec = records.get(id);
      if (startedBeforeKill.has(id)) {
        interrupted++;
        assert.equal(rec.statusCode, 3, `${id} was running at the kill`);
        assert.equal(rec.response.status, 'whisk internal error');
        assert.equal(rec.response.success, false);
        assert.match(rec.response.result.error, /interrupted/);
      } else {
        assert.equal(rec.statusCode, 0, `${id} was queued at the kill and must run after restart`);
        assert.deepEqual(rec.response.result, { done: true });
      }
    }
    assert.ok(interrupted >= 2 && interrupted < ids.length, `interrupted ${interrupted}`);
    const count = await (await s.api('/api/v1/namespaces/_/activations?count=true')).json();
    assert.deepEqual(count, { activations: ids.length });
  } finally {
    await s.stop();
    s.cleanup();
  }
});
