// End-to-end: every example of the seed ("How to Call Long-running Functions Asynchronously"), run with the real
// `bin/flare` against a real server, compared byte for byte with the seed except ids, dates and versions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, waitFor, type TestServer } from './helpers/server.js';
import { runCli, tempConfigDir } from './helpers/cli.js';

const D2 =
  "The requested activation record does not exist. This either means that the invocation is still running and the record is not yet created or the activation's retention period has already expired.";

// The seed's outputs, verbatim.
const SEED_NO_WAIT = `{
  "activationId": "b68492d6875840148492d687586014f5"
}
`;
const SEED_RECORD_HEAD = `{
  "namespace": "fn-378ae839-e58b-4cd1-afcf-632cd7b7b8db",
  "name": "sample/hello",
  "version": "0.0.1",
  "subject": "da25db4890885df62c1bfb6afdb4c91cb3b4bca5",
  "activationId": "b68492d6875840148492d687586014f5",
  "start": 1692623022053,
  "end": 1692623024056,
  "duration": 2002,
  "statusCode": 0,
  "response": {
    "status": "success",
    "statusCode": 0,
    "success": true,
    "result": {
      "body": "Hello stranger!"
    }
  },
`;
const SEED_RESULT = `{
  "body": "Hello stranger!"
}
`;
const SEED_LAST = `=== b68492d6875840148492d687586014f5 success 02/01 12:33:17 hello:0.0.12
{
  "body": "Hello stranger!"
}
`;

/** Masks what may differ from the seed: ids, namespaces/subjects, epoch numbers, dates and versions. */
function mask(text: string): string {
  return text
    .replace(/[0-9a-f]{32}/g, '<ID>')
    .replace(/("(?:namespace|subject)": )"[^"]*"/g, '$1"<S>"')
    .replace(/("(?:start|end|duration)": )\d+/g, '$1<N>')
    .replace(/\d\d\/\d\d \d\d:\d\d:\d\d/g, '<DATE>')
    .replace(/:\d+\.\d+\.\d+$/gm, ':<VERSION>');
}

const HELLO = `function main(args) {
  const name = args.name || 'stranger';
  console.log('Hello ' + name + '!');
  const delay = Number(args.delay || 0);
  return new Promise((resolve) => setTimeout(() => resolve({ body: 'Hello ' + name + '!' }), delay));
}
`;

let s: TestServer;
let env: Record<string, string>;
let srcDir: string;
const cli = (...args: string[]) => runCli(args, { env });

before(async () => {
  s = await startServer();
  env = { FLARE_CONFIG_DIR: tempConfigDir() };
  srcDir = mkdtempSync(join(tmpdir(), 'flare-cli-src-'));
  writeFileSync(join(srcDir, 'hello.js'), HELLO);
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('connect --apihost --auth validates, writes credentials.json and prints the doctl line', async () => {
  const r = await cli('connect', '--apihost', s.url, '--auth', s.auth);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `Connected to functions namespace '${s.namespace}' on API host '${s.url}'\n\n`);
  const file = JSON.parse(readFileSync(join(env.FLARE_CONFIG_DIR!, 'credentials.json'), 'utf8'));
  assert.equal(file.currentHost, s.url);
  assert.equal(file.currentNamespace, s.namespace);
  assert.equal(file.label, '');
  assert.deepEqual(file.credentials[s.url][s.namespace], { api_key: s.auth });

  const bad = await cli('connect', '--apihost', s.url, '--auth', `${s.auth.split(':')[0]}:wrong`);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error: The supplied authentication is invalid\n');
});

test('setup: the seed functions sample/hello and hello exist', async () => {
  const a = await cli('functions', 'create', 'sample/hello', join(srcDir, 'hello.js'));
  assert.equal(a.stderr, '');
  assert.equal(a.stdout, 'ok: created function sample/hello\n');
  const b = await cli('fn', 'create', 'hello', join(srcDir, 'hello.js'));
  assert.equal(b.stdout, 'ok: created function hello\n');
});

test('seed: invoke --no-wait, activation get while running (D2, exit 1), get after, result <id>', async () => {
  const inv = await cli('serverless', 'functions', 'invoke', 'sample/hello', '--no-wait', '-p', 'delay:3000');
  assert.equal(inv.code, 0, inv.stderr);
  assert.equal(mask(inv.stdout), mask(SEED_NO_WAIT));
  const id = JSON.parse(inv.stdout).activationId as string;
  assert.match(id, /^[0-9a-f]{32}$/);

  const running = await cli('serverless', 'activation', 'get', id);
  assert.equal(running.code, 1);
  assert.equal(running.stdout, '');
  assert.equal(running.stderr, `Error: ${D2}\n`);

  const done = await waitFor(async () => {
    const r = await cli('serverless', 'activation', 'get', id);
    return r.code === 0 ? r : undefined;
  }, 20_000, 250);
  assert.equal(done.stderr, '');
  assert.ok(done.stdout.startsWith(`{\n  "namespace": "${s.namespace}",\n`), done.stdout);
  assert.equal(mask(done.stdout).slice(0, mask(SEED_RECORD_HEAD).length), mask(SEED_RECORD_HEAD));
  const rec = JSON.parse(done.stdout);
  assert.equal(rec.activationId, id);
  assert.ok(rec.duration >= 2900, `duration ${rec.duration}`);
  assert.deepEqual(Object.keys(rec).slice(-3), ['annotations', 'publish', 'date']);
  assert.match(rec.date, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.ok(rec.logs.some((l: string) => /Z stdout: Hello stranger!$/.test(l)), JSON.stringify(rec.logs));

  const result = await cli('serverless', 'activation', 'result', id);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, SEED_RESULT);
});

test('seed: activation result --last prints the banner (D8), -q only the JSON', async () => {
  const inv = await cli('fn', 'invoke', 'hello');
  assert.equal(inv.stdout, SEED_RESULT);
  // The newest record must be hello's before --last can show it.
  await waitFor(async () => {
    const r = await s.api('/api/v1/namespaces/_/activations?limit=1');
    const list = (await r.json()) as { name: string }[];
    return list[0]?.name === 'hello' ? true : undefined;
  });
  const last = await cli('serverless', 'activation', 'result', '--last');
  assert.equal(last.code, 0, last.stderr);
  assert.equal(mask(last.stdout), mask(SEED_LAST));
  assert.match(last.stdout.split('\n')[0]!, /^=== [0-9a-f]{32} success \d\d\/\d\d \d\d:\d\d:\d\d hello:0\.0\.1$/);

  const quiet = await cli('serverless', 'activation', 'result', '--last', '-q');
  assert.equal(quiet.stdout, SEED_RESULT);
});

test('seed: activations list --limit 3 prints the table (spec §2.1 columns and padding)', async () => {
  assert.equal((await cli('fn', 'invoke', 'sample/hello')).stdout, SEED_RESULT);
  await waitFor(async () => {
    const c = (await (await s.api('/api/v1/namespaces/_/activations?count=true')).json()) as { activations: number };
    return c.activations >= 3 ? true : undefined;
  });
  const r = await cli('activations', 'list', '--limit', '3');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 4, r.stdout);
  const header = lines[0]!;
  const cols = ['Datetime', 'Status', 'Kind', 'Version', 'Activation ID', 'Start', 'Wait', 'Duration', 'Function'];
  assert.deepEqual(header.split(/ {2,}/), cols);
  // The widest cell in each column decides the offsets: every column starts widest + 4 after the previous one.
  const rows = lines.slice(1).map((l) => l.split(/ {2,}/));
  for (const row of rows) {
    assert.equal(row.length, 9, lines.join('\n'));
    assert.match(row[0]!, /^\d\d\/\d\d \d\d:\d\d:\d\d$/);
    assert.equal(row[1], 'success');
    assert.equal(row[2], 'nodejs:20');
    assert.equal(row[3], '0.0.1');
    assert.match(row[4]!, /^[0-9a-f]{32}$/);
    assert.match(row[5]!, /^(cold|warm)$/);
    assert.match(row[6]!, /^\d+$/);
    assert.match(row[7]!, /^\d+ms$/);
    assert.match(row[8]!, /^(sample\/hello|hello)$/);
  }
  let offset = 0;
  for (let c = 0; c < cols.length; c++) {
    for (const line of lines) {
      assert.notEqual(line[offset], ' ', `column ${cols[c]} must start at ${offset} in ${JSON.stringify(line)}`);
      if (offset > 0) assert.equal(line.slice(offset - 4, offset), '    ');
    }
    const width = Math.max(...[header, ...lines.slice(1)].map((l) => l.slice(offset).split(/ {2,}/)[0]!.length));
    offset += width + 4;
  }
  assert.deepEqual(rows.map((r) => r[8]), ['sample/hello', 'hello', 'sample/hello']); // newest first
});

test('seed note: namespaces list shows the connection, connect <namespace> switches back to it', async () => {
  const other = await startServer();
  try {
    const c = await cli('connect', '--apihost', other.url, '--auth', other.auth);
    assert.equal(c.code, 0, c.stderr);
    const list = await cli('namespaces', 'list');
    assert.equal(list.code, 0);
    const lines = list.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]!.split(/ {2,}/), ['Label', 'Region', 'Namespace ID', 'API Host', 'Current']);
    assert.equal(lines.length, 3);
    const current = lines.filter((l) => l.endsWith('*'));
    assert.equal(current.length, 1);
    assert.ok(current[0]!.includes(other.namespace));

    const back = await cli('serverless', 'connect', s.namespace);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, `Connected to functions namespace '${s.namespace}' on API host '${s.url}'\n\n`);
    const after = await cli('ns', 'ls', '--format', 'ID,Current', '--no-header');
    assert.ok(after.stdout.split('\n').some((l) => l.startsWith(s.namespace) && l.endsWith('*')), after.stdout);
    const status = await cli('status');
    assert.equal(status.stdout, `Connected to functions namespace '${s.namespace}' on API host '${s.url}'\nServerless software version is 0.1.0\n\n`);
  } finally {
    await other.stop();
    other.cleanup();
  }
});

test('demotion: a blocking invoke still running after the sync wait prints "Request accepted…" and exits 0', async () => {
  const slow = await startServer({ args: ['--sync-wait-ms', '1000'] });
  try {
    const senv = { FLARE_CONFIG_DIR: tempConfigDir() };
    assert.equal((await runCli(['connect', '--apihost', slow.url, '--auth', slow.auth], { env: senv })).code, 0);
    assert.equal((await runCli(['fn', 'create', 'hello', join(srcDir, 'hello.js')], { env: senv })).code, 0);
    const r = await runCli(['fn', 'invoke', 'hello', '-p', 'delay:3000'], { env: senv });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, ''); // no spinner in piped output
    const m = /flare activations result ([0-9a-f]{32})\n/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(
      r.stdout,
      'Request accepted, but processing not completed yet. \n' +
        'All functions invocation >= 30s will get demoted to an asynchronous invocation. Use --no-wait flag to immediately return the activation id. \n' +
        '\n' +
        'Use this command to view the results.\n' +
        `flare activations result ${m[1]}\n` +
        '\n',
    );
    const res = await waitFor(async () => {
      const x = await runCli(['activations', 'result', m[1]!], { env: senv });
      return x.code === 0 ? x : undefined;
    }, 20_000, 250);
    assert.equal(res.stdout, SEED_RESULT);
  } finally {
    await slow.stop();
    slow.cleanup();
  }
});
