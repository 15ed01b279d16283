// Where an executor process runs. The Sandbox decides how a runner is spawned (bubblewrap + cgroups, or the
// clearly labelled unsafe dev mode), where its code lives and how the whole tree is killed.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxStatus } from './runtime.js';

export interface SpawnSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
}

export interface SandboxHandle {
  spawnSpec: SpawnSpec;
  /** Host directory the action's code is written to (read-only for the function). */
  codeDirHost: string;
  /** The same directory as the runner sees it. */
  codeDirInside: string;
  /** Host directory the runner may write (a Go build leaves its binary there for the server's digest cache). */
  outDirHost: string;
  /** The same directory as the runner sees it. */
  outDirInside: string;
  /**
   * Runs right after spawn, before the child may proceed: `release(text)` writes to the child's fd 3. Throws when
   * the child cannot be confined (it is then killed).
   */
  afterSpawn?(pid: number, release: (text: string) => void): void;
  /** Pauses (freezes) or resumes every process of the executor; false when this sandbox cannot. */
  pause?(frozen: boolean): boolean;
  /** Kills the executor and every process it started. */
  kill(pid: number | undefined): Promise<void>;
  /** Sends `signal` to every process of the function (a cancel's SIGTERM before the grace); optional. */
  signal?(pid: number | undefined, signal: NodeJS.Signals): void;
  /** Hands a prewarmed stem cell to an action: applies its memory cap. False if that is impossible. */
  assign(memoryMb: number, namespace: string): boolean;
  /** True when the memory cgroup killed a process for exceeding the cap. */
  oomKilled(): boolean;
  /** Removes scratch directories and cgroups. */
  cleanup(): void;
}

export interface RunnerCommand {
  /** Interpreter binary, e.g. /usr/bin/node. */
  command: string;
  /** Interpreter arguments before the runner script. */
  args: string[];
  /** Runner script path on the host. */
  script: string;
}

export interface PrepareOptions {
  id: string;
  runner: RunnerCommand;
  memoryMb: number;
  /** Namespace the executor will serve; undefined for a prewarmed stem cell. */
  namespace?: string;
  /** Variables of the function's environment (on top of the clean base). */
  env: Record<string, string>;
}

export interface Sandbox {
  readonly status: SandboxStatus;
  prepare(opts: PrepareOptions): SandboxHandle;
  /** Releases shared resources (parent cgroups) after every executor is gone. */
  close?(): void;
}

/** The only variables a runner starts with; never the server's environment. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', ...extra };
}

/** Unsafe dev mode: plain child processes with a clean environment, no isolation. */
export class UnsafeSandbox implements Sandbox {
  readonly status: SandboxStatus;

  constructor(
    private readonly root: string,
    reason: string,
  ) {
    this.status = { isolated: false, description: `unsafe dev mode, functions run without isolation on the host (${reason})` };
  }

  prepare(opts: PrepareOptions): SandboxHandle {
    const dir = join(this.root, opts.id);
    const code = join(dir, 'code');
    mkdirSync(code, { recursive: true });
    // Stops node's package.json lookup here, so a host package.json ("type": "module") never changes the action.
    writeFileSync(join(dir, 'package.json'), '{}');
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const out = join(dir, 'out');
    mkdirSync(out, { recursive: true });
    return {
      spawnSpec: {
        command: opts.runner.command,
        args: [...opts.runner.args, opts.runner.script],
        env: baseEnv({ ...opts.env, HOME: tmp, TMPDIR: tmp }),
        cwd: code,
      },
      codeDirHost: code,
      codeDirInside: code,
      outDirHost: out,
      outDirInside: out,
      async kill(pid) {
        if (pid === undefined) return;
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      },
      signal(pid, signal) {
        if (pid === undefined) return;
        try {
          process.kill(-pid, signal);
        } catch {
          /* gone */
        }
      },
      assign: () => true,
      oomKilled: () => false,
      cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
