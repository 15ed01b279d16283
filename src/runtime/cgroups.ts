// Memory and pids cgroups for executors, on cgroup v1 (separate memory/ and pids/ hierarchies) or v2 (unified).
// Only a memory cgroup caps heap, Buffers and tmpfs pages together; the pids cgroup contains fork bombs.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExecutorCgroup {
  /** Moves a process (and so everything it will start) into the cgroup. */
  adopt(pid: number): void;
  /** Freezes (pauses) or thaws every process, like OpenWhisk's paused containers; false when unsupported. */
  freeze(frozen: boolean): boolean;
  setMemory(mb: number): void;
  /** True when the kernel's OOM killer fired in this cgroup. */
  oomKilled(): boolean;
  /** Kills every process in the cgroup. */
  killAll(): void;
  /**
   * Sends `signal` to every process of the function (cancel's SIGTERM), not to bubblewrap's own processes: they
   * would tear the pid namespace down at once and leave the function no grace.
   */
  signalAll(signal: NodeJS.Signals): void;
  /** True when no process is left. */
  empty(): boolean;
  remove(): void;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  create(name: string, memoryMb: number, pidsMax: number): ExecutorCgroup;
  /** Removes Flare's parent cgroup(s) once every executor is gone. */
  close(): void;
}

function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* busy or gone */
  }
}

function ownPath(controller: string): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, ctrls, path] = line.split(':');
    if (path === undefined) continue;
    if (controller === '' ? ctrls === '' && line.startsWith('0::') : ctrls.split(',').includes(controller)) return path;
  }
  return undefined;
}

function write(file: string, value: string): void {
  writeFileSync(file, value);
}

function pidsIn(procs: string): number[] {
  try {
    return readFileSync(procs, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function killPids(procs: string): void {
  for (const pid of pidsIn(procs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function signalFunctionPids(procs: string, signal: NodeJS.Signals): void {
  for (const pid of pidsIn(procs)) {
    let comm = '';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue; // gone
    }
    if (comm === 'bwrap') continue;
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

class V1 implements CgroupManager {
  readonly version = 1 as const;
  constructor(
    private readonly memRoot: string,
    private readonly pidsRoot: string,
    private readonly freezerRoot: string | undefined,
  ) {}

  close(): void {
    rmdirQuiet(this.memRoot);
    rmdirQuiet(this.pidsRoot);
    if (this.freezerRoot) rmdirQuiet(this.freezerRoot);
  }

  create(name: string, memoryMb: number, pidsMax: number): ExecutorCgroup {
    const mem = join(this.memRoot, name);
    const pids = join(this.pidsRoot, name);
    // recursive: the parent is recreated if something removed it while the server ran.
    mkdirSync(mem, { recursive: true });
    mkdirSync(pids, { recursive: true });
    const freezer = this.freezerRoot ? join(this.freezerRoot, name) : undefined;
    if (freezer) mkdirSync(freezer, { recursive: true });
    const memsw = existsSync(join(mem, 'memory.memsw.limit_in_bytes'));
    let current = Number.POSITIVE_INFINITY; // a new cgroup starts unlimited
    const setMemory = (mb: number) => {
      const bytes = String(mb * 1024 * 1024);
      // memsw (RAM + swap) must never be below the RAM limit: raise it first, lower it last.
      if (mb >= current) {
        if (memsw) write(join(mem, 'memory.memsw.limit_in_bytes'), bytes);
        write(join(mem, 'memory.limit_in_bytes'), bytes);
      } else {
        write(join(mem, 'memory.limit_in_bytes'), bytes);
        if (memsw) write(join(mem, 'memory.memsw.limit_in_bytes'), bytes);
      }
      current = mb;
    };
    try {
      write(join(mem, 'memory.swappiness'), '0');
    } catch {
      /* not settable everywhere */
    }
    setMemory(memoryMb);
    write(join(pids, 'pids.max'), String(pidsMax));
    const oomControl = join(mem, 'memory.oom_control');
    return {
      adopt(pid) {
        write(join(mem, 'cgroup.procs'), String(pid));
        write(join(pids, 'cgroup.procs'), String(pid));
        if (freezer) write(join(freezer, 'cgroup.procs'), String(pid));
      },
      freeze(frozen) {
        if (!freezer) return false;
        try {
          write(join(freezer, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED');
          return true;
        } catch {
          return false;
        }
      },
      setMemory,
      oomKilled() {
        try {
          const m = /oom_kill (\d+)/.exec(readFileSync(oomControl, 'utf8'));
          if (m) return Number(m[1]) > 0;
          return Number(readFileSync(join(mem, 'memory.failcnt'), 'utf8')) > 0;
        } catch {
          return false;
        }
      },
      killAll() {
        killPids(join(mem, 'cgroup.procs'));
        killPids(join(pids, 'cgroup.procs'));
        // A frozen task cannot die until thawed.
        if (freezer) {
          try {
            write(join(freezer, 'freezer.state'), 'THAWED');
          } catch {
            /* gone */
          }
        }
      },
      signalAll(signal) {
        signalFunctionPids(join(pids, 'cgroup.procs'), signal);
      },
      empty() {
        return pidsIn(join(mem, 'cgroup.procs')).length === 0 && pidsIn(join(pids, 'cgroup.procs')).length === 0;
      },
      remove() {
        for (const d of freezer ? [mem, pids, freezer] : [mem, pids]) {
          try {
            rmdirSync(d);
          } catch {
            /* still busy or gone; the next start sweeps it */
          }
        }
      },
    };
  }
}

class V2 implements CgroupManager {
  readonly version = 2 as const;
  constructor(private readonly root: string) {}

  close(): void {
    rmdirQuiet(this.root);
  }

  create(name: string, memoryMb: number, pidsMax: number): ExecutorCgroup {
    const dir = join(this.root, name);
    if (!existsSync(this.root)) {
      mkdirSync(this.root);
      write(join(this.root, 'cgroup.subtree_control'), '+memory +pids');
    }
    mkdirSync(dir);
    const setMemory = (mb: number) => {
      write(join(dir, 'memory.max'), String(mb * 1024 * 1024));
      try {
        write(join(dir, 'memory.swap.max'), '0');
      } catch {
        /* no swap accounting */
      }
    };
    setMemory(memoryMb);
    write(join(dir, 'pids.max'), String(pidsMax));
    return {
      adopt(pid) {
        write(join(dir, 'cgroup.procs'), String(pid));
      },
      freeze(frozen) {
        try {
          write(join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
          return true;
        } catch {
          return false;
        }
      },
      setMemory,
      oomKilled() {
        try {
          const m = /oom_kill (\d+)/.exec(readFileSync(join(dir, 'memory.events'), 'utf8'));
          return m ? Number(m[1]) > 0 : false;
        } catch {
          return false;
        }
      },
      killAll() {
        try {
          write(join(dir, 'cgroup.kill'), '1');
        } catch {
          try {
            write(join(dir, 'cgroup.freeze'), '0');
          } catch {
            /* no freezer */
          }
          killPids(join(dir, 'cgroup.procs'));
        }
      },
      signalAll(signal) {
        signalFunctionPids(join(dir, 'cgroup.procs'), signal);
      },
      empty() {
        return pidsIn(join(dir, 'cgroup.procs')).length === 0;
      },
      remove() {
        try {
          rmdirSync(dir);
        } catch {
          /* busy or gone */
        }
      },
    };
  }
}

/** Removes leftover executor cgroups of a previous server run (their processes died with it). */
function sweep(dir: string): void {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    const sub = join(dir, d.name);
    for (const [file, value] of [['freezer.state', 'THAWED'], ['cgroup.freeze', '0']]) {
      try {
        writeFileSync(join(sub, file), value);
      } catch {
        /* not a freezer cgroup */
      }
    }
    killPids(join(sub, 'cgroup.procs'));
    try {
      rmdirSync(sub);
    } catch {
      /* busy */
    }
  }
}

/**
 * Sets up Flare's parent cgroup(s) below the server's own and returns a manager, or the reason cgroups are unusable.
 * `tag` names the parent (one per data dir, so two servers on one host do not sweep each other's executors).
 */
export function detectCgroups(tag: string): CgroupManager | string {
  try {
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      const own = ownPath('');
      if (own === undefined) return 'cannot find the server cgroup (v2)';
      const base = join('/sys/fs/cgroup', own);
      const controllers = readFileSync(join(base, 'cgroup.controllers'), 'utf8');
      if (!/\bmemory\b/.test(controllers) || !/\bpids\b/.test(controllers)) {
        return 'cgroup v2 without memory/pids controllers delegated to the server';
      }
      const parent = join(base, `flare-${tag}`);
      mkdirSync(parent, { recursive: true });
      try {
        write(join(base, 'cgroup.subtree_control'), '+memory +pids');
      } catch {
        // "No internal processes": move the server into a leaf of its own, then delegate.
        const leaf = join(base, 'flare-server');
        mkdirSync(leaf, { recursive: true });
        for (const pid of pidsIn(join(base, 'cgroup.procs'))) {
          try {
            write(join(leaf, 'cgroup.procs'), String(pid));
          } catch {
            /* a process we cannot move */
          }
        }
        write(join(base, 'cgroup.subtree_control'), '+memory +pids');
      }
      write(join(parent, 'cgroup.subtree_control'), '+memory +pids');
      sweep(parent);
      return new V2(parent);
    }
    const mem = ownPath('memory');
    const pids = ownPath('pids');
    if (mem === undefined || pids === undefined) return 'no memory or pids cgroup controller (v1)';
    const memRoot = join('/sys/fs/cgroup/memory', mem, `flare-${tag}`);
    const pidsRoot = join('/sys/fs/cgroup/pids', pids, `flare-${tag}`);
    mkdirSync(memRoot, { recursive: true });
    mkdirSync(pidsRoot, { recursive: true });
    // The freezer is optional: without it idle executors are simply not paused.
    const frz = ownPath('freezer');
    let freezerRoot: string | undefined;
    if (frz !== undefined && existsSync('/sys/fs/cgroup/freezer')) {
      try {
        freezerRoot = join('/sys/fs/cgroup/freezer', frz, `flare-${tag}`);
        mkdirSync(freezerRoot, { recursive: true });
        sweep(freezerRoot);
      } catch {
        freezerRoot = undefined;
      }
    }
    try {
      write(join(memRoot, 'memory.use_hierarchy'), '1');
    } catch {
      /* already hierarchical, or set by the parent */
    }
    sweep(memRoot);
    sweep(pidsRoot);
    return new V1(memRoot, pidsRoot, freezerRoot);
  } catch (e) {
    return `cgroups not writable: ${(e as Error).message}`;
  }
}
