// Starts a real `bin/flare serve` process on a free port with its own data directory, for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FLARE_BIN = join(ROOT, 'bin', 'flare');

export interface TestServer {
  url: string;
  namespace: string;
  auth: string; // uuid:key
  authHeader: string; // "Basic …"
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  /** Graceful stop (SIGTERM) and wait for exit. */
  stop(): Promise<void>;
  /** kill -9 and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same data dir / store (after stop or kill). */
  restart(extraEnv?: Record<string, string>): Promise<TestServer>;
  /** Remove the data dir. */
  cleanup(): void;
  /** fetch against the API with auth. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

export interface StartOptions {
  env?: Record<string, string>;
  args?: string[];
  dataDir?: string;
  namespace?: string;
  auth?: string;
  port?: number;
  /** How long to wait for the "API host" line (default 20 s). */
  startTimeoutMs?: number;
}

export function newAuth(): string {
  return `${randomUUID()}:${randomBytes(48).toString('base64url').replace(/[-_]/g, 'x').slice(0, 64)}`;
}

/** The store tests run against: FLARE_TEST_STORE=postgres selects the machine's PostgreSQL. */
export function testStoreArgs(): string[] {
  const s = process.env.FLARE_TEST_STORE;
  if (s === 'postgres') {
    const url = process.env.FLARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    return ['--store', freshPgSchemaUrl(url)];
  }
  return [];
}

/** Each server gets its own PostgreSQL schema so tests never see each other's data. */
function freshPgSchemaUrl(url: string): string {
  // Named after the test run (scripts/run-tests.mjs drops the run's schemas when it ends).
  const schema = `flare_t_${process.env.FLARE_TEST_RUN_ID ?? 'x'}_${randomBytes(6).toString('hex')}`;
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'flare-test-'));
  const namespace = opts.namespace ?? `fn-${randomUUID()}`;
  const auth = opts.auth ?? newAuth();
  const storeArgs = opts.args?.includes('--store') ? [] : testStoreArgs();
  const args = ['serve', '--port', String(opts.port ?? 0), '--data-dir', dataDir, ...storeArgs, ...(opts.args ?? [])];
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    FLARE_BOOTSTRAP_NAMESPACE: namespace,
    FLARE_BOOTSTRAP_AUTH: auth,
    FLARE_CONFIG_DIR: join(dataDir, 'cli-config'),
    ...(opts.env ?? {}),
  };
  const proc = spawn(process.execPath, [FLARE_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      // A child left running would keep the test runner waiting forever.
      proc.kill('SIGKILL');
      reject(new Error(`server did not start in ${(opts.startTimeoutMs ?? 20_000) / 1000}s:\n${out}`));
    }, opts.startTimeoutMs ?? 20_000);
    const check = () => {
      const m = /API host:\s+(http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const authHeader = `Basic ${Buffer.from(auth).toString('base64')}`;
  const server: TestServer = {
    url,
    namespace,
    auth,
    authHeader,
    dataDir,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async restart(extraEnv) {
      await server.stop();
      const port = Number(new URL(url).port);
      return startServer({ ...opts, dataDir, namespace, auth, port, args: reuseStoreArgs(args), env: { ...(opts.env ?? {}), ...(extraEnv ?? {}) } });
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', authHeader);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(url + path, { ...init, headers, body });
    },
  };
  return server;
}

/** Keep the same --store (and schema) across a restart; drop port/data-dir which startServer sets again. */
function reuseStoreArgs(args: string[]): string[] {
  const i = args.indexOf('--store');
  const rest: string[] = [];
  for (let j = 0; j < args.length; j++) {
    if (args[j] === '--port' || args[j] === '--data-dir') { j++; continue; }
    if (args[j] === 'serve') continue;
    rest.push(args[j]!);
  }
  return i >= 0 ? rest : rest;
}

/** Deploys a Node.js action (PUT …/actions/name?overwrite=true). */
export async function putAction(
  s: TestServer,
  name: string,
  code: string,
  extra: Record<string, unknown> = {},
  kind = 'nodejs:20',
): Promise<any> {
  const { exec: execExtra, ...rest } = extra as { exec?: Record<string, unknown> };
  const res = await s.api(`/api/v1/namespaces/_/actions/${name}?overwrite=true`, {
    method: 'PUT',
    json: { exec: { kind, code, ...(execExtra ?? {}) }, ...rest },
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`PUT ${name}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`waitFor timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls GET /activations/{id} until the record exists. */
export async function waitForRecord(s: TestServer, id: string, timeoutMs = 15_000): Promise<any> {
  return waitFor(async () => {
    const r = await s.api(`/api/v1/namespaces/_/activations/${id}`);
    if (r.status === 200) return r.json();
    await r.arrayBuffer();
    return undefined;
  }, timeoutMs);
}
