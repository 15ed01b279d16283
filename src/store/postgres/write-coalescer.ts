// Group commit in the client: calls that arrive while a write is in flight are sent together as the next single
// statement. An idle store writes at once (no added delay); a busy one turns N commits into one. This matters most
// for statements that NOTIFY: PostgreSQL serialises the commits of notifying transactions (a global lock held
// through the WAL flush), so one NOTIFYing commit per call caps a node at one commit per fsync.

export type BatchRunner<I> = (items: I[]) => Promise<(Error | undefined)[] | void>;

interface Pending<I> {
  item: I;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class WriteCoalescer<I> {
  private pending: Pending<I>[] = [];
  private inFlight = 0;

  constructor(
    private readonly run: BatchRunner<I>,
    private readonly maxBatch = 200,
    private readonly maxInFlight = 1,
  ) {}

  /** Resolves once the item's batch has committed; rejects with the batch's error or the item's own. */
  push(item: I): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight++;
      this.run(batch.map((p) => p.item)).then(
        (errors) => {
          batch.forEach((p, i) => {
            const e = errors ? errors[i] : undefined;
            if (e) p.reject(e);
            else p.resolve();
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
