// The invoker's side of cancel: which activations run on this node, and an AbortSignal each that fires when the store
// reports a cancel for it (in-process, or a NOTIFY from the API node that took the request).
import type { Store } from '../store/store.js';
import type { CancelRequest } from '../types.js';

export interface RunCancel {
  readonly signal: AbortSignal;
  /** The cancel that aborted the signal, once it did. */
  readonly cancel: CancelRequest | undefined;
  /** The run is over: stop tracking it. */
  done(): void;
}

/** A cancel heard before its run was registered (a NOTIFY overtaking the claim's reply) is kept this long. */
const EARLY_KEEP_MS = 60_000;
const EARLY_MAX = 10_000;

export class RunCancels {
  private readonly runs = new Map<string, { controller: AbortController; cancel?: CancelRequest }>();
  private readonly early = new Map<string, { cancel: CancelRequest; at: number }>();
  private readonly unsubscribe: () => void;

  constructor(store: Store) {
    this.unsubscribe = store.onCancelRequested((id, cancel) => this.requested(id, cancel));
  }

  track(activationId: string): RunCancel {
    const entry: { controller: AbortController; cancel?: CancelRequest } = { controller: new AbortController() };
    this.runs.set(activationId, entry);
    const early = this.early.get(activationId);
    if (early) {
      this.early.delete(activationId);
      entry.cancel = early.cancel;
      entry.controller.abort();
    }
    return {
      signal: entry.controller.signal,
      get cancel() {
        return entry.cancel;
      },
      done: () => {
        if (this.runs.get(activationId) === entry) this.runs.delete(activationId);
      },
    };
  }

  private requested(activationId: string, cancel: CancelRequest): void {
    const run = this.runs.get(activationId);
    if (run) {
      if (!run.cancel) {
        run.cancel = cancel;
        run.controller.abort();
      }
      return;
    }
    // Every invoker hears every cancel: most are for other nodes' runs. Keep it briefly in case ours is about to start.
    const now = Date.now();
    if (this.early.size >= EARLY_MAX) {
      for (const [id, e] of this.early) if (now - e.at > EARLY_KEEP_MS || this.early.size >= EARLY_MAX) this.early.delete(id);
    }
    this.early.set(activationId, { cancel, at: now });
  }

  close(): void {
    this.unsubscribe();
    this.early.clear();
  }
}
