// Runs `node bin/flare …` as a child process (the real CLI) and collects its exit code and output.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLARE_BIN, ROOT, startServer, type StartOptions, type TestServer } from './server.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** Extra environment (merged over process.env). Set FLARE_CONFIG_DIR so tests never touch ~/.config. */
  env?: Record<string, string | undefined>;
  /** Text written to stdin (stdin is closed either way). */
  input?: string;
  cwd?: string;
  /** Kill the process after this many ms (default 60 s). */
  timeoutMs?: number;
}

export function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: '1', ...(opts.env ?? {}) })) {
      if (v !== undefined) env[k] = v;
    }
    const child = spawn(process.execPath, [FLARE_BIN, ...args], { env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A fresh credentials directory for one test (FLARE_CONFIG_DIR). */
export function tempConfigDir(): string {
  return mkdtempSync(join(tmpdir(), 'flare-cli-'));
}

export interface ConnectedCli {
  server: TestServer;
  /** Environment for runCli: FLARE_CONFIG_DIR of a credentials file connected to `server`. */
  env: Record<string, string>;
  configDir: string;
  /** A scratch directory for projects. */
  work: string;
  close(): Promise<void>;
}

/** A real server, a fresh credentials directory connected to it with `flare connect`, and a scratch directory. */
export async function connectedCli(workPrefix: string, opts: StartOptions = {}): Promise<ConnectedCli> {
  const server = await startServer(opts);
  const configDir = tempConfigDir();
  const env = { FLARE_CONFIG_DIR: configDir };
  const work = mkdtempSync(join(tmpdir(), workPrefix));
  const r = await runCli(['connect', '--apihost', server.url, '--auth', server.auth], { env });
  if (r.code !== 0) throw new Error(`flare connect failed: ${r.stderr}`);
  return {
    server,
    env,
    configDir,
    work,
    async close() {
      await server.stop();
      server.cleanup();
      rmSync(work, { recursive: true, force: true });
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}
