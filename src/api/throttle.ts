// Per-namespace throttles (D5): invocations per minute (1-minute windows, in memory per API node, as OpenWhisk's
// controller) and concurrent invocations (queued or running, counted in the store so all nodes agree).
//
// Admission is exact on a node: a request reserves its place before it reads the store's count, and the count is
// topped up by the earlier reservations the store could not have seen yet (not committed when the count began), so
// of two requests between their check and their enqueue the later one always sees the earlier. Near the limit this
// errs on the side of refusing, never on exceeding.
import type { Store } from '../store/store.js';
import type { Identity } from '../types.js';
import { ApiError, Messages } from './errors.js';

export interface ThrottleLimits {
  invocationsPerMinute: number;
  concurrentInvocations: number;
}

/** A place held between the check and the enqueue: `committed()` once enqueued, `release()` if not. */
export interface Admission {
  committed(): void;
  release(): void;
}

interface Reservation {
  /** The commit sequence number when its enqueue committed (then the store counts it). */
  committedAt?: number;
}

export class Throttle {
  private window = 0;
  private readonly counts = new Map<string, number>();
  private readonly reserved = new Map<string, Set<Reservation>>();
  private commitSeq = 0;
  /** Start sequence numbers of the counts now being read (a committed reservation is kept while one predates it). */
  private readonly reading = new Map<number, number>();

  constructor(private readonly store: Store) {}

  /** The one place limits are looked up (per-namespace values plug in here). */
  limitsOf(identity: Identity): ThrottleLimits {
    return identity.limits;
  }

  async check(identity: Identity): Promise<Admission> {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.window) {
      this.window = minute;
      this.counts.clear();
    }
    const ns = identity.namespace;
    const { invocationsPerMinute: perMinute, concurrentInvocations: concurrent } = this.limitsOf(identity);
    const n = (this.counts.get(ns) ?? 0) + 1;
    if (n > perMinute) throw new ApiError(429, Messages.perMinute(n, perMinute));
    // Counted now, before any await, so concurrent checks see each other.
    this.counts.set(ns, n);
    const window = minute;
    const unCount = () => {
      if (this.window === window) this.counts.set(ns, Math.max(0, (this.counts.get(ns) ?? 1) - 1));
    };

    let set = this.reserved.get(ns);
    if (!set) this.reserved.set(ns, (set = new Set()));
    const mine: Reservation = {};
    set.add(mine);
    const start = this.commitSeq;
    this.reading.set(start, (this.reading.get(start) ?? 0) + 1);
    let inFlight: number;
    try {
      inFlight = await this.store.countInFlight(ns, concurrent + set.size);
    } catch (err) {
      set.delete(mine);
      unCount();
      throw err;
    } finally {
      const left = this.reading.get(start)! - 1;
      if (left) this.reading.set(start, left);
      else this.reading.delete(start);
    }
    // Only places taken before mine (a Set iterates in insertion order): of two requests the later one yields.
    let unseen = 0;
    for (const r of set) {
      if (r === mine) break;
      if (r.committedAt === undefined || r.committedAt > start) unseen++;
    }
    if (inFlight + unseen >= concurrent) {
      set.delete(mine);
      unCount();
      this.prune(ns);
      throw new ApiError(429, Messages.concurrent(Math.min(inFlight + unseen, concurrent) + 1, concurrent));
    }
    return {
      committed: () => {
        mine.committedAt = ++this.commitSeq;
        this.prune(ns);
      },
      release: () => {
        set.delete(mine);
        unCount();
        this.prune(ns);
      },
    };
  }

  /** Drops reservations every count now being read (and every later one) sees in the store. */
  private prune(ns: string): void {
    const set = this.reserved.get(ns);
    if (!set) return;
    let oldest = Infinity;
    for (const s of this.reading.keys()) if (s < oldest) oldest = s;
    for (const r of set) if (r.committedAt !== undefined && r.committedAt <= oldest) set.delete(r);
    if (set.size === 0) this.reserved.delete(ns);
  }
}
