// Server configuration: every option is a flag, an environment variable or a config-file key (flag > env > file).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseSchedule } from './deliveries/schedule.js';

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
  /** A live-log stream lasts the action's timeout plus this (§4.5: 2 min), then `event: timeout` and the client reconnects. */
  logFollowMarginMs: number;
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
  /** SIGTERM: how long running activations get to finish before the node exits (FLARE_SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** FLARE_METRICS_TOKEN: bearer token /metrics asks for. */
  metricsToken?: string;
  /** Completion callbacks (src/deliveries/). */
  webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** Delay before each attempt in ms (the first normally 0): Svix's schedule by default. */
  scheduleMs: number[];
  /** An attempt's answer must come within this (15 s). */
  timeoutMs: number;
  /** CIDRs callbacks may reach although private/loopback/etc. (FLARE_WEBHOOK_ALLOW_CIDRS). */
  allowCidrs: string[];
  /** FLARE_WEBHOOK_ALLOW_PRIVATE=1: loopback, private, link-local and CGNAT targets are allowed. */
  allowPrivate: boolean;
  /** Test-only: multiplies every retry delay (0.01 makes 5 min 3 s). */
  timeScale: number;
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

/** Flags as commander gives them (camelCase of the setting's name). */
export type ConfigFlags = Record<string, string | number | boolean | undefined>;

/**
 * Every setting once: its name in a config file (and, in camelCase, its flag), its environment variable, whether it is
 * a secret (masked by --print-config). Precedence: flag > environment > file > default.
 */
export const SETTINGS = [
  { key: 'host', env: 'FLARE_HOST' },
  { key: 'port', env: 'FLARE_PORT' },
  { key: 'data-dir', env: 'FLARE_DATA_DIR' },
  { key: 'store', env: 'FLARE_STORE', secret: 'url' },
  { key: 'role', env: 'FLARE_ROLE' },
  { key: 'sync-wait-ms', env: 'FLARE_SYNC_WAIT_MS' },
  { key: 'retention-hours', env: 'FLARE_RETENTION_HOURS' },
  { key: 'log-level', env: 'FLARE_LOG_LEVEL' },
  { key: 'shutdown-grace-ms', env: 'FLARE_SHUTDOWN_GRACE_MS' },
  { key: 'metrics-token', env: 'FLARE_METRICS_TOKEN', secret: 'all' },
  { key: 'api-host', env: 'FLARE_API_HOST' },
  { key: 'bootstrap-namespace', env: 'FLARE_BOOTSTRAP_NAMESPACE' },
  { key: 'bootstrap-auth', env: 'FLARE_BOOTSTRAP_AUTH', secret: 'key' },
  { key: 'invoker-memory-mb', env: 'FLARE_INVOKER_MEMORY_MB' },
  { key: 'lease-ms', env: 'FLARE_LEASE_MS' },
  { key: 'limit-invocations-per-minute', env: 'FLARE_LIMIT_INVOCATIONS_PER_MINUTE' },
  { key: 'limit-concurrent', env: 'FLARE_LIMIT_CONCURRENT' },
  { key: 'require-sandbox', env: 'FLARE_REQUIRE_SANDBOX' },
  { key: 'sandbox', env: 'FLARE_SANDBOX' },
  { key: 'idempotency-window-ms', env: 'FLARE_IDEMPOTENCY_WINDOW_MS' },
  { key: 'log-followers-per-namespace', env: 'FLARE_LOG_FOLLOWERS_PER_NAMESPACE' },
  { key: 'log-follow-margin-ms', env: 'FLARE_LOG_FOLLOW_MARGIN_MS' },
  { key: 'webhook-schedule', env: 'FLARE_WEBHOOK_SCHEDULE' },
  { key: 'webhook-timeout-ms', env: 'FLARE_WEBHOOK_TIMEOUT_MS' },
  { key: 'webhook-allow-cidrs', env: 'FLARE_WEBHOOK_ALLOW_CIDRS' },
  { key: 'webhook-allow-private', env: 'FLARE_WEBHOOK_ALLOW_PRIVATE' },
  { key: 'webhook-time-scale', env: 'FLARE_WEBHOOK_TIME_SCALE' },
] as const;

export type SettingKey = (typeof SETTINGS)[number]['key'];
type Raw = Partial<Record<SettingKey, string>>;

const camel = (k: string) => k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Reads a YAML (or JSON) config file: a flat map of setting names; an unknown key is an error naming it. */
export function readConfigFile(path: string): Raw {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`config file ${path}: expected a map of settings`);
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  const unknown = Object.keys(doc).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`config file ${path}: unknown setting${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  const raw: Raw = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object') throw new Error(`config file ${path}: ${k} must be a single value`);
    raw[k as SettingKey] = String(v);
  }
  return raw;
}

/** The effective raw settings: flag > environment > file, each with where it came from. */
export function resolveSettings(flags: ConfigFlags, env: NodeJS.ProcessEnv): { raw: Raw; source: Partial<Record<SettingKey, string>> } {
  const file = typeof flags.config === 'string' ? flags.config : env.FLARE_CONFIG;
  const fromFile = file ? readConfigFile(file) : {};
  const raw: Raw = {};
  const source: Partial<Record<SettingKey, string>> = {};
  for (const s of SETTINGS) {
    const f = flags[camel(s.key)];
    const e = env[s.env];
    if (f !== undefined && f !== '') [raw[s.key], source[s.key]] = [String(f), 'flag'];
    else if (e !== undefined && e !== '') [raw[s.key], source[s.key]] = [e, 'env'];
    else if (fromFile[s.key] !== undefined) [raw[s.key], source[s.key]] = [fromFile[s.key]!, `file`];
  }
  return { raw, source };
}

function num(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid value for ${name}: ${value}`);
  return n;
}

const truthy = (v: string | undefined) => v === '1' || v === 'true' || v === 'yes' || v === 'on';

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const { raw: r } = resolveSettings(flags, env);
  const role = (r.role ?? 'all') as Role;
  if (!['all', 'api', 'invoker'].includes(role)) throw new Error(`invalid role: ${role} (all, api or invoker)`);
  const logLevel = r['log-level'] ?? 'warn';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) throw new Error(`invalid log level: ${logLevel} (fatal, error, warn, info, debug, trace or silent)`);
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    invocationsPerMinute: num('limit-invocations-per-minute', r['limit-invocations-per-minute'], 600),
    concurrentInvocations: num('limit-concurrent', r['limit-concurrent'], 120),
  };
  return {
    host: r.host ?? '127.0.0.1',
    port: num('port', r.port, 3233),
    dataDir: resolve(r['data-dir'] ?? './.flare'),
    store: r.store ?? 'sqlite',
    role,
    syncWaitMs: num('sync-wait-ms', r['sync-wait-ms'], 30_000),
    retentionHours: num('retention-hours', r['retention-hours'], 72),
    idempotencyWindowMs: num('idempotency-window-ms', r['idempotency-window-ms'], 24 * 3_600_000),
    limits,
    logFollowersPerNamespace: num('log-followers-per-namespace', r['log-followers-per-namespace'], 50),
    logFollowMarginMs: num('log-follow-margin-ms', r['log-follow-margin-ms'], 120_000),
    bootstrapNamespace: r['bootstrap-namespace'] || undefined,
    bootstrapAuth: r['bootstrap-auth'] || undefined,
    apiHost: r['api-host'] || undefined,
    invokerMemoryMb: num('invoker-memory-mb', r['invoker-memory-mb'], 4096),
    leaseMs: num('lease-ms', r['lease-ms'], 5000),
    logLevel,
    requireSandbox: truthy(r['require-sandbox']),
    sandboxOff: r.sandbox === 'off',
    shutdownGraceMs: num('shutdown-grace-ms', r['shutdown-grace-ms'], 30_000),
    ...(r['metrics-token'] ? { metricsToken: r['metrics-token'] } : {}),
    webhooks: {
      scheduleMs: parseSchedule(r['webhook-schedule']),
      timeoutMs: num('webhook-timeout-ms', r['webhook-timeout-ms'], 15_000),
      allowCidrs: (r['webhook-allow-cidrs'] ?? '').split(',').map((c) => c.trim()).filter(Boolean),
      allowPrivate: truthy(r['webhook-allow-private']),
      timeScale: num('webhook-time-scale', r['webhook-time-scale'], 1),
    },
  };
}

/** The effective settings as YAML with each source as a comment; secrets masked (a store URL keeps all but its password). */
export function printableConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv): string {
  const c = loadConfig(flags, env); // validates
  const { source } = resolveSettings(flags, env);
  const effective: Record<SettingKey, string | number | boolean | undefined> = {
    host: c.host,
    port: c.port,
    'data-dir': c.dataDir,
    store: c.store,
    role: c.role,
    'sync-wait-ms': c.syncWaitMs,
    'retention-hours': c.retentionHours,
    'log-level': c.logLevel,
    'shutdown-grace-ms': c.shutdownGraceMs,
    'metrics-token': c.metricsToken,
    'api-host': c.apiHost,
    'bootstrap-namespace': c.bootstrapNamespace,
    'bootstrap-auth': c.bootstrapAuth,
    'invoker-memory-mb': c.invokerMemoryMb,
    'lease-ms': c.leaseMs,
    'limit-invocations-per-minute': c.limits.invocationsPerMinute,
    'limit-concurrent': c.limits.concurrentInvocations,
    'require-sandbox': c.requireSandbox,
    sandbox: c.sandboxOff ? 'off' : 'on',
    'idempotency-window-ms': c.idempotencyWindowMs,
    'log-followers-per-namespace': c.logFollowersPerNamespace,
    'log-follow-margin-ms': c.logFollowMarginMs,
    'webhook-schedule': c.webhooks.scheduleMs.map((ms) => ms / 1000).join(','),
    'webhook-timeout-ms': c.webhooks.timeoutMs,
    'webhook-allow-cidrs': c.webhooks.allowCidrs.join(',') || undefined,
    'webhook-allow-private': c.webhooks.allowPrivate,
    'webhook-time-scale': c.webhooks.timeScale,
  };
  let out = '';
  for (const s of SETTINGS) {
    const e = effective[s.key];
    if (e === undefined) continue;
    const v = String(e);
    const secret = 'secret' in s ? s.secret : undefined;
    const shown = secret === 'all' ? '********' : secret === 'key' ? v.replace(/:.*/, ':********') : secret === 'url' ? maskUrl(v) : e;
    out += `${s.key}: ${stringifyYaml(shown).trimEnd()}  # ${source[s.key] ?? 'default'}\n`;
  }
  return out;
}

function maskUrl(v: string): string {
  try {
    const u = new URL(v);
    if (u.password) u.password = '********';
    return u.toString();
  } catch {
    return v;
  }
}
