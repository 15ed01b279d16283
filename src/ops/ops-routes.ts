// Operations endpoints on every role: /health (alive), /ready (can take work) and /metrics (Prometheus).
// Unauthenticated except /metrics when FLARE_METRICS_TOKEN is set; cheap: /ready's store probe is cached for a second.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import type { FlareMetrics } from './metrics.js';

const PROBE_TIMEOUT_MS = 2_000;

export interface ReadinessOptions {
  store: Store;
  role: string;
  /** On invoker nodes: whether executors can be started (sandbox up, memory budget for at least one). */
  executorsAvailable?: () => { ok: boolean; reason?: string };
}

/** Readiness of one node; `shutdown()` turns it 503 at once (SIGTERM). */
export class Readiness {
  private shuttingDown = false;
  private probe: { at: number; ok: boolean; reason?: string } | undefined;
  private pending: Promise<{ ok: boolean; reason?: string }> | undefined;

  constructor(private readonly o: ReadinessOptions) {}

  shutdown(): void {
    this.shuttingDown = true;
  }

  get stopping(): boolean {
    return this.shuttingDown;
  }

  async check(): Promise<{ ready: boolean; reason?: string; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    if (this.shuttingDown) return { ready: false, reason: 'shutting down', checks: { shutdown: 'in progress' } };
    const store = await this.storeProbe();
    checks.store = store.ok ? 'ok' : `unreachable: ${store.reason}`;
    checks.migrations = store.ok ? 'done' : 'unknown';
    let reason = store.ok ? undefined : `store unreachable: ${store.reason}`;
    if (this.o.executorsAvailable) {
      const ex = this.o.executorsAvailable();
      checks.executors = ex.ok ? 'available' : `unavailable: ${ex.reason}`;
      if (!ex.ok && !reason) reason = `executors unavailable: ${ex.reason}`;
    }
    return { ready: reason === undefined, ...(reason ? { reason } : {}), checks };
  }

  /** A read of the settings table: fails when the database is down or its schema (migrations) is gone. */
  private async storeProbe(): Promise<{ ok: boolean; reason?: string }> {
    const now = Date.now();
    if (this.probe && now - this.probe.at < 1_000) return this.probe;
    if (!this.pending) {
      // A database that stops answering (no RST, e.g. a partition) must not hang /ready: the probe gives up.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      });
      this.pending = Promise.race([this.o.store.getSetting('flare:ready-probe'), timeout])
        .finally(() => clearTimeout(timer))
        .then(() => ({ ok: true }), (err: unknown) => ({ ok: false, reason: String((err as Error)?.message ?? err).slice(0, 200) }))
        .then((r) => {
          this.probe = { at: Date.now(), ...r };
          this.pending = undefined;
          return r;
        });
    }
    return this.pending;
  }
}

export interface OpsRoutesOptions {
  readiness: Readiness;
  metrics: FlareMetrics;
  role: string;
  version: string;
  /** FLARE_METRICS_TOKEN: when set, /metrics wants "Authorization: Bearer <token>". */
  metricsToken?: string;
}

export async function opsRoutes(app: FastifyInstance, o: OpsRoutesOptions): Promise<void> {
  const tags = ['Operations'];
  app.get('/health', { schema: { tags, summary: 'Process is alive', response: { 200: { type: 'object', additionalProperties: true } } } }, async () => ({
    status: 'ok',
    role: o.role,
    version: o.version,
  }));
  app.get('/ready', { schema: { tags, summary: 'Node can take work: store reachable, migrations done, executors available (503 otherwise)', response: { 200: { type: 'object', additionalProperties: true }, 503: { type: 'object', additionalProperties: true } } } }, async (_req, reply) => {
    const r = await o.readiness.check();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', role: o.role, ...r });
  });
  const expected = o.metricsToken ? Buffer.from(`Bearer ${o.metricsToken}`) : undefined;
  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics of this node (bearer token when FLARE_METRICS_TOKEN is set)' } }, async (req, reply) => {
    if (expected) {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'The supplied authentication is invalid', code: String(req.id) });
      }
    }
    return reply.type(o.metrics.contentType).send(await o.metrics.metrics());
  });
}
