// Group commit in the client: calls that arrive while a write is in flight are sent together as the next single
// statement. An idle store writes at once (no added delay); a busy one turns N commits into one. This matters most
// for statements that NOTIFY: PostgreSQL serialises the commits of notifying transactions (a global lock held
// through the WAL flush), so one NOTIFYing commit per call caps a node at one commit per fsync.

/** Runs one batch; may return one entry per item: an Error rejects that item, anything else is its result. */
export type BatchRunner<I, R> = (items: I[]) => Promise<(Error | R)[] | void>;

interface Pending<I, R> {
  item: I;
  resolve: (r: R | undefined) => void;
  reject: (err: Error) => void;
}

export class WriteCoalescer<I, R = undefined> {
  private pending: Pending<I, R>[] = [];
  private inFlight = 0;

  constructor(
    private readonly run: BatchRunner<I, R>,
    private readonly maxBatch = 200,
    private readonly maxInFlight = 1,
  ) {}

  /** Resolves (with the item's result) once its batch has committed; rejects with the batch's error or its own. */
  push(item: I): Promise<R | undefined> {
    return new Promise<R | undefined>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight++;
      this.run(batch.map((p) => p.item)).then(
        (results) => {
          batch.forEach((p, i) => {
            const r = results ? results[i] : undefined;
            if (r instanceof Error) p.reject(r);
            else p.resolve(r);
          });
        },
        (err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          for (const p of batch) p.reject(e);
        },
      ).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }
}
