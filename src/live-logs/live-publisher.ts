// Publishes the lines and progress of one running activation for followers (§4.5). Nothing is written for a run that
// ends within `firstFlushMs` (the hot path of short activations pays no store write); after that, what arrived is
// written in batches every `batchMs`, each batch one store statement that also wakes followers (NOTIFY on PostgreSQL).
// The record, once committed, holds every line with the same sequence numbers, and its commit deletes the live copy.
import type { Store } from '../store/store.js';
import type { RunObserver } from '../runtime/runtime.js';

export interface LivePublisherOptions {
  store: Store;
  namespace: string;
  activationId: string;
  /** No write before the run is this old (ms). */
  firstFlushMs?: number;
  /** Batching window after that (ms). */
  batchMs?: number;
  onError?: (err: unknown) => void;
}

export class LivePublisher implements RunObserver {
  private readonly started = Date.now();
  private pending: string[] = [];
  private firstSeq = 1;
  private pendingProgress: string | undefined;
  private pendingTruncated = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly o: LivePublisherOptions) {}

  line(seq: number, line: string): void {
    if (this.closed) return;
    if (this.pending.length === 0) this.firstSeq = seq;
    this.pending.push(line);
    this.schedule();
  }

  truncated(): void {
    if (this.closed) return;
    this.pendingTruncated = true;
    this.schedule();
  }

  progress(json: string): void {
    if (this.closed) return;
    try {
      JSON.parse(json); // a rogue runner's garbage is dropped here, never stored
    } catch {
      return;
    }
    this.pendingProgress = json;
    this.schedule();
  }

  /** Stops publishing and waits for a write in progress, so the record's commit deletes every live row. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
  }

  private schedule(): void {
    if (this.timer || this.flushing) return;
    const wait = Math.max(this.o.batchMs ?? 50, this.started + (this.o.firstFlushMs ?? 100) - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
    this.timer.unref?.();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.closed) return;
    const batch = { firstSeq: this.firstSeq, lines: this.pending } as Parameters<Store['appendLiveLogs']>[2];
    if (this.pendingProgress !== undefined) batch.progress = this.pendingProgress;
    if (this.pendingTruncated) batch.truncated = true;
    this.pending = [];
    this.pendingProgress = undefined;
    this.pendingTruncated = false;
    this.flushing = this.o.store
      .appendLiveLogs(this.o.namespace, this.o.activationId, batch)
      .catch((err) => this.o.onError?.(err))
      .finally(() => {
        this.flushing = undefined;
        if (!this.closed && (this.pending.length > 0 || this.pendingProgress !== undefined || this.pendingTruncated)) this.schedule();
      });
  }
}
