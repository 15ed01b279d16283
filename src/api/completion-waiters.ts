// Blocking invokes wait here for their record. Completions arrive from the store's notifications (in-process for
// SQLite, LISTEN/NOTIFY across nodes for PostgreSQL); a slow poll covers a lost notification.
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
  private readonly pending = new Map<string, (id: string, record?: ActivationRecord) => void>();
  private readonly unsubscribe: () => void;

  constructor(private readonly store: Store) {
    this.unsubscribe = store.onCompleted((id, record) => this.pending.get(id)?.(id, record));
  }

  /** Register before the invocation is enqueued so a fast completion cannot be missed. */
  register(namespace: string, activationId: string): Waiter {
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
    this.pending.set(activationId, onDone);
    const unregister = () => {
      if (this.pending.get(activationId) === onDone) this.pending.delete(activationId);
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
          if (ms > SLOW_POLL_MS) {
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
