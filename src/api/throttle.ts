// Per-namespace throttles (D5): invocations per minute (1-minute windows, in memory per API node, as OpenWhisk's
// controller) and concurrent invocations (queued or running, counted in the store so all nodes agree).
import type { Store } from '../store/store.js';
import type { Identity } from '../types.js';
import { ApiError, Messages } from './errors.js';

export class Throttle {
  private window = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly store: Store) {}

  async check(identity: Identity): Promise<void> {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.window) {
      this.window = minute;
      this.counts.clear();
    }
    const ns = identity.namespace;
    const n = (this.counts.get(ns) ?? 0) + 1;
    const perMinute = identity.limits.invocationsPerMinute;
    if (n > perMinute) throw new ApiError(429, Messages.perMinute(n, perMinute));
    const concurrent = identity.limits.concurrentInvocations;
    const inFlight = await this.store.countInFlight(ns, concurrent);
    if (inFlight >= concurrent) throw new ApiError(429, Messages.concurrent(inFlight + 1, concurrent));
    this.counts.set(ns, n);
  }
}
