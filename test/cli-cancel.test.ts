// End-to-end: `flare activations cancel <id> [--reason …]` (run-control spec §4.4) against a real server: a running
// activation is stopped, a queued one never runs (-o json prints the cancelled record), finished and unknown ids are
// errors like any other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { putAction, startServer, waitFor, waitForRecord, type TestServer } from './helpers/server.js';
import { runCli, tempConfigDir } from './helpers/cli.js';

const LONG = `async function main() { for (let i = 0; i < 300; i++) { console.log('tick ' + i); await new Promise((r) => setTimeout(r, 100)); } return {}; }`;
const HELLO = `function main() { return { hello: 'world' }; }`;

let s: TestServer;
let env: Record<string, string>;
const cli = (...args: string[]) => runCli(args, { env });
const ann = (rec: any, key: string) => rec.annotations.find((a: any) => a.key === key)?.value;

async function invokeAsync(name: string): Promise<string> {
  const r = await s.api(`/api/v1/namespaces/_/actions/${name}?blocking=false`, { method: 'POST', json: {} });
  return ((await r.json()) as { activationId: string }).activationId;
}
const state = async (id: string) => ((await (await s.api(`/api/v1/namespaces/_/activations/${id}/status`)).json()) as { state?: string }).state;

before(async () => {
  // One 256 MB slot: a second invocation waits in the queue.
  s = await startServer({ env: { FLARE_INVOKER_MEMORY_MB: '256' } });
  env = { FLARE_CONFIG_DIR: tempConfigDir() };
  assert.equal((await runCli(['connect', '--apihost', s.url, '--auth', s.auth], { env })).code, 0);
  await putAction(s, 'long', LONG, { limits: { memory: 256, timeout: 60_000 }, annotations: [{ key: 'cancel-grace-ms', value: 0 }] });
  await putAction(s, 'hello', HELLO, { limits: { memory: 256 } });
});
after(async () => {
  await s?.stop();
  s?.cleanup();
});

test('activations cancel: running and queued work, -o json, --reason; finished and unknown ids are errors', async () => {
  const running = await invokeAsync('long');
  await waitFor(async () => ((await state(running)) === 'running' ? true : undefined), 30_000);
  const queued = await invokeAsync('hello');
  assert.equal(await state(queued), 'queued');

  const q = await cli('activations', 'cancel', queued, '-o', 'json');
  assert.equal(q.code, 0, q.stderr);
  const rec = JSON.parse(q.stdout);
  assert.equal(rec.activationId, queued);
  assert.equal(rec.statusCode, 2);
  assert.deepEqual(rec.response.result, { error: 'The activation was cancelled.' });

  const r = await cli('actv', 'cancel', running, '--reason', 'changed my mind');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    r.stdout === `Cancelled activation ${running}\n` ||
      r.stdout === `Cancelling activation ${running}: it is still stopping (see 'flare activations get ${running}')\n`,
    r.stdout,
  );
  const stopped = await waitForRecord(s, running, 30_000);
  assert.equal(ann(stopped, 'cancelled'), true);
  assert.equal(ann(stopped, 'cancelReason'), 'changed my mind');
  assert.equal(await state(queued), 'cancelled', 'the queued one never ran');

  const again = await cli('activations', 'cancel', running);
  assert.equal(again.code, 0, 'idempotent');
  assert.equal(again.stdout, `Cancelled activation ${running}\n`);

  const done = await (await s.api('/api/v1/namespaces/_/actions/hello?blocking=true', { method: 'POST', json: {} })).json();
  const finished = await cli('activations', 'cancel', done.activationId);
  assert.equal(finished.code, 1);
  assert.equal(finished.stderr, "Error: The activation already completed with status 'succeeded'.\n");
  const unknown = await cli('activations', 'cancel', '0123456789abcdef0123456789abcdef');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^Error: The requested activation record does not exist\./);
  const missing = await cli('activations', 'cancel');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /missing required arguments/);
});
