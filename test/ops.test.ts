// Operations end to end on real `flare serve` processes: /metrics counts after known traffic (parsed with a
// Prometheus text parser), /health and /ready (flipping at once on SIGTERM while a run finishes in its grace period),
// the OpenAPI document and /docs, config-file precedence and --print-config, the banner printed once.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { FLARE_BIN, putAction, startServer, waitFor, waitForRecord, type TestServer } from './helpers/server.js';

type Family = { name: string; type: string; metrics: Array<{ labels?: Record<string, string>; value?: string; count?: string; buckets?: Record<string, string> }> };

async function scrape(s: TestServer, token?: string): Promise<Map<string, Family>> {
  const r = await fetch(`${s.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
  const text = await r.text();
  const families = parsePrometheusTextFormat(text) as Family[];
  const map = new Map(families.map((f) => [f.name, f]));
  // The parser keeps one series per histogram and drops its labels; histograms are read as their _count series
  // (plain counters to the parser) from the same text.
  const counts = text.split('\n').filter((l) => /^\w+_count\{/.test(l));
  for (const f of parsePrometheusTextFormat(`${counts.map((l) => `# TYPE ${l.slice(0, l.indexOf('{'))} counter\n${l}`).join('\n')}\n`) as Family[]) {
    const prev = map.get(f.name);
    map.set(f.name, prev ? { ...prev, metrics: [...prev.metrics, ...f.metrics] } : f);
  }
  return map;
}

function value(m: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const f = m.get(name);
  if (!f) return 0;
  let total = 0;
  for (const x of f.metrics) {
    if (Object.entries(labels).every(([k, v]) => x.labels?.[k] === v)) total += Number(x.value ?? x.count ?? 0);
  }
  return total;
}

const ENV = { FLARE_SANDBOX: 'off', FLARE_LIMIT_INVOCATIONS_PER_MINUTE: '5' };

describe('operations: metrics, health, readiness, OpenAPI, config, banner', () => {
  const servers: TestServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    for (const s of servers) s.cleanup();
  });

  it('/metrics counts exactly the traffic sent: accepted, completed by status, throttled, starts, HTTP by route', async () => {
    const s = await startServer({ env: { ...ENV, FLARE_METRICS_TOKEN: 'scrape-secret' } });
    servers.push(s);
    const ns = s.namespace;
    await putAction(s, 'ok', 'function main(p) { return { n: p.n }; }');
    await putAction(s, 'bad', 'function main() { return { error: "nope" }; }');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await s.api('/api/v1/namespaces/_/actions/ok?blocking=true', { method: 'POST', json: { n: i } });
      assert.equal(r.status, 200);
      ids.push(((await r.json()) as { activationId: string }).activationId);
    }
    const r = await s.api('/api/v1/namespaces/_/actions/bad?blocking=true', { method: 'POST', json: {} });
    assert.equal(r.status, 502);
    // The per-minute limit is 5: the fifth passes, the sixth is throttled.
    const fifth = await s.api('/api/v1/namespaces/_/actions/ok?blocking=false', { method: 'POST', json: { n: 9 } });
    assert.equal(fifth.status, 202);
    await waitForRecord(s, ((await fifth.json()) as { activationId: string }).activationId);
    const sixth = await s.api('/api/v1/namespaces/_/actions/ok', { method: 'POST', json: {} });
    assert.equal(sixth.status, 429);

    // Without the bearer token /metrics is refused.
    assert.equal((await fetch(`${s.url}/metrics`)).status, 401);
    const m = await waitFor(async () => {
      const x = await scrape(s, 'scrape-secret');
      return value(x, 'flare_invocations_completed_total', { namespace: ns }) === 5 ? x : undefined;
    });
    assert.equal(value(m, 'flare_invocations_accepted_total', { namespace: ns, function: 'ok' }), 4);
    assert.equal(value(m, 'flare_invocations_accepted_total', { namespace: ns, function: 'bad' }), 1);
    assert.equal(value(m, 'flare_invocations_completed_total', { namespace: ns, function: 'ok', status: 'success' }), 4);
    assert.equal(value(m, 'flare_invocations_completed_total', { namespace: ns, function: 'bad', status: 'application error' }), 1);
    assert.equal(value(m, 'flare_invocations_throttled_total', { namespace: ns, reason: 'per-minute' }), 1);
    const starts = ['cold', 'prewarmed', 'warm'].map((kind) => value(m, 'flare_activation_starts_total', { namespace: ns, kind }));
    assert.equal(starts.reduce((a, b) => a + b, 0), 5, `starts ${starts}`);
    assert.ok(starts[2]! >= 1, 'repeated invocations of one action run warm');
    assert.equal(value(m, 'flare_activation_duration_seconds_count', { namespace: ns }), 5);
    assert.equal(value(m, 'flare_activation_queue_wait_seconds_count', { namespace: ns }), 5);
    assert.equal(value(m, 'flare_http_requests_total', { method: 'POST', route: '/api/v1/namespaces/:namespace/actions/*', status: '200' }) >= 3 || value(m, 'flare_http_requests_total', { method: 'POST', status: '200' }) >= 3, true);
    assert.equal(value(m, 'flare_http_requests_total', { method: 'POST', status: '429' }), 1);
    assert.equal(value(m, 'flare_activations_in_flight', { state: 'running' }), 0);
    assert.ok(value(m, 'flare_store_operation_seconds_count', { operation: 'enqueue' }) >= 5);
    assert.ok(value(m, 'flare_store_operation_seconds_count', { operation: 'complete' }) >= 1);
    assert.ok(m.has('flare_executors') && m.has('flare_executor_memory_bytes') && m.has('flare_process_cpu_seconds_total'));
    assert.ok(value(m, 'flare_executor_memory_bytes', { kind: 'budget' }) > 0);
    // Route labels are templates: no activation id or action name ever becomes a label value.
    for (const x of m.get('flare_http_requests_total')!.metrics) assert.doesNotMatch(x.labels!.route!, /[0-9a-f]{32}|\/ok\b/);
  });

  it('/metrics: queued and running gauges, idempotent replays, scheduled runs, claim and record-write latency, exact', async () => {
    // The scheduler clock is moved so that a minute boundary comes `lead` ms after now: one scheduled run, soon.
    const lead = 15_000;
    const t0 = Date.now();
    let boundary = Math.ceil((t0 + lead) / 60_000) * 60_000;
    if (boundary === t0 + lead) boundary += 60_000;
    // One executor slot (256 MB budget, 256 MB actions): a second slow invocation waits in the queue.
    const s = await startServer({ env: { FLARE_SANDBOX: 'off', FLARE_INVOKER_MEMORY_MB: '256', FLARE_SCHEDULER_CLOCK_OFFSET_MS: String(boundary - (t0 + lead)) } });
    servers.push(s);
    const ns = s.namespace;
    await putAction(s, 'slow', 'async function main() { await new Promise((r) => setTimeout(r, 4000)); return {}; }');
    await putAction(s, 'quick', 'function main(p) { return { p }; }');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await s.api('/api/v1/namespaces/_/actions/slow?blocking=false', { method: 'POST', json: {} });
      assert.equal(r.status, 202);
      ids.push(((await r.json()) as { activationId: string }).activationId);
    }
    await waitFor(async () => {
      const m = await scrape(s);
      return value(m, 'flare_activations_in_flight', { state: 'running' }) === 1 && value(m, 'flare_activations_in_flight', { state: 'queued' }) === 2 ? true : undefined;
    }, 30_000, 100);

    // The same Idempotency-Key twice: one acceptance, one replay; the same for a trigger fire.
    const keyed = () => s.api('/api/v1/namespaces/_/actions/quick?blocking=false', { method: 'POST', json: { a: 1 }, headers: { 'idempotency-key': 'metrics-k1' } });
    const first = (await (await keyed()).json()) as { activationId: string };
    const again = await keyed();
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await again.json(), first);
    assert.equal((await s.api('/api/v1/namespaces/_/triggers/t?overwrite=true', { method: 'PUT', json: {} })).status, 200);
    assert.equal((await s.api('/api/v1/namespaces/_/rules/r?overwrite=true', { method: 'PUT', json: { trigger: '/_/t', action: '/_/quick' } })).status, 200);
    const fire = () => s.api('/api/v1/namespaces/_/triggers/t', { method: 'POST', json: {}, headers: { 'idempotency-key': 'metrics-k2' } });
    assert.equal((await fire()).status, 202);
    assert.equal((await fire()).headers.get('idempotent-replayed'), 'true');

    const created = await s.api('/v2/functions/namespaces/_/triggers', {
      method: 'POST',
      json: { name: 'every-minute', function: 'quick', type: 'SCHEDULED', is_enabled: true, scheduled_details: { cron: '* * * * *', body: { tick: true } } },
    });
    assert.equal(created.status, 200, await created.text());
    const m = await waitFor(async () => {
      const x = await scrape(s);
      const done = value(x, 'flare_invocations_completed_total', { namespace: ns });
      // 3 slow + 1 keyed + 1 by the rule + 1 scheduled
      return value(x, 'flare_scheduled_runs_total', { namespace: ns }) >= 1 && done === 6 ? x : undefined;
    }, 60_000, 250);
    assert.equal(value(m, 'flare_scheduled_runs_total', { namespace: ns, outcome: 'fired' }), 1);
    assert.equal(value(m, 'flare_scheduled_runs_total', { namespace: ns, outcome: 'failed' }), 0);
    assert.equal(value(m, 'flare_idempotent_replays_total', { namespace: ns, kind: 'action' }), 1);
    assert.equal(value(m, 'flare_idempotent_replays_total', { namespace: ns, kind: 'trigger' }), 1);
    assert.equal(value(m, 'flare_invocations_accepted_total', { namespace: ns, function: 'slow' }), 3);
    assert.equal(value(m, 'flare_invocations_accepted_total', { namespace: ns, function: 'quick' }), 3);
    assert.equal(value(m, 'flare_invocations_completed_total', { namespace: ns, function: 'quick', status: 'success' }), 3);
    assert.equal(value(m, 'flare_activations_in_flight', { state: 'queued' }), 0);
    assert.equal(value(m, 'flare_activations_in_flight', { state: 'running' }), 0);
    assert.ok(value(m, 'flare_store_operation_seconds_count', { operation: 'claim' }) >= 1, 'the queued ones were claimed');
    assert.ok(value(m, 'flare_store_operation_seconds_count', { operation: 'complete' }) >= 1);
    assert.equal(value(m, 'flare_executor_memory_bytes', { kind: 'budget' }), 256 * 1_048_576);
    for (const id of ids) assert.equal((await waitForRecord(s, id)).response.status, 'success');
  });

  it('/health and /ready answer unauthenticated; /ready flips to 503 at once on SIGTERM while a run finishes', async () => {
    const s = await startServer({ env: { ...ENV, FLARE_SHUTDOWN_GRACE_MS: '20000' } });
    servers.push(s);
    assert.deepEqual(await (await fetch(`${s.url}/health`)).json(), { status: 'ok', role: 'all', version: '0.1.0' });
    const ready = await fetch(`${s.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { store: 'ok', migrations: 'done', executors: 'available' });
    await putAction(s, 'slow', 'async function main() { await new Promise((r) => setTimeout(r, 2500)); return { done: true }; }');
    const inv = await s.api('/api/v1/namespaces/_/actions/slow?blocking=false', { method: 'POST', json: {} });
    const id = ((await inv.json()) as { activationId: string }).activationId;
    // Wait until it runs, then SIGTERM.
    await waitFor(async () => {
      const m = await scrape(s);
      return value(m, 'flare_activations_in_flight', { state: 'running' }) === 1 ? true : undefined;
    });
    const sent = Date.now();
    s.proc.kill('SIGTERM');
    const during = await waitFor(async () => {
      const r = await fetch(`${s.url}/ready`).catch(() => undefined);
      return r && r.status === 503 ? r : undefined;
    }, 2_000, 10);
    assert.ok(Date.now() - sent < 1_500, 'ready turned 503 promptly');
    assert.deepEqual(await during.json(), { status: 'not ready', role: 'all', ready: false, reason: 'shutting down', checks: { shutdown: 'in progress' } });
    const code = await new Promise<number | null>((r) => (s.proc.exitCode !== null ? r(s.proc.exitCode) : s.proc.once('exit', (c) => r(c))));
    assert.equal(code, 0);
    // The running activation finished inside the grace period: its record is a success, not "interrupted".
    const again = await s.restart();
    servers.push(again);
    const rec = await waitForRecord(again, id);
    assert.equal(rec.response.status, 'success');
    assert.deepEqual(rec.response.result, { done: true });
  });

  it('serves a valid OpenAPI 3 document at /api-docs with every route, and a browsable /docs page', async () => {
    const s = servers[0]!;
    const info = (await (await s.api('/api/v1')).json()) as { swagger_paths: { ui: string; 'api-docs': string } };
    const doc = (await (await fetch(s.url + info.swagger_paths['api-docs'])).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    const { validate } = await import('@readme/openapi-parser');
    const result = await validate(structuredClone(doc) as never);
    assert.equal(result.valid, true, JSON.stringify((result as { errors?: unknown }).errors));
    for (const p of ['/api/v1/namespaces/{namespace}/actions/{*}', '/health', '/ready', '/metrics']) {
      assert.ok(Object.keys(doc.paths).some((k) => k === p || k.startsWith(p)), `${p} missing: ${Object.keys(doc.paths).join(' ')}`);
    }
    const ui = await fetch(s.url + info.swagger_paths.ui);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /Flare API reference/);
  });

  it('config file: flag > env > file > default, unknown keys named, secrets masked by --print-config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flare-cfg-'));
    const file = join(dir, 'flare.yaml');
    writeFileSync(file, 'port: 4100\nrole: api\nretention-hours: 5\nlog-level: info\nstore: postgres://flare:hunter2@db.example/flare\nmetrics-token: tok\n');
    const run = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [FLARE_BIN, 'serve', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH!, HOME: dir, ...env } });
    const r = run(['--config', file, '--port', '4200', '--print-config'], { FLARE_ROLE: 'invoker', FLARE_RETENTION_HOURS: '7' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^port: 4200 {2}# flag$/m);
    assert.match(r.stdout, /^role: invoker {2}# env$/m);
    assert.match(r.stdout, /^retention-hours: 7 {2}# env$/m);
    assert.match(r.stdout, /^log-level: info {2}# file$/m);
    assert.match(r.stdout, /^sync-wait-ms: 30000 {2}# default$/m);
    assert.match(r.stdout, /^store: postgres:\/\/flare:\*{8}@db\.example\/flare {2}# file$/m);
    assert.match(r.stdout, /^metrics-token: "\*{8}" {2}# file$/m);
    assert.doesNotMatch(r.stdout, /hunter2|tok\b/);
    // FLARE_CONFIG is the same as --config.
    assert.match(run(['--print-config'], { FLARE_CONFIG: file }).stdout, /^port: 4100 {2}# file$/m);
    writeFileSync(file, 'port: 1\nprot: 2\nlimits: 3\n');
    const bad = run(['--config', file, '--print-config']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /unknown settings: prot, limits/);
  });

  it('prints the start-up banner once: the unsafe-mode warning appears a single time, never as a JSON log line', async () => {
    const s = await startServer({ env: { FLARE_SANDBOX: 'off', FLARE_LOG_LEVEL: 'info' } });
    servers.push(s);
    await new Promise((r) => setTimeout(r, 500));
    const out = s.output();
    assert.equal(out.match(/without isolation/gi)?.length, 1, out);
    assert.equal(out.match(/^Flare \d/gm)?.length, 1);
    assert.doesNotMatch(out, /"level":40/);
  });
});
