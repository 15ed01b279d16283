// The console's static route on its own Fastify instance: a checkout without a built console answers 503 with a
// clear error, and a built one falls back to index.html for client-side routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { consoleRoutes } from '../src/api/routes/console.ts';

test('an unbuilt console answers 503 with an OpenWhisk-style error', async () => {
  const app = Fastify();
  await app.register(consoleRoutes, { distDir: join(tmpdir(), 'flare-no-console-here') });
  for (const url of ['/console', '/console/', '/console/logs']) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 503, url);
    const body = r.json() as { error: string; code: string };
    assert.match(body.error, /npm run build/);
    assert.equal(typeof body.code, 'string');
  }
  await app.close();
});

test('a built console: files, SPA fallback, 404 for missing assets, immutable hashed assets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flare-console-dist-'));
  try {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    const app = Fastify();
    await app.register(consoleRoutes, { distDir: dir });
    const idx = await app.inject({ url: '/console/functions/sample/hello?x=1' });
    assert.equal(idx.statusCode, 200);
    assert.match(idx.body, /id="app"/);
    assert.equal(idx.headers['cache-control'], 'no-cache');
    const js = await app.inject({ url: '/console/assets/index-abc123.js' });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal((await app.inject({ url: '/console/assets/gone.js' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/console/app.js' })).statusCode, 404);
    const head = await app.inject({ method: 'HEAD', url: '/console/' });
    assert.equal(head.statusCode, 200);
    await app.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
