// Batches finished records into one store transaction per tick; a failed write is retried, never dropped, so every
// claimed invocation ends with a record.
import type { Store } from '../store/store.js';
import type { ActivationRecord } from '../types.js';

export class RecordWriter {
  private batch: ActivationRecord[] = [];
  private scheduled = false;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown, records: ActivationRecord[]) => void,
    private readonly maxBatch = 500,
    /** Starts a latency timer for one batch commit (metrics); returns its stop. */
    private readonly timeCommit?: () => () => void,
  ) {}

  write(record: ActivationRecord): void {
    this.batch.push(record);
    if (this.batch.length >= this.maxBatch) this.flushNow();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushNow());
    }
  }

  private flushNow(): void {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    const records = this.batch;
    this.batch = [];
    this.inFlight = this.inFlight.then(() => this.commit(records));
  }

  private async commit(records: ActivationRecord[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const done = this.timeCommit?.();
        await this.store.complete(records);
        done?.();
        return;
      } catch (err) {
        this.onError(err, records);
        await new Promise((r) => setTimeout(r, Math.min(5_000, 50 * 2 ** attempt)));
      }
    }
  }

  /** Resolves once everything written so far is committed. */
  async drain(): Promise<void> {
    this.flushNow();
    await this.inFlight;
  }
}
