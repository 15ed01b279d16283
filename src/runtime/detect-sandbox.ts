// Chooses the executor sandbox at startup: bubblewrap + cgroups when both work here, else the clearly labelled
// unsafe dev mode (or an error when isolation is required).
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { UnsafeSandbox, type Sandbox } from './sandbox.js';
import { BwrapSandbox, BWRAP, STEM_UID, SECCOMP_FD, bwrapArgs } from './bwrap-sandbox.js';
import { seccompProgram } from './seccomp.js';
import { detectCgroups } from './cgroups.js';

export interface DetectOptions {
  root: string;
  requireSandbox: boolean;
  forceUnsafe: boolean;
  runnersDir: string;
}

/** True when every directory above `p` lets other users through (bwrap runs as an unprivileged uid). */
function traversable(p: string): boolean {
  for (let d = p; ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (d === '/') return true;
  }
}

/** The executors root, reachable by the sandbox uids (only bwrap itself resolves these host paths). */
function sandboxRoot(root: string): string {
  mkdirSync(root, { recursive: true });
  const parent = dirname(root);
  if (!traversable(root) && traversable(dirname(parent))) {
    // The data dir is private (0700): let others traverse it (not list it) so bwrap can reach executors/.
    chmodSync(parent, statSync(parent).mode | 0o001);
  }
  chmodSync(root, 0o711);
  if (traversable(root)) return root;
  const alt = join(tmpdir(), `flare-executors-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`);
  mkdirSync(alt, { recursive: true, mode: 0o711 });
  chmodSync(alt, 0o711);
  for (const name of readdirSync(alt)) rmSync(join(alt, name), { recursive: true, force: true });
  return alt;
}

function unavailable(opts: DetectOptions, reason: string): Sandbox {
  if (opts.requireSandbox) throw new Error(`Isolation is required but unavailable: ${reason}`);
  return new UnsafeSandbox(opts.root, reason);
}

export async function detectSandbox(opts: DetectOptions): Promise<Sandbox> {
  if (opts.forceUnsafe) return unavailable(opts, 'isolation turned off by configuration');
  if (process.platform !== 'linux') return unavailable(opts, 'not Linux');
  if (process.getuid?.() !== 0) return unavailable(opts, 'the server does not run as root, so it cannot start executors as per-namespace uids');
  if (!existsSync(BWRAP)) return unavailable(opts, `${BWRAP} not installed (apt-get install bubblewrap)`);
  const tag = createHash('sha256').update(opts.root).digest('hex').slice(0, 10);
  const cgroups = detectCgroups(tag);
  if (typeof cgroups === 'string') return unavailable(opts, cgroups);
  const root = sandboxRoot(opts.root);
  // Runners are copied next to the executors so the sandbox needs no path into the installation.
  const runners = join(root, 'runners');
  mkdirSync(runners, { recursive: true, mode: 0o755 });
  for (const f of readdirSync(opts.runnersDir)) copyFileSync(join(opts.runnersDir, f), join(runners, f));
  for (const f of readdirSync(runners)) chmodSync(join(runners, f), 0o644);
  const probeDir = join(root, 'probe');
  mkdirSync(probeDir, { recursive: true, mode: 0o755 });
  const probe = (seccompFile?: string) => {
    const fd = seccompFile ? openSync(seccompFile, 'r') : undefined;
    try {
      return spawnSync(
        BWRAP,
        bwrapArgs({ codeDirHost: probeDir, runnersDirHost: runners, tmpMb: 16, env: {}, command: ['/usr/bin/true'], seccompFd: fd === undefined ? undefined : SECCOMP_FD }),
        {
          uid: STEM_UID,
          gid: STEM_UID,
          env: {},
          cwd: '/',
          timeout: 10_000,
          encoding: 'utf8',
          stdio: fd === undefined ? 'pipe' : ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', fd],
        },
      );
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  };
  const plain = probe();
  if (plain.status !== 0) {
    return unavailable(opts, `bubblewrap does not work here: ${(plain.stderr || plain.error?.message || '').trim()}`);
  }
  // The seccomp filter is defence in depth: used where the probe accepts it, skipped (and said) where not.
  const program = seccompProgram();
  let seccompFile: string | undefined;
  if (program) {
    const file = join(root, 'seccomp.bpf');
    writeFileSync(file, program, { mode: 0o644 });
    chmodSync(file, 0o644);
    if (probe(file).status === 0) seccompFile = file;
  }
  return new BwrapSandbox(root, runners, cgroups, seccompFile);
}
