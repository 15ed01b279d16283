// Collects one executor's stdout/stderr into OpenWhisk log lines, split per activation by the sentinel lines the
// runner prints on both streams. Bytes past the activation's log limit are dropped as they arrive, so a log flood
// never grows the server's memory.
import type { Readable } from 'node:stream';

export const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';
const SENTINEL_BUF = Buffer.from(SENTINEL);

const origin = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** RFC 3339 UTC with 9 fractional digits (OpenWhisk's log timestamp). */
export function nowNanos(): string {
  const ns = origin + process.hrtime.bigint();
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2024-01-01T00:00:00.123Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

export function formatLogLine(ts: string, stream: 'stdout' | 'stderr', line: string): string {
  return `${ts.padEnd(30)} ${stream}: ${line}`;
}

/** Receives an activation's lines as they are collected (live logs, src/live-logs/). */
export interface LogSink {
  /** `seq` is the line's 1-based index in the record's logs. */
  line(seq: number, line: string): void;
  /** The log limit was hit: no more lines will be collected. */
  truncated(): void;
}

export class LogCollector {
  private sink: LogSink | undefined;
  private lines: string[] = [];
  private bytes = 0;
  private limit = 0;
  private truncated = false;
  /** Per stream: its end-of-activation sentinel arrived, or the runner said none will come. */
  private ended = { stdout: false, stderr: false };
  private waiters: Array<() => void> = [];
  private closed = 0;
  private readonly partial: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
  private readonly partialLen: Record<'stdout' | 'stderr', number> = { stdout: 0, stderr: 0 };
  private readonly partialDropped: Record<'stdout' | 'stderr', boolean> = { stdout: false, stderr: false };

  constructor(stdout: Readable, stderr: Readable) {
    this.attach(stdout, 'stdout');
    this.attach(stderr, 'stderr');
  }

  /** Starts collecting for a new activation. `limitBytes` 0 means logs are not collected. */
  begin(limitBytes: number, sink?: LogSink): void {
    this.sink = sink;
    this.lines = [];
    this.bytes = 0;
    this.limit = limitBytes;
    this.truncated = false;
    this.ended = { stdout: false, stderr: false };
  }

  /** Resolves when both sentinels have arrived, both streams closed, or the grace period ran out. */
  waitForEnd(graceMs: number): Promise<boolean> {
    if (this.done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== fire);
        resolve(false);
      }, graceMs);
      const fire = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.waiters.push(fire);
    });
  }

  /** Returns the collected lines and the truncation notice if any. */
  finish(complete: boolean): string[] {
    const out = this.lines;
    this.sink = undefined;
    if (this.truncated) {
      out.push(
        formatLogLine(
          nowNanos(),
          'stderr',
          `Logs were truncated because the total bytes size exceeds the limit of ${this.limit} bytes.`,
        ),
      );
    } else if (!complete && this.limit > 0) {
      out.push(formatLogLine(nowNanos(), 'stderr', 'There was an issue while collecting your logs. Data might be missing.'));
    }
    this.lines = [];
    return out;
  }

  /** The runner's reply said which streams carry a sentinel (bit 1 stdout, bit 2 stderr); others are done. */
  expect(mask: number): void {
    if (!(mask & 1)) this.ended.stdout = true;
    if (!(mask & 2)) this.ended.stderr = true;
    this.notify();
  }

  private done(): boolean {
    return (this.ended.stdout && this.ended.stderr) || this.closed >= 2;
  }

  private notify(): void {
    if (!this.done()) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private attach(s: Readable, stream: 'stdout' | 'stderr'): void {
    s.on('data', (chunk: Buffer) => this.onData(stream, chunk));
    s.on('error', () => undefined);
    s.on('close', () => {
      this.flushPartial(stream);
      this.closed++;
      this.notify();
    });
  }

  private onData(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (this.truncated || this.limit <= 0) return this.skim(stream, chunk);
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.pushPartial(stream, chunk.subarray(start, nl));
      this.endLine(stream);
      start = nl + 1;
    }
    if (start < chunk.length) this.pushPartial(stream, chunk.subarray(start));
  }

  /** Past the limit only the sentinel matters: find it without splitting lines (a log flood costs a memchr). */
  private skim(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const carry = Buffer.concat(this.partial[stream]);
    const buf = carry.length > 0 ? Buffer.concat([carry.subarray(Math.max(0, carry.length - SENTINEL_BUF.length)), chunk]) : chunk;
    const at = buf.indexOf(SENTINEL_BUF);
    if (at < 0) {
      this.partial[stream] = [Buffer.from(buf.subarray(Math.max(0, buf.length - SENTINEL_BUF.length)))];
      this.partialLen[stream] = this.partial[stream][0].length;
      this.partialDropped[stream] = true;
      return;
    }
    this.partial[stream] = [];
    this.partialLen[stream] = 0;
    this.partialDropped[stream] = false;
    this.ended[stream] = true;
    this.notify();
    let rest = at + SENTINEL_BUF.length;
    if (buf[rest] === 10) rest++;
    if (rest < buf.length) this.onData(stream, buf.subarray(rest));
  }

  private pushPartial(stream: 'stdout' | 'stderr', piece: Buffer): void {
    // Keep at most enough of a line to fill the remaining budget (plus room to recognise a sentinel at its end).
    const room = Math.max(0, this.limit - this.bytes) + SENTINEL_BUF.length + 1;
    if (this.partialLen[stream] + piece.length > room) {
      this.partialDropped[stream] = true;
      // Retain the tail so a sentinel glued to the end of a dropped line is still recognised.
      const keep = Buffer.concat([...this.partial[stream], piece]);
      const tail = keep.subarray(Math.max(0, keep.length - SENTINEL_BUF.length));
      const head = keep.subarray(0, Math.min(room, keep.length - tail.length));
      this.partial[stream] = [Buffer.from(head), Buffer.from(tail)];
      this.partialLen[stream] = head.length + tail.length;
      return;
    }
    this.partial[stream].push(Buffer.from(piece));
    this.partialLen[stream] += piece.length;
  }

  private flushPartial(stream: 'stdout' | 'stderr'): void {
    if (this.partialLen[stream] > 0) this.endLine(stream);
  }

  private endLine(stream: 'stdout' | 'stderr'): void {
    const buf = Buffer.concat(this.partial[stream]);
    const dropped = this.partialDropped[stream];
    this.partial[stream] = [];
    this.partialLen[stream] = 0;
    this.partialDropped[stream] = false;
    if (buf.length >= SENTINEL_BUF.length && buf.subarray(buf.length - SENTINEL_BUF.length).equals(SENTINEL_BUF)) {
      const before = buf.subarray(0, buf.length - SENTINEL_BUF.length);
      if (before.length > 0) this.addLine(stream, before, dropped);
      this.ended[stream] = true;
      this.notify();
      return;
    }
    this.addLine(stream, buf, dropped);
  }

  private addLine(stream: 'stdout' | 'stderr', buf: Buffer, dropped: boolean): void {
    if (this.limit <= 0) return;
    if (this.truncated) return;
    if (dropped || this.bytes + buf.length > this.limit) {
      this.truncated = true;
      this.sink?.truncated();
      return;
    }
    this.bytes += buf.length;
    const line = formatLogLine(nowNanos(), stream, buf.toString('utf8'));
    this.lines.push(line);
    this.sink?.line(this.lines.length, line);
  }
}
