// `flare admin backup <file>` while the server runs under write load (SQLite: the backup is a SQLite-store command;
// PostgreSQL is backed up with pg_dump, docs/deploy.md): the copy opens, passes its check and holds every record
// committed before the backup started.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FLARE_BIN, putAction, startServer, waitFor, type TestServer } from './helpers/server.js';

const run = (args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [FLARE_BIN, ...args], { env: { PATH: process.env.PATH! } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });

describe('flare admin backup (SQLite online backup)', () => {
  let s: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'flare-backup-'));
  after(async () => {
    await s?.kill();
    s?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies the store while the server writes; the copy opens and holds every record committed before it', async () => {
    s = await startServer({ args: ['--store', 'sqlite'], env: { FLARE_SANDBOX: 'off', FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '100000', FLARE_LIMIT_CONCURRENT: '100000' } });
    await putAction(s, 'w', 'function main(p) { return { n: p.n }; }');
    const invoke = async (n: number) => {
      const r = await s.api('/api/v1/namespaces/_/actions/w?blocking=false', { method: 'POST', json: { n } });
      assert.equal(r.status, 202);
      return ((await r.json()) as { activationId: string }).activationId;
    };
    for (let i = 0; i < 40; i++) await invoke(i);
    const count = async () => ((await (await s.api('/api/v1/namespaces/_/activations?count=true')).json()) as { activations: number }).activations;
    await waitFor(async () => ((await count()) === 40 ? true : undefined), 30_000, 100);

    // Write load during the backup: a client keeps invoking.
    let stop = false;
    let n = 40;
    const load = (async () => {
      while (!stop) await invoke(n++);
    })();
    await new Promise((r) => setTimeout(r, 300));
    const file = join(dir, 'copy.db');
    const out = await run(['admin', 'backup', file, '--data-dir', s.dataDir]);
    stop = true;
    await load;
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^Backed up .*flare\.db to .*copy\.db: \d+ pages, \d+ activation records, \d+ invocations in flight \(copy checked\)\n$/);
    assert.ok(n > 45, `the load went on during the backup (${n - 40} invocations)`);

    const copy = new Database(file, { readonly: true });
    try {
      assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
      const records = (copy.prepare('SELECT count(*) AS n FROM activations').get() as { n: number }).n;
      const inFlight = (copy.prepare('SELECT count(*) AS n FROM queue').get() as { n: number }).n;
      assert.ok(records >= 40, `${records} records in the copy`);
      assert.ok(records + inFlight <= n, 'nothing in the copy that was never accepted');
      assert.match(out.stdout, new RegExp(`: \\d+ pages, ${records} activation records, ${inFlight} invocations`));
      const ns = copy.prepare('SELECT count(*) AS n FROM namespaces WHERE name = ?').get(s.namespace) as { n: number };
      assert.equal(ns.n, 1);
    } finally {
      copy.close();
    }
    // The server did not notice: it still takes work.
    await invoke(-1);

    // An existing file is never overwritten; a PostgreSQL store is pointed at pg_dump.
    const again = await run(['admin', 'backup', file, '--data-dir', s.dataDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists: choose a new file/);
    const pgOut = await run(['admin', 'backup', join(dir, 'x.db'), '--store', 'postgres://nobody@127.0.0.1:1/none']);
    assert.equal(pgOut.code, 1);
    assert.match(pgOut.stderr, /pg_dump/);
  });
});
