// Assembles one Flare node for its role: store, bootstrap namespace, API (role all|api), invoker and runtime
// (role all|invoker), retention sweeper. An invoker-only node serves just a health endpoint.
import { namespaceDefaults } from './tenants/namespace-limits.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { openStore } from './store/open-store.js';
import { startRetentionSweeper } from './store/retention-sweeper.js';
import { bootstrapNamespace, type Bootstrap } from './bootstrap.js';
import { installCatalog } from './catalog/install-catalog.js';
import { ALARMS, SAMPLES, UTILS } from './catalog/catalog-actions.js';
import { buildApi } from './api/server.js';
import { Invoker } from './invoker/invoker.js';
import type { Runtime } from './runtime/runtime.js';
import { Scheduler, schedulerClock } from './scheduler/scheduler.js';
import type { InvocationService } from './api/invocations.js';
import { createLogger } from './ops/logger.js';
import { FlareMetrics } from './ops/metrics.js';
import { Readiness, opsRoutes } from './ops/ops-routes.js';
import { registerOpenApi } from './ops/openapi.js';
import { DeliveryWorker } from './deliveries/delivery-worker.js';
import { AddressPolicy } from './deliveries/address-policy.js';
import { RetrySchedule } from './deliveries/schedule.js';

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface RunningFlare {
  version: string;
  url: string;
  storeDescription: string;
  sandbox: string;
  bootstrap?: Bootstrap;
  notices: string[];
  /** The node's HTTP app (its routes are in the OpenAPI document). */
  app: FastifyInstance;
  /** SIGTERM's first step: /ready answers 503 at once so load balancers stop sending work here. */
  drain(): void;
  close(): Promise<void>;
}

export function flareVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function startFlare(config: Config): Promise<RunningFlare> {
  mkdirSync(config.dataDir, { recursive: true });
  const logger = createLogger(config.logLevel);
  const version = flareVersion();
  const { store, description } = await openStore(config.store, config.dataDir);
  const notices: string[] = [];
  const bootstrap = await bootstrapNamespace(store, config.dataDir, config.bootstrapNamespace, config.bootstrapAuth);
  if (bootstrap.notice) notices.push(bootstrap.notice);
  await installCatalog(store, [UTILS, SAMPLES, ALARMS], config.limits);

  let url = '';
  const apiHost = () => config.apiHost ?? url;
  let runtime: Runtime | undefined;
  let invoker: Invoker | undefined;
  let sandbox = 'none (api role runs no functions)';
  if (config.role !== 'api') {
    const { createRuntime } = await import('./runtime/create-runtime.js');
    runtime = await createRuntime({
      dataDir: config.dataDir,
      memoryBudgetMb: config.invokerMemoryMb,
      resultMaxBytes: config.limits.resultMax,
      requireSandbox: config.requireSandbox,
      unsafe: config.sandboxOff,
      // The sandbox mode is in the banner; the log repeats it at debug level only (no second warning). Warnings about
      // one activation (they carry its fields) are real warnings.
      logger: { warn: (m, fields) => (fields ? logger.warn(fields, m) : logger.debug(m)), info: (m) => logger.info(m) },
    });
    const d = runtime.sandbox.description;
    // The banner says it once: the Sandbox line names the mode, the warning explains it.
    sandbox = runtime.sandbox.isolated ? d : 'UNSAFE DEV MODE';
    if (!runtime.sandbox.isolated) notices.push(`WARNING: ${/without isolation/i.test(d) ? d : `functions run WITHOUT isolation (${d})`}.`);
  }

  const serverInfo = () => ({
    version,
    role: config.role,
    store: store.kind,
    sandbox: runtime ? { isolated: runtime.sandbox.isolated, description: runtime.sandbox.description, unsafeDevMode: !runtime.sandbox.isolated } : undefined,
  });

  const metrics = new FlareMetrics({ role: config.role });
  const rt = runtime;
  const readiness = new Readiness({
    store,
    role: config.role,
    ...(rt
      ? {
          executorsAvailable: () => {
            const s = rt.stats?.();
            if (s && s.memoryBudgetMb < config.limits.memoryMin) return { ok: false, reason: `memory budget ${s.memoryBudgetMb} MB is below one executor (${config.limits.memoryMin} MB)` };
            return { ok: true };
          },
        }
      : {}),
  });
  // Operations routes and the OpenAPI document come first so the document sees every route registered after.
  const ops = async (a: FastifyInstance) => {
    await registerOpenApi(a, version);
    await a.register(opsRoutes, { readiness, metrics, role: config.role, version, ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}) });
  };
  let app: FastifyInstance;
  let closeApi = () => {};
  let invocations: InvocationService | undefined;
  if (config.role === 'invoker') {
    app = Fastify({ logger: false });
    const { instrumentHttp } = await import('./ops/http-metrics.js');
    instrumentHttp(app, metrics);
    await ops(app);
  } else {
    const api = await buildApi({ config, store, logger, serverInfo, consoleDir: join(PACKAGE_ROOT, 'dist', 'console'), metrics, beforeRoutes: ops });
    app = api.app;
    closeApi = api.close;
    invocations = api.invocations;
  }
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  if (runtime) {
    invoker = new Invoker({
      store,
      runtime,
      logger,
      apiHost,
      leaseMs: config.leaseMs,
      defaultMemoryMb: config.limits.memoryDefault,
      maxConcurrent: Math.max(1, Math.floor(config.invokerMemoryMb / config.limits.memoryMin)),
      metrics,
    });
    invoker.start();
    // Role all: the API hands new invocations straight to this invoker when it is idle (see Invoker.reserve).
    if (invocations && store.supportsClaimOnEnqueue) invocations.local = invoker;
  }
  // Scheduled triggers run where functions run (role all|invoker); the store makes each minute fire once.
  const scheduler = runtime
    ? new Scheduler({
        store,
        logger,
        limits: namespaceDefaults(config.limits),
        now: schedulerClock(process.env),
        metrics,
      })
    : undefined;
  scheduler?.start();
  // Completion callbacks are sent where functions run (role all|invoker); every node shares the outbox.
  const deliveries = runtime
    ? new DeliveryWorker({
        store,
        logger,
        policy: new AddressPolicy({ allowCidrs: config.webhooks.allowCidrs, allowPrivate: config.webhooks.allowPrivate }),
        schedule: new RetrySchedule({ delaysMs: config.webhooks.scheduleMs, timeScale: config.webhooks.timeScale }),
        timeoutMs: config.webhooks.timeoutMs,
        version,
      })
    : undefined;
  deliveries?.start();
  const stopSweeper = startRetentionSweeper(store, config.retentionHours * 3_600_000, logger);
  const inv = invoker;
  metrics.setSources({
    queued: () => store.countQueued(),
    ...(inv ? { running: () => inv.runningCount } : {}),
    ...(rt?.stats ? { executors: () => rt.stats!() } : {}),
  });

  return {
    version,
    url,
    storeDescription: description,
    sandbox,
    ...(config.role !== 'invoker' ? { bootstrap } : {}),
    notices,
    app,
    drain: () => readiness.shutdown(),
    async close() {
      readiness.shutdown();
      stopSweeper();
      await scheduler?.stop();
      // /ready is 503 from here on, so load balancers stop routing here. The invoker stops claiming at once; running
      // activations get the grace period while HTTP stays up (blocking callers get their results, /ready stays
      // observable); queued work stays queued for the other invokers or the next start. Then HTTP closes: in-flight
      // requests get a moment (their invocations are durable either way), a busy keep-alive client cannot hold it open.
      await invoker?.stop(config.shutdownGraceMs);
      await deliveries?.stop();
      await Promise.race([app.close(), new Promise((r) => setTimeout(r, 3_000).unref())]);
      closeApi();
      await runtime?.close();
      await store.close();
    },
  };
}
