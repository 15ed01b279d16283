// Actions and packages as invokes resolve them, cached per API node (issue 12). Never stale after a write returned,
// on any node: every action/package write bumps the store's entity epoch in its own transaction, and a cached doc is
// served only if the epoch it was read at is still the current one, read by a check that *started after* the request
// came in. Concurrent requests share one check (one small query for a burst of invokes instead of a doc read each),
// so a write that returned before a request arrived is always seen by that request's check.
import type { EntityKind } from '../types.js';
import type { Store, StoredEntity } from '../store/store.js';

/** What resolveAction reads entities through: the store itself, or this cache. */
export type EntityReader = Pick<Store, 'getEntity'>;

const MAX_ENTRIES = 10_000;

export class EntityCache implements EntityReader {
  private readonly entries = new Map<string, StoredEntity<unknown>>();
  /** Requests waiting for the next epoch check (one is sent when the running one, if any, returns). */
  private waiting: Array<{ resolve: (epoch: number) => void; reject: (err: unknown) => void }> = [];
  private checking = false;
  hits = 0;
  misses = 0;

  constructor(private readonly store: Store) {}

  async getEntity<T>(namespace: string, kind: EntityKind, name: string, withCode: boolean): Promise<StoredEntity<T> | undefined> {
    // Code is never cached (GET of an action; invokes do not read it here), nor kinds other than action/package.
    if (withCode || (kind !== 'action' && kind !== 'package')) return this.store.getEntity<T>(namespace, kind, name, withCode);
    const key = `${namespace}\u0000${kind}\u0000${name}`;
    const hit = this.entries.get(key);
    if (hit) {
      const epoch = await this.currentEpoch();
      if (hit.epoch === epoch) {
        this.hits++;
        return hit as StoredEntity<T>;
      }
      this.entries.delete(key);
    }
    this.misses++;
    const found = await this.store.getEntity<T>(namespace, kind, name, false);
    if (found && found.epoch !== undefined) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, found as StoredEntity<unknown>);
    }
    return found;
  }

  /** The store's entity epoch, read by a query sent after this call (shared with the calls that arrive meanwhile). */
  private currentEpoch(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.checking) void this.check();
    });
  }

  private async check(): Promise<void> {
    this.checking = true;
    while (this.waiting.length) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        const epoch = await this.store.entityEpoch();
        for (const w of batch) w.resolve(epoch);
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.checking = false;
  }
}
