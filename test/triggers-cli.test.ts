// `flare triggers list|get|enable|disable` and `flare deploy|undeploy` of a project with scheduled triggers, as child
// processes against a real `flare serve` (doctl-cli.md §1.3, §1.7, §2.3, §4.5).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { putAction, type TestServer } from './helpers/server.js';
import { connectedCli, runCli, type ConnectedCli } from './helpers/cli.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'projects', 'triggers');

let server: TestServer;
let work: string;
let env: Record<string, string>;

let cli: ConnectedCli;

before(async () => {
  cli = await connectedCli('flare-trig-', { env: { FLARE_SANDBOX: process.env.FLARE_SANDBOX ?? 'off' } });
  ({ server, env, work } = cli);
});

after(async () => {
  await cli?.close();
});

const v2 = (name = '') => `/v2/functions/namespaces/_/triggers${name ? `/${name}` : ''}`;

async function listNames(): Promise<string[]> {
  const r = await server.api(v2());
  return ((await r.json()) as any).Triggers.map((t: any) => t.name).sort();
}

test('deploy creates the triggers, redeploy updates them, --no-triggers skips them, undeploy removes them', async () => {
  const dir = join(work, 'proj');
  cpSync(FIXTURE, dir, { recursive: true });
  const r = await runCli(['deploy', dir], { env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(
    r.stdout,
    `Deploying '${dir}'\n  to namespace '${server.namespace}'\n  on host '${server.url}'\n` +
      `Deployment status recorded in '.deployed'\n\n` +
      `Deployed functions ('flare fn get <funcName> --url' for URL):\n  - cron/tick\n` +
      `Deployed triggers:\n  - tick-every-5\n  - tick-nightly\n`,
  );
  assert.equal(r.stderr, '');
  const every5 = ((await (await server.api(v2('tick-every-5'))).json()) as any).Trigger;
  assert.equal(every5.function, 'cron/tick');
  assert.equal(every5.is_enabled, true);
  assert.deepEqual(every5.scheduled_details, { cron: '*/5 * * * *', body: { name: 'sammy' } });
  const nightly = ((await (await server.api(v2('tick-nightly'))).json()) as any).Trigger;
  assert.equal(nightly.is_enabled, false);
  assert.deepEqual(nightly.scheduled_details, { cron: '0 3 * * MON-FRI', body: {} });

  // Redeploy with a changed schedule updates in place.
  const yml = join(dir, 'project.yml');
  writeFileSync(yml, readFileSync(yml, 'utf8').replace('*/5 * * * *', '*/10 * * * *'));
  const again = await runCli(['deploy', dir], { env, timeoutMs: 60_000 });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /Deployed triggers:\n  - tick-every-5\n  - tick-nightly\n$/);
  assert.equal(((await (await server.api(v2('tick-every-5'))).json()) as any).Trigger.scheduled_details.cron, '*/10 * * * *');

  const skip = await runCli(['deploy', dir, '--no-triggers'], { env, timeoutMs: 60_000 });
  assert.equal(skip.code, 0, skip.stdout + skip.stderr);
  assert.doesNotMatch(skip.stdout, /Deployed triggers/);

  // An invalid cron is refused before anything is deployed, with the spec's message.
  writeFileSync(yml, readFileSync(yml, 'utf8').replace('*/10 * * * *', '*/7 * * * *'));
  const bad = await runCli(['deploy', dir], { env, timeoutMs: 60_000 });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout + bad.stderr, /the cron expression '\*\/7 \* \* \* \*' is not valid crontab syntax/);

  // undeploy --triggers removes named triggers only; undeploying the function removes the rest.
  const u1 = await runCli(['undeploy', '--triggers', 'tick-nightly'], { env });
  assert.equal(u1.code, 0, u1.stdout + u1.stderr);
  assert.deepEqual(await listNames(), ['tick-every-5']);
  const u2 = await runCli(['undeploy', 'cron/tick'], { env });
  assert.equal(u2.code, 0, u2.stdout + u2.stderr);
  assert.deepEqual(await listNames(), []);
  assert.equal((await server.api('/api/v1/namespaces/_/actions/cron/tick')).status, 404);
  const u3 = await runCli(['undeploy', '-p', 'x', '--triggers'], { env });
  assert.equal(u3.code, 1);
  assert.match(u3.stderr, /the `--packages` and `--triggers` flags are mutually exclusive/);
});

test('flare triggers list/get/enable/disable print the §2.3 table; undeploy --all removes triggers first', async () => {
  await putAction(server, 'job', 'function main() { return {}; }');
  await putAction(server, 'other', 'function main() { return {}; }');
  for (const [name, fn, cron] of [['t-a', 'job', '0 * * * *'], ['t-b', 'other', '*/15 2 * * *']]) {
    const r = await server.api(v2(), { method: 'POST', json: { name, function: fn, type: 'SCHEDULED', is_enabled: true, scheduled_details: { cron, body: {} } } });
    assert.equal(r.status, 200);
  }
  const list = await runCli(['triggers', 'list'], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.equal(
    list.stdout,
    'Name    Cron Expression    Invokes    Enabled    Last Run At\n' +
      't-b     */15 2 * * *       other      true       _\n' +
      't-a     0 * * * *          job        true       _\n',
  );
  const filtered = await runCli(['trig', 'ls', '-f', 'job'], { env });
  assert.equal(filtered.stdout, 'Name    Cron Expression    Invokes    Enabled    Last Run At\nt-a     0 * * * *          job        true       _\n');

  const off = await runCli(['trigger', 'disable', 't-a'], { env });
  assert.equal(off.code, 0, off.stderr);
  assert.equal(off.stdout, 'Name    Cron Expression    Invokes    Enabled    Last Run At\nt-a     0 * * * *          job        false      _\n');
  const get = await runCli(['triggers', 'get', 't-a', '--no-header'], { env });
  assert.equal(get.stdout, 't-a    0 * * * *    job    false    _\n');
  const on = await runCli(['triggers', 'enable', 't-a', '-o', 'json'], { env });
  const json = JSON.parse(on.stdout);
  assert.equal(json[0].name, 't-a');
  assert.equal(json[0].is_enabled, true);

  const missing = await runCli(['triggers', 'get', 'nope'], { env });
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error: The requested resource does not exist.\n');
  const noArg = await runCli(['triggers', 'get'], { env });
  assert.notEqual(noArg.code, 0);
  assert.match(noArg.stdout + noArg.stderr, /\(triggers\.get\) command is missing required arguments/);

  const help = await runCli(['--help'], { env });
  assert.doesNotMatch(help.stdout, /triggers/, 'hidden in help');

  const all = await runCli(['undeploy', '--all'], { env });
  assert.equal(all.code, 0, all.stdout + all.stderr);
  assert.deepEqual(await listNames(), []);
});
