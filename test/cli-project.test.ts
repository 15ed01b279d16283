// End-to-end: `flare deploy|undeploy|get-metadata|init|watch` as child processes against a real `flare serve`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, FLARE_BIN, type TestServer } from './helpers/server.js';
import { connectedCli, runCli, type ConnectedCli } from './helpers/cli.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'projects', 'sample');

let server: TestServer;
let work: string;
let env: Record<string, string>;

let cli: ConnectedCli;

before(async () => {
  cli = await connectedCli('flare-projects-');
  ({ server, env, work } = cli);
});

after(async () => {
  await cli?.close();
});

function copyFixture(name: string): string {
  const dir = join(work, name);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

async function invoke(name: string, params: Record<string, unknown> = {}): Promise<any> {
  const res = await server.api(`/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`, { method: 'POST', json: params });
  const body = await res.json();
  assert.equal(res.status, 200, `${name}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function getAction(name: string): Promise<any> {
  const res = await server.api(`/api/v1/namespaces/_/actions/${name}?code=false`);
  return res.status === 200 ? res.json() : { status: res.status };
}

const ann = (doc: any, key: string) => doc.annotations.find((a: any) => a.key === key)?.value;

test('deploy: the sample project (package, Node, Python, multi-file Node with a dependency, parameters, environment), then invoke each', async () => {
  const dir = copyFixture('sample');
  const r = await runCli(['deploy', dir], { env, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(
    r.stdout,
    `Deploying '${dir}'\n  to namespace '${server.namespace}'\n  on host '${server.url}'\n` +
      `Started running npm install --production in packages/demo/multi\n` +
      `Deployment status recorded in '.deployed'\n\n` +
      `Deployed functions ('flare fn get <funcName> --url' for URL):\n  - demo/hello\n  - demo/multi\n  - demo/pyhello\n  - demo/pymulti\n  - standalone\n`,
  );
  assert.equal(r.stderr, '');

  // Node: function params, package params (from the package), project params (via the package), env from .env.
  assert.deepEqual(await invoke('demo/hello', { name: 'tester' }), {
    body: 'Hello tester!',
    fnParam: 'from-function',
    pkgParam: 'from-package',
    secret: 'swordfish',
    pkgEnv: 'pkg-env',
    projectEnv: 'project-env',
  });
  // Python, with its own environment and the package's parameters.
  assert.deepEqual(await invoke('demo/pyhello', { name: 'py' }), { body: 'Hello from Python, py!', python: 3, pyEnv: 'python-env', pkgParam: 'from-package' });
  // Multi-file Node function zipped with node_modules (a local file: dependency).
  assert.deepEqual(await invoke('demo/multi', { name: 'zip' }), { body: 'MULTI-FILE FUNCTION SAYS HI TO ZIP!', fnParam: 'multi-param' });
  // Multi-file Python function (zip with __main__.py and a helper module).
  assert.deepEqual(await invoke('demo/pymulti', { name: 'zip' }), { body: 'Python multi-file function greets zip', pkgParam: 'from-package' });
  assert.equal((await getAction('demo/pymulti')).exec.binary, true);
  // The default package: project parameters land on the function itself.
  assert.deepEqual(await invoke('standalone', { n: 41 }), { body: 'standalone Hello', n: 42 });

  // Entities: binary zip, init parameters for environment, limits, web annotations.
  const multi = await getAction('demo/multi');
  assert.equal(multi.exec.binary, true);
  assert.equal(ann(multi, 'require-whisk-auth'), 's3cret');
  assert.equal(ann(multi, 'web-export'), true);
  assert.equal(ann(multi, 'final'), true);
  assert.equal(ann(multi, 'deployer').zipped, true);
  const hello = await getAction('demo/hello');
  assert.equal(hello.exec.binary, false);
  assert.equal(hello.limits.timeout, 5000);
  assert.equal(hello.limits.memory, 128);
  assert.deepEqual(hello.parameters.find((p: any) => p.key === 'SECRET_WORD'), { key: 'SECRET_WORD', value: 'swordfish', init: true });
  const py = await getAction('demo/pyhello');
  assert.equal(py.exec.kind, 'python:3.11');
  assert.equal(ann(py, 'raw-http'), true);
  const pkgRes = await server.api('/api/v1/namespaces/_/packages/demo');
  const pkg = await pkgRes.json();
  assert.deepEqual(pkg.parameters.find((p: any) => p.key === 'greeting'), { key: 'greeting', value: 'Hello' });

  // webSecure: the web route needs the secret.
  const noSecret = await fetch(`${server.url}/api/v1/web/${server.namespace}/demo/multi?name=web`);
  assert.equal(noSecret.status, 401);
  await noSecret.arrayBuffer();
  const withSecret = await fetch(`${server.url}/api/v1/web/${server.namespace}/demo/multi?name=web`, { headers: { 'X-Require-Whisk-Auth': 's3cret' } });
  assert.equal(withSecret.status, 200);
  assert.equal(await withSecret.text(), 'MULTI-FILE FUNCTION SAYS HI TO WEB!');

  // The CLI invokes deployed functions too.
  const inv = await runCli(['fn', 'invoke', 'demo/multi', '-p', 'name:cli'], { env });
  assert.equal(inv.code, 0, inv.stderr);
  assert.deepEqual(JSON.parse(inv.stdout), { body: 'MULTI-FILE FUNCTION SAYS HI TO CLI!', fnParam: 'multi-param' });

  // Incremental: nothing changed → everything skipped (and the npm build too).
  const again = await runCli(['deploy', dir, '--incremental'], { env, timeoutMs: 120_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(
    again.stdout,
    `Deploying '${dir}'\n  to namespace '${server.namespace}'\n  on host '${server.url}'\n` +
      `Skipping 'npm install --production' in packages/demo/multi because the previous build is still valid\n\n` +
      `Skipped 5 unchanged functions\n`,
  );
  // One changed file → only that function is deployed, with the next version.
  writeFileSync(join(dir, 'packages/demo/hello.js'), readFileSync(join(dir, 'packages/demo/hello.js'), 'utf8').replace('`${args.greeting} ${name}!`', '`${args.greeting}, ${name}, again!`'));
  const changed = await runCli(['deploy', dir, '--incremental'], { env, timeoutMs: 120_000 });
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /\nDeployed functions \('flare fn get <funcName> --url' for URL\):\n {2}- demo\/hello\nSkipped 4 unchanged functions\n$/);
  assert.equal((await getAction('demo/hello')).version, '0.0.2');
  assert.equal((await invoke('demo/hello', { name: 'v2' })).body, 'Hello, v2, again!');
  const versions = JSON.parse(readFileSync(join(dir, '.deployed', 'versions.json'), 'utf8'));
  assert.equal(versions[0].actionVersions['demo/hello'].version, '0.0.2');

  // --include deploys a subset; -o json prints the deployer's {transcript, outcome}.
  const sub = await runCli(['deploy', dir, '--include', 'demo/pyhello'], { env });
  assert.equal(sub.code, 0, sub.stderr);
  assert.match(sub.stdout, /URL\):\n {2}- demo\/pyhello\n$/);
  const js = await runCli(['deploy', dir, '--include', 'demo/pyhello', '--incremental', '-o', 'json'], { env });
  assert.equal(js.code, 0, js.stderr);
  const outcome = JSON.parse(js.stdout).outcome;
  assert.deepEqual(outcome.successes, [{ name: 'demo/pyhello', kind: 'action', skipped: true }]);
  assert.equal(outcome.actionVersions['demo/pyhello'].version, '0.0.2');

  // undeploy one function, then a package, with doctl's messages.
  const u1 = await runCli(['undeploy', 'demo/hello'], { env });
  assert.equal(u1.code, 0, u1.stderr);
  assert.equal(u1.stdout, '✔ The requested resources have been undeployed.\n');
  assert.equal((await getAction('demo/hello')).status, 404);
  const u2 = await runCli(['undeploy', '-p', 'demo'], { env });
  assert.equal(u2.code, 0, u2.stderr);
  assert.equal((await getAction('demo/multi')).status, 404);
  assert.equal((await server.api('/api/v1/namespaces/_/packages/demo')).status, 404);
  assert.equal((await getAction('standalone')).exec.kind, 'nodejs:20', 'the default package function is untouched');
  const missing = await runCli(['undeploy', 'demo/nothing', 'nothing2'], { env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error: there were 2 errors detected, e\.g\.: /);
});

test('deploy errors: unresolved variables, validation, server refusals; undeploy usage', async () => {
  const dir = copyFixture('errors');
  rmSync(join(dir, '.env'));
  const unresolved = await runCli(['deploy', dir], { env });
  assert.equal(unresolved.code, 1);
  assert.equal(unresolved.stdout, '');
  assert.equal(unresolved.stderr, "Error: The following substitutions could not be resolved: 'PROJECT_VAR', 'SECRET_WORD'\n");
  // get-metadata needs no credentials and lists them instead.
  const meta = await runCli(['get-metadata', dir], { env: { FLARE_CONFIG_DIR: join(work, 'no-config') } });
  assert.equal(meta.code, 0, meta.stderr);
  const parsed = JSON.parse(meta.stdout);
  assert.deepEqual(parsed.unresolvedVariables, ['PROJECT_VAR', 'SECRET_WORD']);
  assert.deepEqual(parsed.packages.map((p: any) => p.name), ['default', 'demo']);
  assert.deepEqual(parsed.packages[1].functions.map((f: any) => [f.name, f.runtime]), [['hello', 'nodejs:default'], ['multi', 'nodejs:default'], ['pyhello', 'python:default'], ['pymulti', 'python:default']]);

  // --env supplies the values; a missing --env file is an error.
  writeFileSync(join(work, 'vals.env'), 'PROJECT_VAR=p\nSECRET_WORD=s\n');
  const noFile = await runCli(['deploy', dir, '--env', join(work, 'nope.env')], { env });
  assert.equal(noFile.stderr, `Error: The specified environment file '${join(work, 'nope.env')}' does not exist\n`);

  writeFileSync(join(dir, 'project.yml'), 'packages:\n  - name: demo\n    functions:\n      - name: hello\n        memory: 256\n');
  const invalid = await runCli(['deploy', dir, '--env', join(work, 'vals.env')], { env });
  assert.equal(invalid.code, 1);
  assert.equal(
    invalid.stderr,
    "Error: Invalid project configuration file (project.yml): Invalid key 'memory' found in 'functions' clause in project.yml \n    Learn more about the project configuration file https://docs.digitalocean.com/products/functions/reference/project-configuration/\n",
  );

  // A limit the server refuses: the transcript, then the failure, exit 1.
  writeFileSync(join(dir, 'project.yml'), 'packages:\n  - name: demo\n    functions:\n      - name: hello\n        limits:\n          timeout: 1000000\n');
  const refused = await runCli(['deploy', dir, '--include', 'demo/hello'], { env });
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /^Deploying '.*'\n {2}to namespace '.*'\n {2}on host '.*'\nDeployment status recorded in '\.deployed'\n\nFailures:\n$/);
  assert.match(refused.stderr, /^Error: While deploying action 'demo\/hello': timeout 1000000 milliseconds exceeds allowed threshold of 900000 milliseconds\n$/);

  const u = await runCli(['undeploy'], { env });
  assert.equal(u.code, 1);
  assert.equal(u.stderr, 'Error: either command line arguments or `--all` must be specified\n');
  const u2 = await runCli(['undeploy', 'x', '--all'], { env });
  assert.equal(u2.stderr, 'Error: command line arguments and the `--all` flag are mutually exclusive\n');
  const u3 = await runCli(['undeploy', 'x', '--apihost', server.url], { env });
  assert.equal(u3.stderr, 'Error: the --auth and --apihost flags must be specified together\n');
  const d = await runCli(['deploy'], { env });
  assert.notEqual(d.code, 0);
  assert.match(d.stderr + d.stdout, /command is missing required arguments/);
});

test('init → deploy --apihost/--auth → invoke the sample; undeploy --all empties the namespace', async () => {
  const p = join(work, 'fresh');
  const init = await runCli(['init', p], { env });
  assert.equal(init.code, 0, init.stderr);
  assert.equal(init.stdout, `A local functions project directory '${p}' was created for you.\nYou may deploy it by running the command shown on the next line:\n  flare deploy ${p}\n`);
  const again = await runCli(['init', p], { env });
  assert.equal(again.stderr, `Error: ${p} already exists; use '--overwrite' to replace\n`);
  // Explicit credentials need no credentials file.
  const dep = await runCli(['deploy', p, '--apihost', server.url, '--auth', server.auth], { env: { FLARE_CONFIG_DIR: join(work, 'empty-config') } });
  assert.equal(dep.code, 0, dep.stderr);
  assert.match(dep.stdout, /URL\):\n {2}- sample\/hello\n$/);
  assert.deepEqual(await invoke('sample/hello'), { body: 'Hello stranger!' });
  const all = await runCli(['undeploy', '--all'], { env });
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, '✔ All resources in the namespace have been undeployed.\n');
  assert.deepEqual(await (await server.api('/api/v1/namespaces/_/actions')).json(), []);
  assert.deepEqual(await (await server.api('/api/v1/namespaces/_/packages')).json(), []);
});

test('watch: a file change is deployed incrementally; Ctrl-C ends it with exit 0', async () => {
  const dir = copyFixture('watched');
  const first = await runCli(['deploy', dir], { env, timeoutMs: 120_000 });
  assert.equal(first.code, 0, first.stderr);
  const child = spawn(process.execPath, [FLARE_BIN, 'watch', dir], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await waitFor(async () => (out.includes('[use Control-C to terminate]') ? true : undefined), 15_000);
    assert.equal(out, `Watching '${dir}' [use Control-C to terminate]\n`);
    writeFileSync(join(dir, 'packages/default/standalone.js'), "exports.main = () => ({ body: 'watched change' });\n");
    await waitFor(async () => (out.includes('Deployment complete.  Resuming watch.') ? true : undefined), 60_000);
    // As the deployer: no header per round, just the change, the results and the resume line.
    assert.equal(
      out,
      `Watching '${dir}' [use Control-C to terminate]\n` +
        `\nDeploying '${dir}' due to change in '${join(dir, 'packages/default/standalone.js')}'\n` +
        `Skipping 'npm install --production' in packages/demo/multi because the previous build is still valid\n\n` +
        `Deployed functions ('flare fn get <funcName> --url' for URL):\n  - standalone\nSkipped 4 unchanged functions\n` +
        `Deployment complete.  Resuming watch.\n\n`,
    );
    assert.deepEqual(await invoke('standalone'), { body: 'watched change' });
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, err);
  assert.ok(existsSync(join(dir, '.deployed', 'versions.json')));
});
