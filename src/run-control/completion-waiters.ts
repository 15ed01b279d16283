// Blocking invokes, sequences and run control's `?wait` park here until a record commits. Completions arrive from the
// store's notifications (in-process for SQLite, LISTEN/NOTIFY across nodes for PostgreSQL). Blocking invokes add a
// slow poll that covers a lost notification; run-control waits do not poll (they re-read once when they expire).
import type { Store } from '../store/store.js';
import type { ActivationRecord } from '../types.js';

const SLOW_POLL_MS = 1_000;

export interface Waiter {
  /** Resolves with the record, or undefined when `ms` elapse first. */
  wait(ms: number): Promise<ActivationRecord | undefined>;
  /** Stops listening; a wait in progress resolves with undefined at once (its timers are cleared). */
  cancel(): void;
}

export class CompletionWaiters {
  /** Several callers may wait for one id (a blocking invoke and any number of `?wait` readers). */
  private readonly pending = new Map<string, Set<(id: string, record?: ActivationRecord) => void>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly store: Store) {
    this.unsubscribe = store.onCompleted((id, record) => {
      const set = this.pending.get(id);
      if (set) for (const fn of [...set]) fn(id, record);
    });
  }

  /** How many waiters are parked (bench and metrics). */
  get size(): number {
    let n = 0;
    for (const s of this.pending.values()) n += s.size;
    return n;
  }

  /**
   * Register before the invocation is enqueued so a fast completion cannot be missed. `slowPoll: false` waits on
   * notifications alone (run control's waits, which must not poll the store per waiter).
   */
  register(namespace: string, activationId: string, opts: { slowPoll?: boolean } = {}): Waiter {
    const slowPoll = opts.slowPoll ?? true;
    let settle: ((r: ActivationRecord | undefined) => void) | undefined;
    let early: { record?: ActivationRecord } | undefined;
    const onDone = (id: string, record?: ActivationRecord) => {
      if (settle) {
        const s = settle;
        settle = undefined;
        if (record) s(record);
        else void this.store.getActivation(namespace, id).then(s, () => s(undefined));
      } else early = { ...(record ? { record } : {}) };
    };
    let set = this.pending.get(activationId);
    if (!set) this.pending.set(activationId, (set = new Set()));
    set.add(onDone);
    const unregister = () => {
      const s = this.pending.get(activationId);
      if (s?.delete(onDone) && s.size === 0) this.pending.delete(activationId);
    };
    let stopWait: (() => void) | undefined;
    const cancel = () => {
      unregister();
      stopWait?.();
    };
    return {
      wait: (ms: number) =>
        new Promise<ActivationRecord | undefined>((resolve) => {
          const timers: NodeJS.Timeout[] = [];
          const finish = (r: ActivationRecord | undefined) => {
            for (const t of timers) clearTimeout(t), clearInterval(t);
            stopWait = undefined;
            unregister();
            resolve(r);
          };
          settle = finish;
          stopWait = () => {
            settle = undefined;
            finish(undefined);
          };
          if (early) {
            const e = early;
            early = undefined;
            onDone(activationId, e.record);
            return;
          }
          timers.push(setTimeout(() => {
            settle = undefined;
            finish(undefined);
          }, ms));
          if (slowPoll && ms > SLOW_POLL_MS) {
            timers.push(
              setInterval(() => {
                void this.store.getActivation(namespace, activationId).then((r) => {
                  if (r && settle) {
                    settle = undefined;
                    finish(r);
                  }
                });
              }, SLOW_POLL_MS),
            );
          }
        }),
      cancel,
    };
  }

  close(): void {
    this.unsubscribe();
    this.pending.clear();
  }
}
