// The execution layer behind the Runtime contract: OpenWhisk's container pool for child runtime processes.
// A run takes a warm executor of the same action version first, then a prewarmed stem cell of its kind, then a cold
// one; all executors share one memory budget, and idle ones are evicted.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { PoolStats, Runtime, RuntimeKind, RunOutcome, RunRequest, SandboxStatus } from './runtime.js';
import { Executor } from './executor.js';
import { mapInit, mapRun, type Mapped } from './result-mapping.js';
import { writeActionCode, CodeError } from './action-code.js';
import type { RunnerCommand, Sandbox } from './sandbox.js';
import { detectSandbox } from './detect-sandbox.js';
import { KINDS as OFFERED, PHP_BINARY, resolveKind } from '../kinds.js';
import { GoBinaryCache } from './go-binary-cache.js';
import { CANCELLED_MESSAGE } from '../cancel/cancelled-record.js';

export interface RuntimeOptions {
  dataDir: string; // server data dir; executor scratch/code dirs go under join(dataDir, 'executors')
  memoryBudgetMb: number; // total memory for all executors (OpenWhisk invoker user memory), default 4096
  resultMaxBytes: number; // 1048576
  requireSandbox: boolean; // true → throw if isolation is unavailable; false → unsafe dev mode with a warning
  idleEvictMs?: number; // evict idle warm executors (default 10 min)
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void; info(msg: string): void };
  /** Prewarmed stem cells per kind (default nodejs:20 ×2, python:3.11 ×1); 0 disables. */
  stemCells?: Record<string, number>;
  /** Memory of a stem cell until it is assigned an action, MB (default 256). */
  stemCellMemoryMb?: number;
  /** Idle warm executors are frozen after this long, so leftover timers burn no CPU (OpenWhisk's pause-grace, default 10 s). */
  pauseGraceMs?: number;
  /** Force the unsafe (unsandboxed) mode even where isolation is available (benchmarks, tests). */
  unsafe?: boolean;
  /** Memory cap while a Go action compiles (default 1024 MB; go build needs more than a 256 MB action has). */
  goBuildMemoryMb?: number;
  /** Time limit of a Go compile (default 120 s, or the action's own timeout when that is longer). */
  goBuildTimeoutMs?: number;
}

const RUNNERS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'runners');

/** The kinds this node can run (php and go only where their Debian packages are installed). */
const KINDS: RuntimeKind[] = OFFERED;

/** One runner per family; go and blackbox share the native runner (and its stem cells). */
function runnerFor(kind: string): RunnerCommand {
  const family = kind.split(':')[0];
  if (family === 'python') {
    return { command: '/usr/bin/python3', args: ['-I', '-S', '-u'], script: join(RUNNERS_DIR, 'python-runner.py') };
  }
  if (family === 'php') {
    // No memory_limit of PHP's own: the executor's memory cgroup is the limit, as for every runtime.
    return { command: PHP_BINARY, args: ['-d', 'memory_limit=-1', '-d', 'display_errors=stderr', '-d', 'opcache.enable_cli=0'], script: join(RUNNERS_DIR, 'php-runner.php') };
  }
  if (family === 'go' || family === 'blackbox') {
    return { command: '/usr/bin/python3', args: ['-I', '-S', '-u'], script: join(RUNNERS_DIR, 'native-runner.py') };
  }
  return { command: process.execPath, args: [], script: join(RUNNERS_DIR, 'node-runner.cjs') };
}

/** Stem cells are interchangeable between kinds that share a runner. */
const runnerKey = (kind: string): string => runnerFor(kind).script;

function defaultStemCells(): Record<string, number> {
  const cells: Record<string, number> = { 'nodejs:20': 2, 'python:3.11': 1, blackbox: 1 };
  if (KINDS.some((k) => k.kind === 'php:8.2')) cells['php:8.2'] = 1;
  return cells;
}

export async function createRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const root = join(opts.dataDir, 'executors');
  // Executors never outlive the server process; anything left here is from a previous run.
  mkdirSync(root, { recursive: true });
  for (const name of readdirSync(root)) rmSync(join(root, name), { recursive: true, force: true });
  const sandbox = await detectSandbox({
    root,
    requireSandbox: opts.requireSandbox,
    forceUnsafe: opts.unsafe === true,
    runnersDir: RUNNERS_DIR,
  });
  if (!sandbox.status.isolated) opts.logger?.warn(sandbox.status.description);
  else opts.logger?.info(`sandbox: ${sandbox.status.description}`);
  const rt = new PoolRuntime(opts, sandbox);
  // Stem cells boot just after startup, so they never slow the server's own start.
  setTimeout(() => rt.prewarm(), 300).unref();
  return rt;
}

class PoolRuntime implements Runtime {
  readonly kinds = KINDS;
  readonly sandbox: SandboxStatus;
  private readonly executors = new Set<Executor>();
  /** Executors being killed (close waits for them before removing the parent cgroups). */
  private readonly dying = new Map<Executor, Promise<void>>();
  private readonly listeners: Array<() => void> = [];
  private readonly idleEvictMs: number;
  private readonly stemCells: Record<string, number>;
  private readonly stemMb: number;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private prewarmScheduled = false;
  private readonly goCache: GoBinaryCache;

  constructor(
    private readonly opts: RuntimeOptions,
    private readonly box: Sandbox,
  ) {
    this.sandbox = box.status;
    this.idleEvictMs = opts.idleEvictMs ?? 10 * 60_000;
    this.stemCells = opts.stemCells ?? defaultStemCells();
    this.goCache = new GoBinaryCache(join(opts.dataDir, 'go-binaries'));
    this.stemMb = opts.stemCellMemoryMb ?? 256;
    this.sweeper = setInterval(() => this.evictIdle(), Math.min(30_000, Math.max(50, this.idleEvictMs / 2)));
    this.sweeper.unref();
  }

  resolveKind(kind: string): string | undefined {
    return resolveKind(kind, KINDS);
  }

  freeSlots(memoryMb: number): number {
    const free = this.opts.memoryBudgetMb - this.busyMb();
    return Math.max(0, Math.floor(free / Math.max(1, memoryMb)));
  }

  onCapacity(listener: () => void): void {
    this.listeners.push(listener);
  }

  stats(): PoolStats {
    const s: PoolStats = { executors: 0, busy: 0, warm: 0, paused: 0, stemCells: 0, stemCellsReady: 0, memoryMb: 0, memoryBudgetMb: this.opts.memoryBudgetMb };
    for (const e of this.executors) {
      s.executors++;
      s.memoryMb += e.memoryMb;
      if (e.paused) s.paused++;
      if (e.state === 'busy') s.busy++;
      else if (e.state === 'ready') s.warm++;
      else if (e.state === 'stem') {
        s.stemCells++;
        if (e.booted) s.stemCellsReady++;
      }
    }
    return s;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.executors].map((e) => this.destroy(e)));
    await Promise.all([...this.dying.values()]);
    this.box.close?.();
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    const begin = Date.now();
    try {
      return await this.runInner(req);
    } catch (e) {
      this.opts.logger?.warn('runtime failure', { activationId: req.activationId, namespace: req.namespace, err: (e as Error).stack ?? String(e) });
      return {
        statusCode: 3,
        result: { error: `Failed to run the action: ${(e as Error).message ?? e}` },
        logs: [],
        start: begin,
        end: Date.now(),
        timeout: false,
      };
    }
  }

  private async runInner(req: RunRequest): Promise<RunOutcome> {
    if (req.signal?.aborted) return this.cancelledEarly(Date.now());
    const action = req.action;
    const kind = this.resolveKind(action.exec.kind);
    const memoryMb = action.limits.memory;
    const timeoutMs = action.limits.timeout;
    const logLimit = Math.max(0, action.limits.logs) * 1_048_576;
    if (!kind) {
      const now = Date.now();
      return {
        statusCode: 3,
        result: { error: `The specified runtime '${action.exec.kind}' is not supported on this node. Valid values are: ${KINDS.map((k) => `'${k.kind}'`).join(', ')}.` },
        logs: [],
        start: now,
        end: now,
        timeout: false,
      };
    }
    const key = poolKey(req);
    let start = Date.now();
    let initTime: number | undefined;
    let ex = this.takeWarm(key);
    let served: RunOutcome['executor'] = 'warm';
    let code = action.exec.code;
    const coldStart = Date.now();
    if (!ex && code === undefined && req.loadCode) {
      // Loading the code may take a store round trip; an executor of this action released meanwhile is taken
      // instead of starting (and making room for) another one.
      code = await req.loadCode();
      ex = this.takeWarm(key);
      if (ex) start = Date.now();
    }
    if (req.signal?.aborted) {
      if (ex) this.release(ex);
      return this.cancelledEarly(coldStart);
    }
    if (!ex) {
      // Cold path (stem cell or new process): start covers code preparation and init.
      start = coldStart;
      if (code === undefined) {
        return { statusCode: 3, result: { error: 'Action could not be found or may have been deleted.' }, logs: [], start, end: Date.now(), timeout: false };
      }
      ex = this.takeStem(kind, memoryMb, req.namespace);
      served = ex ? 'prewarmed' : 'cold';
      ex ??= this.spawn(kind, memoryMb, req.namespace);
      ex.state = 'busy';
      this.observe(ex, req, logLimit);
      this.watchCancel(ex, req);
      const family = kind.split(':')[0];
      let file: { file: string; binary: boolean };
      try {
        file = writeActionCode(family, code, action.exec.binary, ex.sandbox.codeDirHost, ex.sandbox.codeDirInside);
      } catch (e) {
        void this.destroy(ex);
        const msg = e instanceof CodeError ? e.message : String(e);
        return this.finishEarly(start, { statusCode: 2, result: { error: `Initialization has failed due to: ${msg}` }, timeout: false, destroy: true });
      }
      const initEnv: Record<string, string> = {
        __OW_API_HOST: req.apiHost,
        __OW_NAMESPACE: req.namespace,
        __OW_ACTION_NAME: req.actionName,
        __OW_ACTION_VERSION: action.version,
        ...req.env,
      };
      // Go source: reuse the binary built for this code on this node, or compile it inside the sandbox with the
      // build's own memory and time budget, then cache it by digest.
      const build = family === 'go' ? this.goCache.prepare(req.namespace, kind, code, ex.sandbox.codeDirHost) : undefined;
      const building = build !== undefined && !build.cached;
      let initTimeout = timeoutMs;
      if (building) {
        const buildMb = Math.max(memoryMb, this.opts.goBuildMemoryMb ?? 1024);
        this.makeRoom(buildMb - memoryMb, ex);
        ex.sandbox.assign(buildMb, req.namespace);
        initTimeout = Math.max(timeoutMs, this.opts.goBuildTimeoutMs ?? 120_000);
      }
      const reply = await ex.exchange(
        { op: 'init', main: action.exec.main || 'main', file: file.file, binary: file.binary, env: initEnv, build: building, out: ex.sandbox.outDirInside },
        initTimeout,
      );
      if (building && reply.kind === 'reply' && reply.status === 200) {
        this.goCache.store(build!.digest, ex.sandbox.outDirHost);
        if (!ex.sandbox.assign(memoryMb, req.namespace)) {
          void this.destroy(ex);
          return this.finishEarly(start, { statusCode: 3, result: { error: 'Failed to run the action: could not restore its memory limit after the Go build.' }, timeout: false, destroy: true });
        }
      }
      initTime = Date.now() - start;
      if (ex.cancelKill) return this.cancelledRun(ex, start, initTime, served);
      const failed = mapInit(reply, initTimeout, reply.kind === 'exited' && ex.sandbox.oomKilled());
      if (failed) {
        if (reply.kind !== 'reply') await this.destroy(ex);
        const logs = await this.collect(ex, reply.kind === 'reply');
        void this.destroy(ex);
        return { ...this.outcome(failed, logs, start), initTime, executor: served };
      }
      ex.key = key;
    } else {
      this.observe(ex, req, logLimit);
      this.watchCancel(ex, req);
    }
    const deadline = Date.now() + timeoutMs;
    const env: Record<string, string> = {
      __OW_ACTIVATION_ID: req.activationId,
      __OW_TRANSACTION_ID: req.transactionId,
      __OW_NAMESPACE: req.namespace,
      __OW_ACTION_NAME: req.actionName,
      __OW_ACTION_VERSION: action.version,
      __OW_DEADLINE: String(deadline),
      __OW_ATTEMPT: String(req.attempt ?? 1),
      __OW_MAX_ATTEMPTS: String(req.maxAttempts ?? 1),
    };
    if (req.apiKey !== undefined) env.__OW_API_KEY = req.apiKey;
    const reply = await ex.exchange({ op: 'run', value: req.params, env }, timeoutMs);
    ex.onProgress = undefined;
    if (ex.cancelKill) return this.cancelledRun(ex, start, initTime, served);
    ex.cancelWatch?.();
    // Read the OOM counter before the cgroup goes away with the executor.
    const oom = reply.kind === 'exited' && ex.sandbox.oomKilled();
    // Timeout or death: kill the whole sandbox first so both log streams close.
    if (reply.kind !== 'reply') await this.destroy(ex);
    const mapped = mapRun(reply, timeoutMs, this.opts.resultMaxBytes, oom);
    const logs = await this.collect(ex, reply.kind === 'reply');
    if (mapped.destroy || !ex.alive) void this.destroy(ex);
    else this.release(ex);
    const out = this.outcome(mapped, logs, start);
    if (initTime !== undefined) out.initTime = initTime;
    out.executor = served;
    return out;
  }

  /**
   * A cancel (req.signal) while `ex` runs: SIGTERM to every process of the function, the grace, then the whole
   * sandbox is killed. The exchange in progress ends (the process exited) and the run reports it cancelled.
   */
  private watchCancel(ex: Executor, req: RunRequest): void {
    const signal = req.signal;
    if (!signal) return;
    const onAbort = () => {
      if (ex.cancelKill) return;
      ex.cancelKill = (async () => {
        const grace = req.cancelGraceMs ?? 0;
        if (grace > 0) {
          ex.signal('SIGTERM');
          await ex.waitExit(grace);
        }
        await this.destroy(ex);
      })();
    };
    ex.cancelWatch = () => signal.removeEventListener('abort', onAbort);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  /** The outcome of a cancelled run, once its sandbox is gone: the logs written up to the kill. */
  private async cancelledRun(ex: Executor, start: number, initTime: number | undefined, served: RunOutcome['executor']): Promise<RunOutcome> {
    ex.onProgress = undefined;
    ex.cancelWatch?.();
    await ex.cancelKill;
    const logs = await this.collect(ex, false);
    const out = this.outcome({ statusCode: 2, result: { error: CANCELLED_MESSAGE }, timeout: false, destroy: true }, logs, start);
    out.cancelled = true;
    if (initTime !== undefined) out.initTime = initTime;
    if (served) out.executor = served;
    return out;
  }

  /** Cancelled before an executor was taken: nothing ran. */
  private cancelledEarly(start: number): RunOutcome {
    return { statusCode: 2, result: { error: CANCELLED_MESSAGE }, logs: [], start, end: Date.now(), timeout: false, cancelled: true };
  }

  /** Starts collecting the activation's logs; its observer (if any) sees lines and progress as they come. */
  private observe(ex: Executor, req: RunRequest, logLimit: number): void {
    const o = req.observer;
    ex.logs.begin(logLimit, o);
    ex.onProgress = o ? (json) => o.progress(json) : undefined;
  }

  private finishEarly(start: number, m: Mapped): RunOutcome {
    return this.outcome(m, [], start);
  }

  private outcome(m: Mapped, logs: string[], start: number): RunOutcome {
    const o: RunOutcome = { statusCode: m.statusCode, result: m.result, logs, start, end: Date.now(), timeout: m.timeout };
    if (m.size !== undefined) o.size = m.size;
    return o;
  }

  private async collect(ex: Executor, replied: boolean): Promise<string[]> {
    const complete = await ex.logs.waitForEnd(replied ? 2000 : 500);
    // Without its sentinels the streams' framing is lost: never reuse such an executor.
    if (!complete) void this.destroy(ex);
    return ex.logs.finish(complete);
  }

  /** Registers a new executor; one that dies on its own (idle crash, stem cell failure) leaves the pool at once. */
  private adopt(ex: Executor): Executor {
    this.executors.add(ex);
    ex.exitHook = () => {
      if (ex.state !== 'busy') void this.destroy(ex);
    };
    return ex;
  }

  private takeWarm(key: string): Executor | undefined {
    let best: Executor | undefined;
    for (const e of this.executors) {
      if (e.state === 'ready' && e.key === key && e.alive && (!best || e.lastUsed > best.lastUsed)) best = e;
    }
    if (best) {
      best.state = 'busy';
      clearTimeout(best.pauseTimer);
      if (best.paused) {
        best.sandbox.pause?.(false);
        best.paused = false;
      }
    }
    return best;
  }

  private takeStem(kind: string, memoryMb: number, namespace: string): Executor | undefined {
    // A booted stem cell first; one still booting is still ahead of a cold start.
    const stems = [...this.executors].filter((e) => e.state === 'stem').sort((a, b) => Number(b.booted) - Number(a.booted));
    for (const e of stems) {
      if (e.state === 'stem' && runnerKey(e.kind) === runnerKey(kind) && e.alive) {
        if (memoryMb > e.memoryMb) this.makeRoom(memoryMb - e.memoryMb, e);
        if (!e.sandbox.assign(memoryMb, namespace)) continue;
        e.state = 'busy';
        e.memoryMb = memoryMb;
        this.schedulePrewarm();
        return e;
      }
    }
    return undefined;
  }

  private spawn(kind: string, memoryMb: number, namespace: string | undefined): Executor {
    this.makeRoom(memoryMb);
    const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const handle = this.box.prepare({ id, runner: runnerFor(kind), memoryMb, namespace, env: {} });
    return this.adopt(new Executor(id, kind, memoryMb, handle, this.opts.resultMaxBytes));
  }

  /** Evicts idle executors (least recently used first, stem cells last) until `memoryMb` more fits the budget. */
  private makeRoom(memoryMb: number, keep?: Executor): void {
    let total = this.totalMb();
    if (total + memoryMb <= this.opts.memoryBudgetMb) return;
    const idle = [...this.executors]
      .filter((e) => (e.state === 'ready' || e.state === 'stem') && e !== keep)
      .sort((a, b) => (a.state === b.state ? a.lastUsed - b.lastUsed : a.state === 'ready' ? -1 : 1));
    for (const e of idle) {
      if (total + memoryMb <= this.opts.memoryBudgetMb) break;
      total -= e.memoryMb;
      void this.destroy(e);
    }
  }

  private release(ex: Executor): void {
    ex.state = 'ready';
    ex.lastUsed = Date.now();
    if (ex.sandbox.pause) {
      ex.pauseTimer = setTimeout(() => {
        if (ex.state === 'ready' && ex.alive) ex.paused = ex.sandbox.pause!(true);
      }, this.opts.pauseGraceMs ?? 10_000);
      ex.pauseTimer.unref();
    }
    this.notify();
  }

  private async destroy(ex: Executor): Promise<void> {
    const wasBusy = ex.state === 'busy';
    if (!this.executors.has(ex)) return this.dying.get(ex);
    this.executors.delete(ex);
    clearTimeout(ex.pauseTimer);
    const killed = ex.kill();
    this.dying.set(ex, killed);
    try {
      await killed;
    } finally {
      this.dying.delete(ex);
    }
    if (wasBusy) this.notify();
  }

  private notify(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        /* a listener's failure is not the runtime's */
      }
    }
  }

  private busyMb(): number {
    let n = 0;
    for (const e of this.executors) if (e.state === 'busy') n += e.memoryMb;
    return n;
  }

  private totalMb(): number {
    let n = 0;
    for (const e of this.executors) n += e.memoryMb;
    return n;
  }

  private evictIdle(): void {
    const now = Date.now();
    for (const e of this.executors) {
      if (!e.alive && e.state !== 'busy') void this.destroy(e);
      else if (e.state === 'ready' && now - e.lastUsed > this.idleEvictMs) void this.destroy(e);
    }
    this.prewarm();
  }

  private schedulePrewarm(): void {
    if (this.prewarmScheduled || this.closed) return;
    this.prewarmScheduled = true;
    // Replace the stem cell after the current activation had its head start.
    setTimeout(() => {
      this.prewarmScheduled = false;
      this.prewarm();
    }, 20).unref();
  }

  /** Tops up the prewarmed stem cells of each kind, within the memory budget. */
  prewarm(): void {
    if (this.closed) return;
    for (const [kind, want] of Object.entries(this.stemCells)) {
      let have = 0;
      if (!KINDS.some((k) => k.kind === kind)) continue;
      for (const e of this.executors) if (e.state === 'stem' && runnerKey(e.kind) === runnerKey(kind) && e.alive) have++;
      for (; have < want; have++) {
        if (this.totalMb() + this.stemMb > this.opts.memoryBudgetMb) return;
        const id = `stem-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
        const handle = this.box.prepare({ id, runner: runnerFor(kind), memoryMb: this.stemMb, env: {} });
        this.adopt(new Executor(id, kind, this.stemMb, handle, this.opts.resultMaxBytes));
      }
    }
  }
}

/** Warm executors are reused only for the same invoking namespace and the same action version. */
function poolKey(req: RunRequest): string {
  const a = req.action;
  return JSON.stringify([req.namespace, a.namespace, a.name, a.version, a.updated, a.exec.kind]);
}
