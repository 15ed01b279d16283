// One executor: a child runtime process (inside its sandbox when isolation is on) hosting at most one action.
// Requests go down fd 3 as JSON lines, answers come back on fd 4 as "<status> <json>" lines; stdout/stderr are the
// function's logs. Killing the executor destroys its whole sandbox.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { LogCollector } from './log-collector.js';
import type { SandboxHandle } from './sandbox.js';

export const PROGRESS_MAX_BYTES = 4096;

export interface Reply {
  kind: 'reply';
  status: number;
  /** Raw JSON text of the body, cut at the reply cap. */
  body: string;
  /** Full byte length of the body as sent. */
  size: number;
  truncated: boolean;
}
export type Exchange = Reply | { kind: 'timeout' } | { kind: 'exited' };

export type ExecutorState = 'stem' | 'ready' | 'busy' | 'dead';

export class Executor {
  readonly id: string;
  readonly kind: string;
  memoryMb: number;
  readonly startedAt = Date.now();
  state: ExecutorState = 'stem';
  /** Pool key of the action it hosts, once initialized. */
  key?: string;
  lastUsed = Date.now();
  /** The runner process is up and waiting for requests. */
  booted = false;
  /** Frozen while idle (OpenWhisk's paused container). */
  paused = false;
  pauseTimer?: NodeJS.Timeout;
  readonly logs: LogCollector;
  private readonly proc: ChildProcess;
  private readonly toChild: Writable;
  private pending?: (e: Exchange) => void;
  private replyChunks: Buffer[] = [];
  private replyLen = 0;
  private replySize = 0;
  private exited = false;
  private readonly exitWaiters: Array<() => void> = [];
  /** Receives the running activation's progress values ("P <json>" lines); set only while one runs. */
  onProgress?: (json: string) => void;
  /** Called once when the process is gone, whatever the reason. */
  exitHook?: () => void;
  /** Set when the running activation was cancelled: resolves once the sandbox is gone (never reused). */
  cancelKill?: Promise<void>;
  /** Stops watching the running activation's cancel signal. */
  cancelWatch?: () => void;

  constructor(
    id: string,
    kind: string,
    memoryMb: number,
    readonly sandbox: SandboxHandle,
    private readonly replyCap: number,
  ) {
    this.id = id;
    this.kind = kind;
    this.memoryMb = memoryMb;
    const spec = sandbox.spawnSpec;
    this.proc = spawn(spec.command, spec.args, {
      env: spec.env,
      cwd: spec.cwd,
      uid: spec.uid,
      gid: spec.gid,
      detached: true, // own process group (and session), so the unsandboxed fallback can kill the group
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.toChild = this.proc.stdio[3] as Writable;
    const fromChild = this.proc.stdio[4] as Readable;
    this.toChild.on('error', () => undefined);
    fromChild.on('data', (c: Buffer) => this.onReplyData(c));
    fromChild.on('error', () => undefined);
    this.logs = new LogCollector(this.proc.stdout as Readable, this.proc.stderr as Readable);
    this.proc.on('error', () => this.onExit());
    this.proc.on('exit', () => this.onExit());
    if (sandbox.afterSpawn && this.proc.pid !== undefined) {
      try {
        sandbox.afterSpawn(this.proc.pid, (text) => this.toChild.write(text));
      } catch {
        // Not confined, so never run: kill it; the first exchange reports the executor as exited.
        try {
          process.kill(this.proc.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return !this.exited && this.state !== 'dead';
  }

  /** Sends one request and waits for its reply, the process's death or the time limit. */
  exchange(msg: unknown, timeoutMs: number): Promise<Exchange> {
    if (!this.alive) return Promise.resolve({ kind: 'exited' });
    return new Promise<Exchange>((resolve) => {
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      const finish = (e: Exchange) => {
        clearTimeout(timer);
        this.pending = undefined;
        resolve(e);
      };
      this.pending = finish;
      this.toChild.write(JSON.stringify(msg) + '\n');
    });
  }

  /** Sends `sig` to every process of the function (a cancel's SIGTERM). */
  signal(sig: NodeJS.Signals): void {
    this.sandbox.signal?.(this.proc.pid, sig);
  }

  /** Resolves true once the process has exited, false when `ms` pass first. */
  waitExit(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.exitWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Destroys the executor and everything it started; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.state = 'dead';
    await this.sandbox.kill(this.proc.pid);
    if (!this.exited) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        this.exitWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.sandbox.cleanup();
  }

  private onExit(): void {
    if (this.exited) return;
    this.exited = true;
    this.pending?.({ kind: 'exited' });
    for (const w of this.exitWaiters.splice(0)) w();
    this.exitHook?.();
  }

  private onReplyData(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const piece = chunk.subarray(start, nl < 0 ? chunk.length : nl);
      this.replySize += piece.length;
      // Keep only what the result cap allows; a 10 MB result costs the server at most the cap.
      if (this.replyLen < this.replyCap + 16) {
        const take = piece.subarray(0, this.replyCap + 16 - this.replyLen);
        this.replyChunks.push(Buffer.from(take));
        this.replyLen += take.length;
      }
      if (nl < 0) break;
      this.completeReply();
      start = nl + 1;
    }
  }

  private completeReply(): void {
    const raw = Buffer.concat(this.replyChunks);
    const total = this.replySize;
    this.replyChunks = [];
    this.replyLen = 0;
    this.replySize = 0;
    const sp = raw.indexOf(32);
    // "<status>" or "<status>/<sentinel mask>" (the streams that end with a sentinel; both when absent).
    const [statusText, maskText] = raw.subarray(0, sp < 0 ? raw.length : sp).toString().split('/');
    // "P <json>": a progress value (the runner caps it at 4 KB; a bigger one from a rogue process is ignored).
    if (statusText === 'P') {
      if (sp > 0 && total - sp - 1 <= PROGRESS_MAX_BYTES) this.onProgress?.(raw.subarray(sp + 1).toString('utf8'));
      return;
    }
    const status = Number(statusText);
    if (maskText !== undefined) this.logs.expect(Number(maskText));
    // "0 {}" is the runner saying it has booted (sent once, before any request is answered).
    if (status === 0) {
      this.booted = true;
      return;
    }
    const headerLen = sp < 0 ? raw.length : sp + 1;
    const bodyBytes = raw.subarray(headerLen);
    const size = total - headerLen;
    const truncated = size > this.replyCap;
    const body = (truncated ? bodyBytes.subarray(0, this.replyCap) : bodyBytes).toString('utf8');
    this.pending?.({ kind: 'reply', status, body, size, truncated });
  }
}
