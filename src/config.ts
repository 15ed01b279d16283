// Server configuration: every option is a flag or an environment variable; the flag wins.
import { resolve } from 'node:path';

export type Role = 'all' | 'api' | 'invoker';

export interface Limits {
  timeoutMin: number;
  timeoutMax: number;
  timeoutDefault: number;
  memoryMin: number;
  memoryMax: number;
  memoryDefault: number;
  logsMin: number;
  logsMax: number;
  logsDefault: number;
  payloadMax: number; // bytes
  resultMax: number; // bytes
  codeMax: number; // bytes
  paramsMax: number; // bytes
  invocationsPerMinute: number;
  concurrentInvocations: number;
  firesPerMinute: number;
  sequenceMaxLength: number;
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** "sqlite" or a postgres:// URL. */
  store: string;
  role: Role;
  syncWaitMs: number;
  retentionHours: number;
  /** How long an Idempotency-Key protects its first request (issue 11: 24 h). */
  idempotencyWindowMs: number;
  limits: Limits;
  /** Concurrent live-log followers per namespace on one API node (§4.5: 50; 429 beyond). */
  logFollowersPerNamespace: number;
  bootstrapNamespace?: string;
  bootstrapAuth?: string;
  /** Public API host given to functions (__OW_API_HOST) and printed at start. */
  apiHost?: string;
  /** Memory budget for all executors on an invoker node, MB (OpenWhisk's invoker user memory). */
  invokerMemoryMb: number;
  /** Lease on claimed invocations; a dead node's work is resolved after it expires. */
  leaseMs: number;
  /** Log level for the server's pino logger. */
  logLevel: string;
  /** Refuse to start without isolation (bubblewrap + cgroups) instead of falling back to unsafe dev mode. */
  requireSandbox: boolean;
  /** FLARE_SANDBOX=off: run functions without isolation on purpose (unsafe dev mode, clearly labelled). */
  sandboxOff: boolean;
}

export const DEFAULT_LIMITS: Limits = {
  timeoutMin: 100,
  timeoutMax: 900_000,
  timeoutDefault: 60_000,
  memoryMin: 128,
  memoryMax: 1024,
  memoryDefault: 256,
  logsMin: 0,
  logsMax: 10,
  logsDefault: 10,
  payloadMax: 1_048_576,
  resultMax: 1_048_576,
  codeMax: 48 * 1_048_576,
  paramsMax: 1_048_576,
  invocationsPerMinute: 600,
  concurrentInvocations: 120,
  firesPerMinute: 60,
  sequenceMaxLength: 50,
};

export interface ConfigFlags {
  host?: string;
  port?: string | number;
  dataDir?: string;
  store?: string;
  role?: string;
  syncWaitMs?: string | number;
  retentionHours?: string | number;
}

function num(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid value for ${name}: ${value}`);
  return n;
}

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const role = (flags.role ?? env.FLARE_ROLE ?? 'all') as Role;
  if (!['all', 'api', 'invoker'].includes(role)) throw new Error(`invalid role: ${role} (all, api or invoker)`);
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    invocationsPerMinute: num('FLARE_LIMIT_INVOCATIONS_PER_MINUTE', env.FLARE_LIMIT_INVOCATIONS_PER_MINUTE, 600),
    concurrentInvocations: num('FLARE_LIMIT_CONCURRENT', env.FLARE_LIMIT_CONCURRENT, 120),
  };
  return {
    host: flags.host ?? env.FLARE_HOST ?? '127.0.0.1',
    port: num('port', flags.port ?? env.FLARE_PORT, 3233),
    dataDir: resolve(flags.dataDir ?? env.FLARE_DATA_DIR ?? './.flare'),
    store: flags.store ?? env.FLARE_STORE ?? 'sqlite',
    role,
    syncWaitMs: num('sync-wait-ms', flags.syncWaitMs ?? env.FLARE_SYNC_WAIT_MS, 30_000),
    retentionHours: num('retention-hours', flags.retentionHours ?? env.FLARE_RETENTION_HOURS, 72),
    idempotencyWindowMs: num('FLARE_IDEMPOTENCY_WINDOW_MS', env.FLARE_IDEMPOTENCY_WINDOW_MS, 24 * 3_600_000),
    limits,
    logFollowersPerNamespace: num('FLARE_LOG_FOLLOWERS_PER_NAMESPACE', env.FLARE_LOG_FOLLOWERS_PER_NAMESPACE, 50),
    bootstrapNamespace: env.FLARE_BOOTSTRAP_NAMESPACE || undefined,
    bootstrapAuth: env.FLARE_BOOTSTRAP_AUTH || undefined,
    apiHost: env.FLARE_API_HOST || undefined,
    invokerMemoryMb: num('FLARE_INVOKER_MEMORY_MB', env.FLARE_INVOKER_MEMORY_MB, 4096),
    leaseMs: num('FLARE_LEASE_MS', env.FLARE_LEASE_MS, 5000),
    logLevel: env.FLARE_LOG_LEVEL ?? 'warn',
    requireSandbox: env.FLARE_REQUIRE_SANDBOX === '1' || env.FLARE_REQUIRE_SANDBOX === 'true',
    sandboxOff: env.FLARE_SANDBOX === 'off',
  };
}
