// End-to-end: `flare functions …`, `status`, errors and exit codes, against a real server with real runtimes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { startServer, FLARE_BIN, type TestServer } from './helpers/server.js';
import { runCli, tempConfigDir } from './helpers/cli.js';

let s: TestServer;
let env: Record<string, string>;
let dir: string;
const cli = (...args: string[]) => runCli(args, { env, cwd: dir });

const ECHO_JS = `function main(args) {
  if (args.fail) return { error: 'boom: ' + args.fail };
  return { zeta: 1, alpha: args, env: process.env.GREETING || null };
}
`;
const HELLO_PY = `def main(args):
    name = args.get("name", "stranger")
    print(f"Hello {name}!")
    return {"body": f"Hello {name}!"}
`;

before(async () => {
  s = await startServer();
  env = { FLARE_CONFIG_DIR: tempConfigDir() };
  dir = mkdtempSync(join(tmpdir(), 'flare-cli-fn-'));
  writeFileSync(join(dir, 'echo.js'), ECHO_JS);
  writeFileSync(join(dir, 'hello.py'), HELLO_PY);
  writeFileSync(join(dir, 'params.json'), JSON.stringify({ a: 'from-file', n: 5, nested: { y: 2, x: 1 } }));
  writeFileSync(join(dir, 'bad.json'), '{nope');
  const zip = zipSync({
    'package.json': strToU8(JSON.stringify({ name: 'multi', main: 'index.js' })),
    'index.js': strToU8("const { greet } = require('./lib/greet.js');\nexports.main = (a) => ({ body: greet(a.name || 'zip') });\n"),
    'lib/greet.js': strToU8("exports.greet = (n) => 'Hi ' + n + ' from a zip';\n"),
  });
  writeFileSync(join(dir, 'multi.zip'), zip);
  const c = await runCli(['connect', '--apihost', s.url, '--auth', s.auth], { env });
  assert.equal(c.code, 0, c.stderr);
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('not connected: every command gives doctl\'s message on stderr and exit 1; -o json prints doctl\'s JSON error', async () => {
  const empty = { FLARE_CONFIG_DIR: tempConfigDir() };
  const msg = 'serverless support is installed but not connected to a functions namespace (use `flare connect`)';
  for (const args of [['status'], ['fn', 'list'], ['actv', 'list'], ['activations', 'result', '--last']]) {
    const r = await runCli(args, { env: empty });
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, `Error: ${msg}\n`);
    assert.equal(r.stdout, '');
  }
  const j = await runCli(['fn', 'list', '-o', 'json'], { env: empty });
  assert.equal(j.code, 1);
  assert.equal(j.stdout, JSON.stringify({ errors: [{ detail: msg }] }) + '\n');
});

test('create from files (kind from the extension or --kind), invoke JS and Python, -p/-P, sorted keys', async () => {
  assert.equal((await cli('fn', 'create', 'tools/echo', 'echo.js', '-e', 'GREETING:hey')).stdout, 'ok: created function tools/echo\n');
  assert.equal((await cli('function', 'create', 'pyhello', 'hello.py')).stdout, 'ok: created function pyhello\n');
  assert.equal((await cli('fn', 'create', 'multi', 'multi.zip', '--kind', 'nodejs:20')).stdout, 'ok: created function multi\n');
  const again = await cli('fn', 'create', 'pyhello', 'hello.py');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^Error: resource already exists\n$/i);
  const nokind = await cli('fn', 'create', 'x', 'multi.zip');
  assert.equal(nokind.code, 1);
  assert.match(nokind.stderr, /specify it with --kind/);

  const py = await cli('fn', 'invoke', 'pyhello', '-p', 'name:Sammy');
  assert.equal(py.code, 0, py.stderr);
  assert.equal(py.stdout, '{\n  "body": "Hello Sammy!"\n}\n');

  const zipped = await cli('fn', 'invoke', 'multi');
  assert.equal(zipped.stdout, '{\n  "body": "Hi zip from a zip"\n}\n', zipped.stderr);

  const r = await cli('fn', 'invoke', 'tools/echo', '-P', 'params.json', '-p', 'a:from-flag,b:x:y', '--param', 'c:3');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    JSON.stringify({ alpha: { a: 'from-flag', b: 'x:y', c: '3', n: 5, nested: { x: 1, y: 2 } }, env: 'hey', zeta: 1 }, null, 2) + '\n',
  );

  const bad = await cli('fn', 'invoke', 'tools/echo', '-p', 'novalue');
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error: values for --params must have KEY:VALUE form\n');
  const badFile = await cli('fn', 'invoke', 'tools/echo', '-P', 'bad.json');
  assert.equal(badFile.code, 1);
  assert.match(badFile.stderr, /^Error: invalid JSON in the parameter file 'bad.json'/);
});

test('invoke --full prints the record (alphabetical keys); an application error prints the error JSON and exits 1', async () => {
  const full = await cli('fn', 'invoke', 'pyhello', '--full');
  assert.equal(full.code, 0, full.stderr);
  const rec = JSON.parse(full.stdout);
  assert.deepEqual(Object.keys(rec), [...Object.keys(rec)].sort());
  assert.equal(rec.response.result.body, 'Hello stranger!');
  assert.equal(rec.statusCode, 0);
  assert.match(rec.activationId, /^[0-9a-f]{32}$/);

  const err = await cli('fn', 'invoke', 'tools/echo', '-p', 'fail:yes');
  assert.equal(err.code, 1);
  assert.equal(err.stdout, '{\n  "error": "boom: yes"\n}\n');

  const missing = await cli('fn', 'invoke', 'nope');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error: The requested resource does not exist.\n');
});

test('functions list: table, package listing, --count, name sort, --format/--no-header, -o json', async () => {
  const r = await cli('functions', 'list');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^Latest Update {5}Latest Version {4}Runtime Kind {4}Function Name$/);
  const names = lines.slice(1).map((l) => l.split(/ {2,}/)[3]);
  assert.deepEqual(names, ['multi', 'pyhello', 'tools/echo']); // most recently updated first
  for (const l of lines.slice(1)) assert.match(l, /^\d\d\/\d\d \d\d:\d\d:\d\d {4}0\.0\.1 {13}\S+ +\S+$/);
  // The Runtime column is the action's `exec` annotation.
  const actions = (await (await s.api('/api/v1/namespaces/_/actions')).json()) as { name: string; annotations: { key: string; value: string }[] }[];
  const execOf = (n: string) => actions.find((a) => a.name === n)!.annotations.find((a) => a.key === 'exec')!.value;
  assert.equal(lines[1]!.split(/ {2,}/)[2], execOf('multi'));

  const sorted = await cli('fn', 'ls', '-n', '--format', 'Function,Version', '--no-header');
  assert.equal(sorted.stdout, 'multi         0.0.1\npyhello       0.0.1\ntools/echo    0.0.1\n');
  const pkg = await cli('fn', 'list', 'tools', '--format', 'Function', '--no-header');
  assert.equal(pkg.stdout, 'tools/echo\n');
  assert.equal((await cli('fn', 'list', '--count')).stdout, 'There are 3 functions in this namespace.\n');
  assert.equal((await cli('fn', 'list', 'tools', '--count')).stdout, 'There is 1 function in this namespace.\n');
  const both = await cli('fn', 'list', '--count', '--format', 'Function');
  assert.equal(both.code, 1);
  assert.equal(both.stderr, 'Error: the --count and --format flags are mutually exclusive\n');
  const json = JSON.parse((await cli('fn', 'list', '-o', 'json', '-l', '2')).stdout);
  assert.equal(json.length, 2);
});

test('functions get: JSON in doctl order, --url, --code, --save, --save-as, -E/-J env savers', async () => {
  const r = await cli('fn', 'get', 'tools/echo');
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(a), ['namespace', 'name', 'version', 'exec', 'annotations', 'parameters', 'limits', 'publish', 'updated']);
  assert.equal(a.namespace, `${s.namespace}/tools`);
  assert.equal(a.exec.code, undefined);

  assert.equal((await cli('fn', 'get', 'tools/echo', '--url')).stdout, `${s.url}/api/v1/namespaces/${s.namespace}/actions/tools/echo\n`);
  assert.equal((await cli('fn', 'get', 'tools/echo', '--code')).stdout, ECHO_JS);
  assert.equal((await cli('fn', 'get', 'multi', '--code')).stdout, 'Binary code cannot be displayed on the console\n');

  const save = await cli('fn', 'get', 'pyhello', '--save');
  assert.equal(save.code, 0, save.stderr);
  assert.equal(readFileSync(join(dir, 'pyhello.py'), 'utf8'), HELLO_PY);
  await cli('fn', 'get', 'multi', '--save-as', 'copy.zip');
  assert.deepEqual(readFileSync(join(dir, 'copy.zip')), readFileSync(join(dir, 'multi.zip')));

  await cli('fn', 'get', 'tools/echo', '-E', 'env.txt', '-J', 'env.json');
  assert.equal(readFileSync(join(dir, 'env.txt'), 'utf8'), 'GREETING=hey\n');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')), { GREETING: 'hey' });

  const missing = await cli('fn', 'get');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error: (functions.get) command is missing required arguments\n');
  const extra = await cli('fn', 'get', 'a', 'b');
  assert.equal(extra.stderr, 'Error: (functions.get) command contains unsupported arguments\n');
});

test('web functions: --url gives the web URL, invoke --web prints it, --web --no-wait is refused, non-web refused', async () => {
  writeFileSync(join(dir, 'page.js'), "function main(a) { return { body: 'page for ' + (a.who || 'nobody') }; }\n");
  assert.equal((await cli('fn', 'create', 'site/page', 'page.js', '--web', 'true')).code, 0);
  const url = (await cli('fn', 'get', 'site/page', '-r')).stdout.trim();
  assert.equal(url, `${s.url}/api/v1/web/${s.namespace}/site/page`);
  const web = await cli('fn', 'invoke', 'site/page', '--web', '-p', 'who:me');
  assert.equal(web.code, 0, web.stderr);
  assert.equal(web.stdout, `${url}?who=me\n`);
  const page = await fetch(web.stdout.trim());
  assert.equal(await page.text(), 'page for me');

  const both = await cli('fn', 'invoke', 'site/page', '--web', '--no-wait');
  assert.equal(both.code, 1);
  assert.equal(both.stderr, 'Error: the --web and --no-wait flags are mutually exclusive\n');
  const notWeb = await cli('fn', 'invoke', 'pyhello', '--web');
  assert.equal(notWeb.code, 1);
  assert.equal(notWeb.stderr, "Error: 'pyhello' is not a web function\n");
});

test('update bumps the version and changes the code; delete removes the function', async () => {
  writeFileSync(join(dir, 'echo2.js'), 'function main() { return { v: 2 }; }\n');
  assert.equal((await cli('fn', 'update', 'tools/echo', 'echo2.js')).stdout, 'ok: updated function tools/echo\n');
  assert.equal((await cli('fn', 'invoke', 'tools/echo')).stdout, '{\n  "v": 2\n}\n');
  assert.equal(JSON.parse((await cli('fn', 'get', 'tools/echo')).stdout).version, '0.0.2');
  assert.equal((await cli('fn', 'rm', 'tools/echo')).stdout, 'ok: deleted function tools/echo\n');
  const gone = await cli('fn', 'get', 'tools/echo');
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr, 'Error: The requested resource does not exist.\n');
});

test('usage errors exit 255; doctl prefixes and aliases work; status --languages, --version, --credentials', async () => {
  const unknownFlag = await cli('fn', 'invoke', 'x', '--bogus');
  assert.equal(unknownFlag.code, 255);
  assert.match(unknownFlag.stderr, /unknown option '--bogus'/);
  assert.equal(unknownFlag.stdout, "Error: unknown option '--bogus'\n"); // doctl repeats it on stdout
  const unknownCmd = await cli('nosuchcommand');
  assert.equal(unknownCmd.code, 255);
  const jsonUsage = await cli('fn', 'list', '--bogus', '-o', 'json');
  assert.equal(jsonUsage.code, 255);
  assert.equal(jsonUsage.stdout, JSON.stringify({ errors: [{ detail: "unknown option '--bogus'" }] }) + '\n');
  const bareConnect = await cli('connect');
  assert.equal(bareConnect.code, 255);
  const half = await cli('connect', '--apihost', s.url);
  assert.equal(half.code, 1);
  assert.equal(half.stderr, "Error: If either of 'apihost' or 'auth' is specified then both must be specified\n");
  const noMatch = await cli('connect', 'zzz-none');
  assert.equal(noMatch.stderr, "Error: no namespace matching 'zzz-none' in the credentials file (use 'flare connect --apihost URL --auth KEY' to add one)\n");
  assert.equal((await cli('fn')).code, 0); // a group without a subcommand prints its help

  for (const prefix of ['serverless', 'sls', 'sbx', 'sandbox']) {
    const r = await cli(prefix, 'fn', 'list', '--count');
    assert.equal(r.stdout, 'There are 3 functions in this namespace.\n', prefix);
  }
  assert.equal((await cli('function', 'ls', '--count')).code, 0);
  const traced = await cli('fn', 'list', '--trace', '-o', 'json');
  assert.match(traced.stderr, new RegExp(`^-> GET ${s.url}/api/v1/namespaces/${s.namespace}/actions\\?limit=30&skip=0\\n<- 200 GET `));
  assert.ok(!traced.stderr.includes(s.auth.split(':')[1]!));
  assert.ok(Array.isArray(JSON.parse(traced.stdout)));

  const st = await cli('status', '--languages');
  assert.equal(st.code, 0, st.stderr);
  assert.ok(st.stdout.startsWith(`Connected to functions namespace '${s.namespace}' on API host '${s.url}'\nServerless software version is 0.1.0\n\nSupported Languages:\n`));
  assert.ok(st.stdout.includes('nodejs:\n  Keywords: javascript, js, typescript, ts\n  Runtime versions:\n    nodejs:20 (nodejs:default)\n'), st.stdout);
  assert.ok(st.stdout.includes('python:\n  Keywords: python, py\n  Runtime versions:\n    python:3.11 (python:default)\n'), st.stdout);
  assert.equal((await cli('status', '--version')).stdout, '0.1.0\n');
  const creds = JSON.parse((await cli('status', '--credentials')).stdout);
  assert.deepEqual(creds, { Auth: s.auth, APIHost: s.url, Namespace: s.namespace, Path: join(env.FLARE_CONFIG_DIR!, 'credentials.json') });
});

test('flare serve adds the bootstrap namespace to an empty credentials file, and never overwrites a connection', async () => {
  // startServer points the server's FLARE_CONFIG_DIR at <dataDir>/cli-config.
  const cfg = join(s.dataDir, 'cli-config');
  const file = JSON.parse(readFileSync(join(cfg, 'credentials.json'), 'utf8'));
  assert.equal(file.currentHost, s.url);
  assert.equal(file.currentNamespace, s.namespace);
  const st = await runCli(['status'], { env: { FLARE_CONFIG_DIR: cfg } });
  assert.equal(st.code, 0, st.stderr);

  const other = await startServer({ env: { FLARE_CONFIG_DIR: cfg } });
  try {
    const again = JSON.parse(readFileSync(join(cfg, 'credentials.json'), 'utf8'));
    assert.equal(again.currentHost, s.url);
    assert.equal(again.currentNamespace, s.namespace);
    assert.equal(again.credentials[other.url], undefined);
  } finally {
    await other.stop();
    other.cleanup();
  }
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

test('a blocking invoke shows a spinner on a terminal (run under script(1) for a pty), none when piped', { skip: !hasScript && 'script(1) not installed' }, async () => {
  writeFileSync(join(dir, 'slow.js'), 'function main() { return new Promise((r) => setTimeout(() => r({ ok: true }), 700)); }\n');
  assert.equal((await cli('fn', 'create', 'slowpoke', 'slow.js')).code, 0);
  const tty = execFileSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(FLARE_BIN)} fn invoke slowpoke`, '/dev/null'], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  assert.match(tty, /\r[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /);
  assert.ok(tty.replace(/\r\n/g, '\n').endsWith('{\n  "ok": true\n}\n'), JSON.stringify(tty));
  const piped = await cli('fn', 'invoke', 'slowpoke');
  assert.equal(piped.stdout, '{\n  "ok": true\n}\n');
  assert.equal(piped.stderr, '');
});
