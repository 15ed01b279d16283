// /ready follows the store: a node whose PostgreSQL goes away answers 503 with the reason (and /health stays 200),
// then 200 again once the database is back. The node reaches PostgreSQL through a TCP proxy the test stops and
// starts again. Always runs on PostgreSQL (FLARE_TEST_PG_URL or the machine's server).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { startServer, waitFor, type TestServer } from './helpers/server.js';

const PG_URL = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `flare_rs_${randomBytes(6).toString('hex')}`;

/** A TCP proxy to PostgreSQL that can be taken down (every connection cut, new ones refused) and brought back. */
class PgProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}

describe('/ready when the store is unreachable (PostgreSQL)', () => {
  const target = new URL(PG_URL);
  const proxy = new PgProxy({ host: target.hostname, port: Number(target.port || 5432) });
  let node: TestServer;
  let db: pg.Client;

  before(async () => {
    await proxy.up();
    const url = new URL(PG_URL);
    url.port = String(proxy.port);
    url.searchParams.set('schema', SCHEMA);
    url.searchParams.set('pool_max', '3');
    node = await startServer({ args: ['--store', url.toString(), '--role', 'api'] });
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
  });

  after(async () => {
    await node?.kill();
    node?.cleanup();
    await proxy.down();
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  });

  const ready = async () => {
    const r = await fetch(`${node.url}/ready`);
    return { status: r.status, body: (await r.json()) as { status: string; reason?: string; checks: Record<string, string> } };
  };

  it('turns 503 with the reason while PostgreSQL is unreachable, and 200 again when it is back', async () => {
    assert.deepEqual(await ready(), { status: 200, body: { status: 'ready', role: 'api', ready: true, checks: { store: 'ok', migrations: 'done' } } });

    await proxy.down();
    const down = await waitFor(async () => {
      const r = await ready();
      return r.status === 503 ? r : undefined;
    }, 15_000, 200);
    assert.equal(down.body.status, 'not ready');
    assert.match(down.body.reason ?? '', /^store unreachable: \S/);
    assert.match(down.body.checks.store ?? '', /^unreachable: /);
    // Alive all the same: a process manager must not restart a node whose database is down.
    assert.equal((await fetch(`${node.url}/health`)).status, 200);
    // The API answers with an error body, never a hang or a crash.
    const list = await node.api('/api/v1/namespaces/_/actions');
    assert.ok(list.status >= 400, `status ${list.status}`);
    await list.arrayBuffer();

    await proxy.up();
    const back = await waitFor(async () => {
      const r = await ready();
      return r.status === 200 ? r : undefined;
    }, 30_000, 200);
    assert.equal(back.body.checks.store, 'ok');
    assert.equal((await node.api('/api/v1/namespaces/_/actions')).status, 200);
  });
});
