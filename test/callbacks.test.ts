// Completion callbacks end to end (issue 11 point 1, run-control §4.6), on the store under test: a real server, real
// functions, a loopback receiver (allowed with FLARE_WEBHOOK_ALLOW_CIDRS), signatures checked with the reference
// `standardwebhooks` package, the retry schedule under a test time scale, redirects, 410, Retry-After, redelivery,
// secret rotation, kill -9 between the record and the delivery, and the SSRF refusals of a server without the setting.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { startServer, putAction, waitFor, waitForRecord, type TestServer } from './helpers/server.js';
import { runCli } from './helpers/cli.js';
import { startReceiver, type Receiver } from './helpers/webhook-receiver.js';

const NS = '/api/v1/namespaces/_';
const SCALE = 0.01; // 5 s → 50 ms, 5 min → 3 s
const sandbox = process.env.FLARE_SANDBOX ?? 'off';

let s: TestServer;
let rx: Receiver;

async function invoke(server: TestServer, fn: string, headers: Record<string, string> = {}, json: unknown = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await server.api(`${NS}/actions/${fn}`, { method: 'POST', json, headers });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

async function deliveries(server: TestServer, id: string): Promise<{ status: number; state: string | null; body: any; headers: Headers }> {
  const r = await server.api(`${NS}/activations/${id}/deliveries`);
  return { status: r.status, state: r.headers.get('flare-delivery-state'), body: await r.json(), headers: r.headers };
}

/** Polls the deliveries list until `pred` holds. */
async function deliveriesUntil(server: TestServer, id: string, pred: (d: Awaited<ReturnType<typeof deliveries>>) => boolean, timeoutMs = 20_000) {
  return waitFor(async () => {
    const d = await deliveries(server, id);
    return pred(d) ? d : undefined;
  }, timeoutMs, 50);
}

/** The namespace's secret(s) through the admin CLI, on the server's own store. */
async function webhookSecret(server: TestServer, rotate = false): Promise<{ current: string; previous?: string }> {
  const args = server.proc.spawnargs;
  const i = args.indexOf('--store');
  const storeArgs = i >= 0 ? ['--store', args[i + 1]!] : [];
  const r = await runCli(['admin', 'namespace', 'webhook-secret', server.namespace, '--data-dir', server.dataDir, ...storeArgs, ...(rotate ? ['--rotate'] : [])]);
  assert.equal(r.code, 0, r.stderr);
  const [current, prevLine] = r.stdout.trim().split('\n');
  assert.match(current!, /^whsec_[A-Za-z0-9+/=]{40,}$/);
  const previous = prevLine ? /previous: (whsec_\S+)/.exec(prevLine)?.[1] : undefined;
  return { current: current!, ...(previous ? { previous } : {}) };
}

function headersOf(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (typeof v === 'string') out[k] = v;
  return out;
}

before(async () => {
  rx = await startReceiver();
  s = await startServer({
    env: {
      FLARE_SANDBOX: sandbox,
      FLARE_WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
      FLARE_WEBHOOK_TIME_SCALE: String(SCALE),
      FLARE_WEBHOOK_TIMEOUT_MS: '3000',
      FLARE_LEASE_MS: '1000',
    },
  });
  await putAction(s, 'ok', 'function main(a) { console.log("ran"); return { ok: true, n: a.n ?? 0 }; }');
  await putAction(s, 'boom', 'function main() { throw new Error("boom"); }', {
    annotations: [{ key: 'callback-url', value: `${rx.url}/annotated` }],
  });
});

after(async () => {
  await s?.stop();
  s?.cleanup();
  await rx?.close();
});

describe('completion callbacks', () => {
  test('a succeeded activation is POSTed once, signed per Standard Webhooks, with the record without logs', async () => {
    rx.script('/ok', [{ status: 200 }]);
    const inv = await invoke(s, 'ok', { 'Flare-Callback-Url': `${rx.url}/ok` }, { n: 7 });
    assert.equal(inv.status, 202);
    const id = inv.body.activationId as string;
    const [req] = await rx.waitFor('/ok', 1);
    const record = await waitForRecord(s, id);

    const { current } = await webhookSecret(s);
    const verified = new Webhook(current).verify(req!.body, headersOf(req!.headers)) as any;
    assert.equal(verified.type, 'activation.succeeded');
    assert.equal(verified.timestamp, new Date(record.end).toISOString());
    const { logs, ...withoutLogs } = record;
    assert.deepEqual(logs.length, 1, 'the record has its log line');
    assert.deepEqual(verified.data, withoutLogs, 'data is the record without logs');
    assert.equal(req!.headers['webhook-id'], `act_${id}_succeeded`);
    assert.match(String(req!.headers['webhook-timestamp']), /^\d{10}$/);
    assert.match(String(req!.headers['webhook-signature']), /^v1,[A-Za-z0-9+/=]+$/);
    assert.equal(req!.headers['content-type'], 'application/json');
    assert.equal(req!.headers['flare-activation-id'], id);
    assert.equal(req!.headers['flare-delivery-attempt'], '1');
    // A wrong secret does not verify.
    assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(req!.body, headersOf(req!.headers)));

    const d = await deliveriesUntil(s, id, (x) => x.state === 'delivered');
    assert.equal(d.status, 200);
    assert.equal(d.body.length, 1);
    assert.equal(d.body[0].attempt, 1);
    assert.equal(d.body[0].status, 200);
    assert.equal(d.body[0].url, `${rx.url}/ok`);
    assert.equal(typeof d.body[0].latencyMs, 'number');
    assert.equal(d.body[0].nextAttemptAt, undefined);
    assert.equal(d.headers.get('flare-webhook-id'), `act_${id}_succeeded`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.at('/ok').length, 1, 'delivered once');
  });

  test('the function annotation callback-url and the X-Callback-Url alias; a failed activation sends activation.failed', async () => {
    const a = await invoke(s, 'boom');
    assert.equal(a.status, 202);
    const [req] = await rx.waitFor('/annotated', 1);
    const body = JSON.parse(req!.body);
    assert.equal(body.type, 'activation.failed');
    assert.equal(body.data.activationId, a.body.activationId);
    assert.equal(body.data.response.success, false);

    const b = await invoke(s, 'ok', { 'X-Callback-Url': `${rx.url}/alias?token=secret` });
    const [alias] = await rx.waitFor('/alias?token=secret', 1);
    assert.equal(JSON.parse(alias!.body).data.activationId, b.body.activationId);
    const d = await deliveriesUntil(s, b.body.activationId, (x) => x.state === 'delivered');
    assert.equal(d.body[0].url, `${rx.url}/alias?redacted`, 'query strings are redacted in the list');

    // The header wins over the annotation.
    const c = await invoke(s, 'boom', { 'Flare-Callback-Url': `${rx.url}/override` });
    await rx.waitFor('/override', 1);
    assert.equal(JSON.parse(rx.at('/override')[0]!.body).data.activationId, c.body.activationId);
  });

  test('a receiver failing twice then accepting sees three attempts at the scheduled spacing', async () => {
    rx.script('/flaky', [{ status: 500 }, { status: 500 }, { status: 200 }]);
    const inv = await invoke(s, 'ok', { 'Flare-Callback-Url': `${rx.url}/flaky` });
    const reqs = await rx.waitFor('/flaky', 3, 30_000);
    const ids = new Set(reqs.map((r) => r.headers['webhook-id']));
    assert.deepEqual([...ids], [`act_${inv.body.activationId}_succeeded`], 'one webhook-id across retries');
    assert.deepEqual(reqs.map((r) => r.headers['flare-delivery-attempt']), ['1', '2', '3']);
    const gap1 = reqs[1]!.at - reqs[0]!.at;
    const gap2 = reqs[2]!.at - reqs[1]!.at;
    // Schedule now, 5 s, 5 min at scale 0.01 = 0, 50 ms, 3000 ms, ±10 % jitter (generous bounds: a loaded box).
    assert.ok(gap1 >= 40, `second attempt ~50 ms after the first, got ${gap1}`);
    assert.ok(gap2 >= 2_600, `third attempt ~3 s after the second, got ${gap2}`);
    assert.ok(gap2 < 20_000, `third attempt not long after, got ${gap2}`);
    assert.ok(gap2 > gap1 * 5, `the schedule grows (${gap1} → ${gap2})`);
    const d = await deliveriesUntil(s, inv.body.activationId, (x) => x.state === 'delivered');
    assert.deepEqual(d.body.map((a: any) => a.status), [500, 500, 200]);
    assert.equal(d.body[0].error, 'HTTP 500');
    assert.ok(d.body[0].nextAttemptAt >= d.body[0].at, 'a failed attempt names the next one');
    assert.equal(d.body[2].nextAttemptAt, undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.at('/flaky').length, 3);
  });

  test('a 302 is a failure and is never followed; 410 stops; Retry-After on 429 is honoured', async () => {
    rx.script('/redirect', [{ status: 302, headers: { location: `${rx.url}/target` } }, { status: 200 }]);
    rx.script('/gone', [{ status: 410 }]);
    rx.script('/busy', [{ status: 429, headers: { 'retry-after': '100' } }, { status: 200 }]);
    const r = await invoke(s, 'ok', { 'Flare-Callback-Url': `${rx.url}/redirect` });
    const g = await invoke(s, 'ok', { 'Flare-Callback-Url': `${rx.url}/gone` });
    const b = await invoke(s, 'ok', { 'Flare-Callback-Url': `${rx.url}/busy` });

    const dr = await deliveriesUntil(s, r.body.activationId, (x) => x.state === 'delivered');
    assert.equal(dr.body[0].status, 302);
    assert.match(dr.body[0].error, /redirect/);
    assert.equal(dr.body[1].status, 200, 'retried after the redirect');
    assert.equal(rx.at('/target').length, 0, 'the Location was never requested');

    const dg = await deliveriesUntil(s, g.body.activationId, (x) => x.state === 'stopped');
    assert.equal(dg.body.length, 1);
    assert.equal(dg.body[0].status, 410);
    assert.equal(dg.body[0].nextAttemptAt, undefined);

    const busy = await rx.waitFor('/busy', 2, 30_000);
    const gap = busy[1]!.at - busy[0]!.at;
    // Retry-After 100 s at scale 0.01 = 1 s, where the schedule alone would wait ~50 ms.
    assert.ok(gap >= 900, `Retry-After honoured, got ${gap} ms`);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(rx.at('/gone').length, 1, '410: never sent again');
  });

  test('redelivery: POST …/deliveries sends again with the same webhook-id; 404 unknown, 409 without a callback', async () => {
    rx.script('/again', [{ status: 200 }]);
    const inv = await invoke(s, 'ok', { 'Flare-Callback-Url': `${rx.url}/again` });
    const id = inv.body.activationId as string;
    await deliveriesUntil(s, id, (x) => x.state === 'delivered');
    const post = await s.api(`${NS}/activations/${id}/deliveries`, { method: 'POST' });
    assert.equal(post.status, 202);
    assert.deepEqual(await post.json(), { activationId: id, webhookId: `act_${id}_succeeded`, state: 'pending' });
    const reqs = await rx.waitFor('/again', 2);
    assert.equal(reqs[0]!.headers['webhook-id'], reqs[1]!.headers['webhook-id']);
    const d = await deliveriesUntil(s, id, (x) => x.state === 'delivered' && x.body.length === 2);
    assert.deepEqual(d.body.map((a: any) => a.attempt), [1, 2]);

    const unknown = await s.api(`${NS}/activations/${'0'.repeat(32)}/deliveries`);
    assert.equal(unknown.status, 404);
    assert.equal(typeof (await unknown.json()).code, 'string');
    const plain = await invoke(s, 'ok');
    await waitForRecord(s, plain.body.activationId);
    const none = await deliveries(s, plain.body.activationId);
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, []);
    const conflict = await s.api(`${NS}/activations/${plain.body.activationId}/deliveries`, { method: 'POST' });
    assert.equal(conflict.status, 409);
    assert.equal((await s.api(`${NS}/activations/not-an-id/deliveries`)).status, 400);
  });

  test('bad callback URLs are refused with 400 before anything is accepted', async () => {
    const bad = ['ftp://example.com/x', 'http://user:pw@example.com/x', `https://example.com/${'a'.repeat(2040)}`, 'not a url', 'javascript:alert(1)'];
    for (const url of bad) {
      const r = await invoke(s, 'ok', { 'Flare-Callback-Url': url });
      assert.equal(r.status, 400, url);
      assert.match(r.body.error, /^The callback URL is not allowed: .+\.$/, url);
      assert.equal(typeof r.body.code, 'string');
      assert.equal(r.headers.get('x-openwhisk-activation-id'), null, 'nothing accepted');
    }
    const mismatch = await invoke(s, 'ok', { 'Flare-Callback-Url': 'https://a.example/x', 'X-Callback-Url': 'https://b.example/x' });
    assert.equal(mismatch.status, 400);
    assert.equal((await invoke(s, 'ok', { 'Flare-Callback-Url': `https://example.com/${'a'.repeat(2000)}` })).status, 202, '≤ 2048 is fine');

    const put = await s.api(`${NS}/actions/badcb?overwrite=true`, {
      method: 'PUT',
      json: { exec: { kind: 'nodejs:20', code: 'function main(){return {}}' }, annotations: [{ key: 'callback-url', value: 'file:///etc/passwd' }] },
    });
    assert.equal(put.status, 400);
    assert.match((await put.json()).error, /callback URL is not allowed/);
    assert.equal((await s.api(`${NS}/actions/badcb`)).status, 404, 'the function was not saved');
  });

  test('rotating the secret: both secrets sign (two signatures) and either verifies', async () => {
    const before = await webhookSecret(s);
    const rotated = await webhookSecret(s, true);
    assert.notEqual(rotated.current, before.current);
    assert.equal(rotated.previous, before.current);
    rx.script('/rotated', [{ status: 200 }]);
    await invoke(s, 'ok', { 'Flare-Callback-Url': `${rx.url}/rotated` });
    const [req] = await rx.waitFor('/rotated', 1);
    const sigs = String(req!.headers['webhook-signature']).split(' ');
    assert.equal(sigs.length, 2);
    for (const secret of [rotated.current, before.current]) {
      assert.equal((new Webhook(secret).verify(req!.body, headersOf(req!.headers)) as any).type, 'activation.succeeded');
    }
  });

  test('kill -9 between the record and the delivery: the callback still arrives after the restart', async () => {
    rx.script('/crash', ['hold', { status: 200 }]);
    const inv = await invoke(s, 'ok', { 'Flare-Callback-Url': `${rx.url}/crash` });
    const id = inv.body.activationId as string;
    await rx.waitFor('/crash', 1); // the record is committed and the first POST is in flight, unanswered
    await s.kill();
    rx.release(503);
    s = await s.restart();
    const reqs = await rx.waitFor('/crash', 2, 40_000);
    assert.equal(reqs[1]!.headers['webhook-id'], `act_${id}_succeeded`);
    const d = await deliveriesUntil(s, id, (x) => x.state === 'delivered', 20_000);
    assert.equal(d.body.at(-1).status, 200);
    assert.equal((await waitForRecord(s, id)).activationId, id);
  });
});

describe('SSRF: a server without FLARE_WEBHOOK_ALLOW_* refuses internal targets and never sends', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ env: { FLARE_SANDBOX: sandbox, FLARE_WEBHOOK_TIME_SCALE: String(SCALE) } });
    await putAction(t, 'ok', 'function main() { return { ok: true }; }');
  });
  after(async () => {
    await t?.stop();
    t?.cleanup();
  });

  test('127.0.0.1, 10.0.0.1, 169.254.169.254, [::ffff:127.0.0.1] and localhost are refused and recorded', async () => {
    const targets = [
      [`http://127.0.0.1:${rx.port}/ssrf-v4`, /127\.0\.0\.1 is a loopback address/],
      ['http://10.0.0.1/ssrf-private', /10\.0\.0\.1 is a private address/],
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a linkLocal address/],
      [`http://[::ffff:127.0.0.1]:${rx.port}/ssrf-mapped`, /loopback address/],
      [`http://localhost:${rx.port}/ssrf-name`, /localhost \(.+\) is a loopback address/],
    ] as const;
    const ids: string[] = [];
    for (const [url] of targets) {
      const r = await invoke(t, 'ok', { 'Flare-Callback-Url': url });
      assert.equal(r.status, 202, `${url} is accepted (addresses are vetted when sending)`);
      ids.push(r.body.activationId);
    }
    for (const [i, [url, why]] of targets.entries()) {
      const d = await deliveriesUntil(t, ids[i]!, (x) => x.state === 'failed' && x.body.length >= 1);
      assert.equal(d.body.length, 1, url);
      assert.match(d.body[0].error, /^refused: /, url);
      assert.match(d.body[0].error, why, url);
      assert.equal(d.body[0].status, undefined, `${url}: nothing was sent`);
    }
    assert.equal(rx.received.filter((r) => r.path.startsWith('/ssrf')).length, 0, 'the receiver saw nothing');
  });
});
