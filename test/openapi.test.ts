// The OpenAPI document of a real node (assembled by startFlare, as `flare serve` does): every route registered on the
// Fastify app (seen by an onRoute hook) has a JSON schema and appears in the document served at /api-docs, and the
// document validates as OpenAPI 3.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { startFlare, type RunningFlare } from '../src/server.js';
import { registeredRoutes } from '../src/ops/openapi.js';
import { testStoreArgs } from './helpers/server.js';

/** Fastify's route syntax → OpenAPI's (`:id` → `{id}`, the wildcard `*` → `{*}`, as @fastify/swagger writes it). */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{*}');

describe('OpenAPI document', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flare-openapi-'));
  let flare: RunningFlare | undefined;
  after(async () => {
    await flare?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every registered route has a schema and is in the valid document at /api-docs', async () => {
    const store = testStoreArgs()[1];
    flare = await startFlare(loadConfig({ dataDir: dir, port: 0, role: 'api', logLevel: 'silent', ...(store ? { store } : {}) }));
    const routes = registeredRoutes(flare.app);
    assert.ok(routes.length > 50, `${routes.length} routes`);
    assert.deepEqual(routes.filter((r) => !r.schema).map((r) => `${r.method} ${r.url}`), [], 'routes without a JSON schema (add one in src/ops/route-schemas.ts or on the route)');

    const res = await fetch(`${flare.url}/api-docs`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { summary?: string; tags?: string[] }>> };
    assert.match(doc.openapi, /^3\.0\./);
    const { validate } = await import('@readme/openapi-parser');
    const result = await validate(structuredClone(doc) as never);
    assert.equal(result.valid, true, JSON.stringify((result as { errors?: unknown }).errors));

    // HEAD routes are the GET's twins (@fastify/swagger leaves them out); the built console's one-route-per-file static
    // routes are hidden by @fastify/static (schema.hide) and documented as /console/{*}; every other route is there.
    const missing = routes
      .filter((r) => r.method !== 'HEAD' && !r.hidden)
      .filter((r) => !doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()])
      .map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], `routes missing from the document; it has: ${Object.keys(doc.paths).join(' ')}`);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) assert.ok(op.summary && op.tags?.length, `${method} ${path} has a summary and a tag`);
    }
    // The invoke route documents its query parameters and the 202 answer.
    const invoke = doc.paths['/api/v1/namespaces/{namespace}/actions/{*}']!.post as unknown as { parameters: Array<{ name: string; in: string }>; responses: Record<string, unknown> };
    assert.deepEqual(invoke.parameters.filter((p) => p.in === 'query').map((p) => p.name).sort(), ['blocking', 'result', 'timeout', 'ttl']);
    assert.ok(invoke.responses['202']);
  });

  it('documentation schemas do not validate: bad input still gets the handlers\' OpenWhisk error bodies', async () => {
    assert.ok(flare?.bootstrap?.auth);
    const headers = { authorization: `Basic ${Buffer.from(flare.bootstrap.auth).toString('base64')}` };
    const r = await fetch(`${flare.url}/api/v1/namespaces/_/actions?limit=abc&skip=1&skip=2`, { headers });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: string }).error, "The value 'abc' is not an integer for actions.");
    const ok = await fetch(`${flare.url}/api/v1/namespaces/_/actions?count=true`, { headers });
    assert.deepEqual(await ok.json(), { actions: 0 });
  });
});
