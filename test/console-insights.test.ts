// The console's Insights pages in Chromium (playwright-core): the namespace page and a function's Insights tab show
// the endpoint's numbers and draw uPlot charts for each period, with no console errors. Screenshots go to
// test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, putAction, startServer, waitFor, type TestServer } from './helpers/server.ts';

const CHROMIUM = process.env.FLARE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let server: TestServer;
before(async () => {
  server = await startServer();
  await putAction(server, 'ok-fn', `function main(p) { return { n: p.n }; }`);
  await putAction(server, 'fail-fn', `function main(p) { return { error: 'no' }; }`);
  for (let i = 0; i < 5; i++) await (await server.api('/api/v1/namespaces/_/actions/ok-fn?blocking=true', { method: 'POST', json: { n: i } })).arrayBuffer();
  for (let i = 0; i < 2; i++) await (await server.api('/api/v1/namespaces/_/actions/fail-fn?blocking=true', { method: 'POST', json: {} })).arrayBuffer();
});
after(async () => {
  await server?.stop();
  server?.cleanup();
});

async function totalsShown(page: Page, want: { invocations: number; errors: number; coldStarts: number }) {
  await waitFor(async () => {
    const inv = await page.locator('[data-total=invocations]').textContent().catch(() => null);
    return inv === String(want.invocations) ? true : undefined;
  }, 10_000, 50);
  assert.equal(await page.locator('[data-total=errors]').textContent(), String(want.errors));
  assert.equal(await page.locator('[data-total=coldStarts]').textContent(), String(want.coldStarts));
  // uPlot draws each chart on a canvas of the chart's width.
  for (const id of ['chart-invocations', 'chart-duration', 'chart-cold']) {
    const canvas = page.locator(`#${id} canvas`);
    await canvas.first().waitFor();
    const w = await canvas.first().evaluate((c) => (c as HTMLCanvasElement).width);
    assert.ok(w >= 300, `${id} is drawn (${w}px)`);
  }
}

test('Insights: namespace page and function tab, each period, charts drawn, no console errors', { timeout: 90_000 }, async () => {
  const api = async (q: string) => (await server.api(`/api/v1/namespaces/_/insights?${q}`)).json();
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'flare-insights-chromium-'));
  let context: BrowserContext | undefined;
  const errors: string[] = [];
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('API key').fill(server.auth);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Functions' }).waitFor();

    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Insights' }).click();
    assert.ok(page.url().endsWith('/console/insights'));
    for (const [label, period] of [['1 hour', '1h'], ['24 hours', '24h'], ['7 days', '7d']] as const) {
      await page.getByRole('button', { name: label }).click();
      assert.equal(await page.getByRole('button', { name: label }).getAttribute('aria-pressed'), 'true');
      const want = (await api(`period=${period}`)).totals;
      assert.equal(want.invocations, 7);
      await totalsShown(page, want);
      await page.screenshot({ path: join(ARTIFACTS, `console-insights-${period}.png`), fullPage: true });
    }

    await page.goto(`${server.url}/console/functions/fail-fn`);
    await page.getByRole('tab', { name: 'Insights' }).click();
    const want = (await api('period=1h&name=fail-fn')).totals;
    assert.equal(want.invocations, 2);
    assert.equal(want.errors, 2);
    await totalsShown(page, want);
    await page.getByRole('button', { name: '24 hours' }).click();
    await totalsShown(page, (await api('period=24h&name=fail-fn')).totals);
    await page.screenshot({ path: join(ARTIFACTS, 'console-function-insights.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
