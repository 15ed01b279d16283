// Assembles one Flare node for its role: store, bootstrap namespace, API (role all|api), invoker and runtime
// (role all|invoker), retention sweeper. An invoker-only node serves just a health endpoint.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
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

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface RunningFlare {
  version: string;
  url: string;
  storeDescription: string;
  sandbox: string;
  bootstrap?: Bootstrap;
  notices: string[];
  close(): Promise<void>;
}

export function flareVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function startFlare(config: Config): Promise<RunningFlare> {
  mkdirSync(config.dataDir, { recursive: true });
  const logger = pino({ level: config.logLevel }, pino.destination(2));
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
      logger: { warn: (m) => logger.warn(m), info: (m) => logger.info(m) },
    });
    const d = runtime.sandbox.description;
    sandbox = runtime.sandbox.isolated || /unsafe/i.test(d) ? d : `UNSAFE DEV MODE: ${d}`;
    if (!runtime.sandbox.isolated) notices.push(`WARNING: functions run WITHOUT isolation (${runtime.sandbox.description}).`);
  }

  const serverInfo = () => ({
    version,
    role: config.role,
    store: store.kind,
    sandbox: runtime ? { isolated: runtime.sandbox.isolated, description: runtime.sandbox.description, unsafeDevMode: !runtime.sandbox.isolated } : undefined,
  });

  let app: FastifyInstance;
  let closeApi = () => {};
  let invocations: InvocationService | undefined;
  if (config.role === 'invoker') {
    app = Fastify({ logger: false });
    app.get('/health', async () => ({ status: 'ok', ...serverInfo() }));
  } else {
    const api = await buildApi({ config, store, logger, serverInfo, consoleDir: join(PACKAGE_ROOT, 'dist', 'console') });
    app = api.app;
    closeApi = api.close;
    invocations = api.invocations;
    app.get('/health', async () => ({ status: 'ok', role: config.role }));
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
        limits: { invocationsPerMinute: config.limits.invocationsPerMinute, concurrentInvocations: config.limits.concurrentInvocations },
        now: schedulerClock(process.env),
      })
    : undefined;
  scheduler?.start();
  const stopSweeper = startRetentionSweeper(store, config.retentionHours * 3_600_000, logger);

  return {
    version,
    url,
    storeDescription: description,
    sandbox,
    ...(config.role !== 'invoker' ? { bootstrap } : {}),
    notices,
    async close() {
      stopSweeper();
      await scheduler?.stop();
      // Stop accepting; in-flight requests get a moment to finish (their invocations are durable either way), but a
      // client that keeps a keep-alive connection busy must not hold the shutdown open.
      await Promise.race([app.close(), new Promise((r) => setTimeout(r, 3_000).unref())]);
      closeApi();
      await invoker?.stop();
      await runtime?.close();
      await store.close();
    },
  };
}
