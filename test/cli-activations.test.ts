// End-to-end: `flare activations get|list|logs|result` with their flags, against a real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, waitFor, FLARE_BIN, type TestServer } from './helpers/server.js';
import { runCli, tempConfigDir } from './helpers/cli.js';

let s: TestServer;
let env: Record<string, string>;
const cli = (...args: string[]) => runCli(args, { env });
const BANNER = /^=== ([0-9a-f]{32}) (success|application error|developer error) \d\d\/\d\d \d\d:\d\d:\d\d (\S+):0\.0\.1$/;
const ids: string[] = []; // oldest first

const sortedLines = (text: string) => text.trimEnd().split('\n').sort();

async function count(): Promise<number> {
  const r = await s.api('/api/v1/namespaces/_/activations?count=true');
  return ((await r.json()) as { activations: number }).activations;
}

before(async () => {
  s = await startServer();
  env = { FLARE_CONFIG_DIR: tempConfigDir() };
  const dir = mkdtempSync(join(tmpdir(), 'flare-cli-actv-'));
  writeFileSync(join(dir, 'logger.js'), "function main(a) { console.log('line one ' + (a.n || 0)); console.error('line two'); return { n: Number(a.n || 0) }; }\n");
  writeFileSync(join(dir, 'fail.js'), "function main() { return { error: 'nope' }; }\n");
  assert.equal((await runCli(['connect', '--apihost', s.url, '--auth', s.auth], { env })).code, 0);
  assert.equal((await cli('fn', 'create', 'pkg/logger', join(dir, 'logger.js'))).code, 0);
  assert.equal((await cli('fn', 'create', 'fail', join(dir, 'fail.js'))).code, 0);
  for (const n of [1, 2, 3]) {
    const r = await cli('fn', 'invoke', 'pkg/logger', '-n', '-p', `n:${n}`);
    ids.push(JSON.parse(r.stdout).activationId);
    await waitFor(async () => ((await count()) >= n ? true : undefined)); // keep start times ordered
  }
  await cli('fn', 'invoke', 'fail');
  await waitFor(async () => ((await count()) >= 4 ? true : undefined));
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('get without id takes the newest; -s skips; -f filters; -r/-g print the banner unless -q', async () => {
  const newest = JSON.parse((await cli('activations', 'get')).stdout);
  assert.equal(newest.name, 'fail');
  assert.equal(newest.statusCode, 1);
  const skipped = JSON.parse((await cli('actv', 'get', '--last', '-s', '1')).stdout);
  assert.equal(skipped.activationId, ids[2]);

  const r = await cli('actv', 'get', '-f', 'pkg/logger', '-r');
  const [banner, ...rest] = r.stdout.split('\n');
  const m = BANNER.exec(banner!);
  assert.ok(m, r.stdout);
  assert.equal(m[1], ids[2]);
  assert.equal(m[2], 'success');
  assert.equal(m[3], 'pkg/logger');
  assert.equal(rest.join('\n'), '{\n  "n": 3\n}\n');

  // stdout and stderr are separate pipes, so their relative order is not asserted.
  const q = await cli('actv', 'get', '-f', 'pkg/logger', '-g', '-q');
  assert.deepEqual(sortedLines(q.stdout), ['line one 3', 'line two']);
  const byId = await cli('actv', 'get', ids[0]!, '-g');
  assert.deepEqual(sortedLines(byId.stdout), ['line one 1', 'line two']); // never a banner with an id

  const failed = await cli('actv', 'get', '-r');
  assert.match(failed.stdout, /^=== [0-9a-f]{32} application error \d\d\/\d\d \d\d:\d\d:\d\d fail:0\.0\.1\n\{\n {2}"error": "nope"\n\}\n$/);
  const noLogs = await cli('actv', 'get', '-g');
  assert.equal(noLogs.code, 1);
  assert.equal(noLogs.stderr, 'Error: no logs available\n');

  const none = await cli('actv', 'get', '-f', 'nosuch');
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'Error: no activations were returned\n');
  const bad = await cli('actv', 'get', '0123456789abcdef0123456789abcdef');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: The requested activation record does not exist\./);
});

test('list: function filter, --skip, --since/--upto, --count, --full, -o json, --format, --no-header', async () => {
  const all = await cli('activations', 'list');
  const rows = all.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/ {2,}/));
  assert.deepEqual(rows.map((r) => r[8]), ['fail', 'pkg/logger', 'pkg/logger', 'pkg/logger']);
  assert.equal(rows[0]![1], 'application error');

  const fmt = await cli('actv', 'ls', 'pkg/logger', '--format', 'ActivationID,Function', '--no-header', '-s', '1');
  assert.equal(fmt.stdout, `${ids[1]}    pkg/logger\n${ids[0]}    pkg/logger\n`);

  const recs = JSON.parse((await cli('actv', 'list', '-o', 'json')).stdout) as { activationId: string; start: number; response?: unknown }[];
  assert.equal(recs.length, 4);
  assert.equal(recs[0]!.response, undefined); // summaries
  const since = recs[2]!.start;
  const window = await cli('actv', 'list', '--since', String(since), '--upto', String(recs[1]!.start), '--format', 'ActivationID', '--no-header');
  assert.equal(window.stdout, `${recs[1]!.activationId}\n${recs[2]!.activationId}\n`);

  const full = JSON.parse((await cli('actv', 'list', '--full', '-l', '1')).stdout);
  assert.equal(full.length, 1);
  assert.deepEqual(full[0].response.result, { error: 'nope' });

  assert.equal((await cli('actv', 'list', '--count')).stdout, 'You have 4 activations in this namespace \n');
  assert.equal((await cli('actv', 'list', 'pkg/logger', '--count')).stdout, 'You have 3 activations in this namespace for function pkg/logger \n');
});

test('logs: by id raw or -r stripped; without id the newest N oldest first with banners; -p package filter', async () => {
  const raw = await cli('activations', 'logs', ids[0]!);
  const lines = raw.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.ok(lines.some((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z +stdout: line one 1$/.test(l)), raw.stdout);
  assert.ok(lines.some((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z +stderr: line two$/.test(l)), raw.stdout);
  assert.deepEqual(sortedLines((await cli('actv', 'logs', ids[0]!, '-r')).stdout), ['line one 1', 'line two']);

  const two = await cli('actv', 'logs', '-f', 'pkg/logger', '-n', '2', '-r');
  const blocks = two.stdout.split('\n\n').filter(Boolean);
  assert.equal(blocks.length, 2, two.stdout);
  assert.equal(BANNER.exec(blocks[0]!.split('\n')[0]!)![1], ids[1]);
  assert.deepEqual(blocks[0]!.split('\n').slice(1).sort(), ['line one 2', 'line two']);
  assert.equal(BANNER.exec(blocks[1]!.split('\n')[0]!)![1], ids[2]);

  const pkgOnly = await cli('actv', 'logs', '-n', '4', '-p', 'pkg', '-r');
  assert.equal(pkgOnly.stdout.split('\n').filter((l) => l.startsWith('=== ')).length, 3);
  assert.ok(!pkgOnly.stdout.includes(' fail:'));
});

test('result: by id (never a banner), --last, -n N oldest first, -q', async () => {
  assert.equal((await cli('actv', 'result', ids[1]!)).stdout, '{\n  "n": 2\n}\n');
  const three = await cli('activation', 'result', '-f', 'pkg/logger', '-n', '3');
  const out = three.stdout.split('\n');
  const banners = out.filter((l) => l.startsWith('=== ')).map((l) => BANNER.exec(l)![1]);
  assert.deepEqual(banners, ids);
  assert.equal((await cli('activation', 'result', '-f', 'pkg/logger', '-n', '2', '-q')).stdout, '{\n  "n": 2\n}\n{\n  "n": 3\n}\n');
});

test('logs --follow prints new activations as they arrive and exits 0 on SIGINT', async () => {
  const child = spawn(process.execPath, [FLARE_BIN, 'activations', 'logs', '--follow', '-f', 'pkg/logger', '-r'], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await waitFor(async () => (out.includes('line one 3') ? true : undefined), 15_000);
    const r = await cli('fn', 'invoke', 'pkg/logger', '-p', 'n:42');
    assert.equal(r.code, 0);
    await waitFor(async () => (out.includes('line one 42') ? true : undefined), 20_000, 100);
    assert.equal(out.split('line one 42').length, 2); // printed once
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0);
  assert.ok(out.endsWith('\r'), JSON.stringify(out.slice(-20)));
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

test('on a terminal the banner is styled (=== muted, rest highlighted) and Error is red; never in pipes', { skip: !hasScript && 'script(1) not installed' }, async () => {
  const ttyEnv: Record<string, string> = { ...(process.env as Record<string, string>), ...env };
  delete ttyEnv.NO_COLOR;
  const run = (args: string) =>
    execFileSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(FLARE_BIN)} ${args}; true`, '/dev/null'], { env: ttyEnv, encoding: 'utf8' });
  const tty = run('actv result --last -f pkg/logger');
  assert.match(tty, /^\x1b\[2m=== \x1b\[0m\x1b\[1m[0-9a-f]{32} success \d\d\/\d\d \d\d:\d\d:\d\d pkg\/logger:0\.0\.1\x1b\[0m\r\n/);
  assert.match(run('actv get -f nosuch'), /^\x1b\[31mError\x1b\[0m: no activations were returned/);
  const piped = await runCli(['actv', 'result', '--last', '-f', 'pkg/logger'], { env: { ...env, NO_COLOR: undefined } });
  assert.match(piped.stdout, /^=== [0-9a-f]{32} success /);
  assert.ok(!piped.stdout.includes('\x1b'));
});

test('cursor pages over HTTP (Link and Flare-Next-Cursor), statusCode and cause filters, cursor with skip → 400; CLI --status and --cursor', async () => {
  const all = (await (await s.api('/api/v1/namespaces/_/activations?limit=200')).json()) as Array<{ activationId: string; statusCode: number }>;
  // Page by the announced cursor, two at a time, until no next page is announced.
  const seen: string[] = [];
  let url = '/api/v1/namespaces/_/activations?limit=2';
  for (let i = 0; i < 50; i++) {
    const r = await s.api(url);
    assert.equal(r.status, 200);
    const page = (await r.json()) as Array<{ activationId: string }>;
    assert.ok(Array.isArray(page));
    seen.push(...page.map((a) => a.activationId));
    const cursor = r.headers.get('flare-next-cursor');
    const link = r.headers.get('link');
    if (!cursor) {
      assert.equal(link, null);
      break;
    }
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    const m = /^<([^>]+)>; rel="next"$/.exec(link ?? '');
    assert.ok(m, `Link: ${link}`);
    assert.ok(m[1]!.includes(`cursor=${cursor}`) && m[1]!.includes('limit=2'));
    url = m[1]!;
  }
  assert.deepEqual(seen, all.map((a) => a.activationId));

  const failed = (await (await s.api('/api/v1/namespaces/_/activations?statusCode=1,2')).json()) as Array<{ statusCode: number }>;
  assert.deepEqual(failed.map((a) => a.statusCode), all.filter((a) => a.statusCode === 1 || a.statusCode === 2).map((a) => a.statusCode));
  assert.ok(failed.length >= 1);
  const n = (await (await s.api('/api/v1/namespaces/_/activations?count=true&statusCode=0')).json()) as { activations: number };
  assert.equal(n.activations, all.filter((a) => a.statusCode === 0).length);
  assert.deepEqual(await (await s.api(`/api/v1/namespaces/_/activations?cause=${'a'.repeat(32)}`)).json(), []);

  for (const bad of ['cursor=abc&skip=1', 'cursor=%21%21', 'statusCode=4', 'statusCode=0,x', 'cause=nope']) {
    const r = await s.api(`/api/v1/namespaces/_/activations?${bad}`);
    assert.equal(r.status, 400, bad);
    const body = (await r.json()) as { error: string; code: string };
    assert.ok(body.error && body.code, bad);
  }

  const st = await cli('actv', 'list', '--status', 'application-error', '--limit', '1', '-o', 'json');
  assert.equal(st.code, 0, st.stderr);
  const listed = JSON.parse(st.stdout) as Array<{ statusCode: number; name: string }>;
  assert.deepEqual(listed.map((a) => [a.name, a.statusCode]), [['fail', 1]]);
  const first = await cli('actv', 'list', '--status', '0', '--limit', '1', '-o', 'json');
  const next = /next page: --cursor (\S+)/.exec(first.stderr)?.[1];
  assert.ok(next, first.stderr);
  const second = await cli('actv', 'list', '--status', '0', '--limit', '1', '--cursor', next, '-o', 'json');
  const successes = all.filter((a) => a.statusCode === 0).map((a) => a.activationId);
  assert.deepEqual([...JSON.parse(first.stdout), ...JSON.parse(second.stdout)].map((a: { activationId: string }) => a.activationId), successes.slice(0, 2));
  assert.notEqual((await cli('actv', 'list', '--status', 'bogus')).code, 0);
});
