// Isolated executors: each runner runs in its own bubblewrap sandbox (every namespace unshared, so no network; a
// read-only /usr; the code read-only at /code; a size-capped private /tmp; a clean environment; no capabilities),
// spawned as an unprivileged uid per namespace, inside its own memory and pids cgroup.
import { chownSync, lstatSync, mkdirSync, readlinkSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SandboxStatus } from './runtime.js';
import { baseEnv, type PrepareOptions, type Sandbox, type SandboxHandle } from './sandbox.js';
import type { CgroupManager, ExecutorCgroup } from './cgroups.js';

export const BWRAP = '/usr/bin/bwrap';
/** uid of prewarmed stem cells (not yet bound to a namespace); namespaces get uids from FIRST_NS_UID up. */
export const STEM_UID = 199_999;
const FIRST_NS_UID = 200_000;
const PIDS_MAX = 256;
/** The prologue opens the seccomp program on this descriptor for bwrap (after closing every inherited one). */
export const SECCOMP_FD = 5;
/** bash can close multi-digit descriptors ({n}>&-); dash cannot, so without bash inherited fds stay open. */
const SHELL = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
const CLOSE_FDS =
  SHELL === '/bin/bash' ? 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 4 ] && [ -e "$f" ] && exec {n}>&-; done;' : '';

/** Root filesystem entries shared read-only with every sandbox (merged-/usr symlinks are recreated as symlinks). */
function rootFsArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const name of ['bin', 'sbin', 'lib', 'lib64', 'lib32', 'libx32']) {
    const p = `/${name}`;
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(p), p);
      else if (st.isDirectory()) args.push('--ro-bind', p, p);
    } catch {
      /* absent here */
    }
  }
  // Only what language runtimes need from /etc: never the whole directory (shadow, server config).
  args.push('--dir', '/etc');
  // /etc/php: php8.2-cli's ini files and extension list (read-only).
  for (const p of ['/etc/ssl', '/etc/ca-certificates', '/etc/alternatives', '/etc/php']) {
    if (existsSync(p)) args.push('--ro-bind', p, p);
  }
  args.push('--symlink', '/usr/share/zoneinfo/Etc/UTC', '/etc/localtime');
  // A node binary outside /usr (e.g. /opt/node/bin/node) needs its installation too.
  if (!process.execPath.startsWith('/usr/')) {
    const prefix = dirname(dirname(process.execPath));
    args.push('--ro-bind', prefix, prefix);
  }
  return args;
}

export function bwrapArgs(o: {
  codeDirHost: string;
  /** Writable by the executor's uid, at /out (build output). */
  outDirHost?: string;
  runnersDirHost: string;
  tmpMb: number;
  env: Record<string, string>;
  command: string[];
  /** Descriptor bwrap reads a seccomp program from (see seccomp.ts). */
  seccompFd?: number;
}): string[] {
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--hostname',
    'flare',
    ...rootFsArgs(),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(o.tmpMb * 1024 * 1024),
    '--tmpfs',
    '/tmp',
    '--ro-bind',
    o.runnersDirHost,
    '/flare',
    '--ro-bind',
    o.codeDirHost,
    '/code',
    ...(o.outDirHost ? ['--bind', o.outDirHost, '/out'] : []),
    '--chdir',
    '/code',
    '--clearenv',
  ];
  for (const [k, v] of Object.entries(o.env)) args.push('--setenv', k, v);
  if (o.seccompFd !== undefined) args.push('--add-seccomp-fd', String(o.seccompFd));
  args.push('--', ...o.command);
  return args;
}

export class BwrapSandbox implements Sandbox {
  readonly status: SandboxStatus;
  private readonly uids = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly runnersDir: string,
    private readonly cgroups: CgroupManager,
    /** Host path of the seccomp program, readable by the executor uids; undefined runs without one. */
    private readonly seccompFile?: string,
  ) {
    this.status = { isolated: true, description: `bubblewrap + cgroup v${cgroups.version}${seccompFile ? ' + seccomp' : ''}` };
  }

  close(): void {
    this.cgroups.close();
  }

  uidFor(namespace: string | undefined): number {
    if (namespace === undefined) return STEM_UID;
    let uid = this.uids.get(namespace);
    if (uid === undefined) {
      uid = FIRST_NS_UID + this.uids.size;
      this.uids.set(namespace, uid);
    }
    return uid;
  }

  prepare(opts: PrepareOptions): SandboxHandle {
    const dir = join(this.root, opts.id);
    const code = join(dir, 'code');
    mkdirSync(code, { recursive: true, mode: 0o755 });
    const uid = this.uidFor(opts.namespace);
    const out = join(dir, 'out');
    mkdirSync(out, { recursive: true, mode: 0o700 });
    chownSync(out, uid, uid);
    let cg: ExecutorCgroup;
    try {
      cg = this.cgroups.create(opts.id, opts.memoryMb, PIDS_MAX);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const script = join('/flare', opts.runner.script.split('/').pop() as string);
    const inner = bwrapArgs({
      codeDirHost: code,
      outDirHost: out,
      runnersDirHost: this.runnersDir,
      tmpMb: Math.max(opts.memoryMb, 512),
      env: baseEnv(opts.env),
      command: [opts.runner.command, ...opts.runner.args, script],
      seccompFd: this.seccompFile ? SECCOMP_FD : undefined,
    });
    const seccompRedirect = this.seccompFile ? ` ${SECCOMP_FD}< '${this.seccompFile}'` : '';
    // The first process waits on fd 3 until the server has moved it into the executor's cgroups (so nothing ever
    // runs outside the caps; this works on v1 and v2 without delegating cgroup files to the uid), closes every
    // descriptor the server inherited without close-on-exec (only 0-4 belong to the executor), then becomes bwrap.
    const spawnSpec = {
      command: SHELL,
      args: ['-c', `read -r go <&3 && [ "$go" = go ] || exit 125; ${CLOSE_FDS} exec "$@"${seccompRedirect}`, 'flare-executor', BWRAP, ...inner],
      env: { PATH: '/usr/bin:/bin' },
      cwd: '/',
      uid,
      gid: uid,
    };
    return {
      spawnSpec,
      codeDirHost: code,
      codeDirInside: '/code',
      outDirHost: out,
      outDirInside: '/out',
      afterSpawn(pid, release) {
        cg.adopt(pid);
        release('go\n');
      },
      assign(memoryMb: number) {
        try {
          cg.setMemory(memoryMb);
          return true;
        } catch {
          return false; // the stem cell already uses more than the action may
        }
      },
      oomKilled: () => cg.oomKilled(),
      pause: (frozen) => cg.freeze(frozen),
      signal: (_pid, signal) => cg.signalAll(signal),
      async kill(pid) {
        // bwrap dies, its pid-1 child dies with it (--die-with-parent) and so does the whole pid namespace;
        // killing the cgroup's members covers anything caught mid-exit.
        if (pid !== undefined) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        cg.killAll();
        const deadline = Date.now() + 2000;
        while (!cg.empty() && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
          cg.killAll();
        }
      },
      cleanup() {
        cg.remove();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
