// Authentication: Basic base64(uuid:key), or the bare base64 token (the seed's copied curl sends that).
// Keys are stored as sha256 hashes; verified identities are cached briefly so the hot path does no store read.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { Identity, NamespaceLimits, NamespaceRow } from '../types.js';
import { unauthorized } from './errors.js';
import { effectiveLimits } from '../tenants/namespace-limits.js';

// Changes to keys and limits drop the cache at once (Store.onTenantChanged); the TTL bounds a missed notification.
const CACHE_TTL_MS = 4_000;
const CACHE_MAX = 10_000;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function identityOf(row: NamespaceRow, authKey: string, defaults: NamespaceLimits): Identity {
  return {
    subject: row.subject,
    namespace: row.name,
    uuid: row.uuid,
    authKey,
    limits: effectiveLimits(defaults, row.limits),
  };
}

export class Authenticator {
  private readonly cache = new Map<string, { identity: Identity; expires: number }>();
  /** Bumped when keys or limits change: a verification that began before is not cached. */
  private generation = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    readonly defaults: NamespaceLimits,
  ) {
    this.unsubscribe = store.onTenantChanged(() => {
      this.generation++;
      this.cache.clear();
    });
  }

  close(): void {
    this.unsubscribe();
  }

  /** Resolves the Authorization header to an identity, or throws a 401 ApiError. */
  async authenticate(header: string | undefined): Promise<Identity> {
    if (!header) throw unauthorized(true);
    const now = Date.now();
    const hit = this.cache.get(header);
    if (hit && hit.expires > now) return hit.identity;
    const generation = this.generation;
    const identity = await this.verify(header);
    if (!identity) throw unauthorized(false);
    if (generation !== this.generation) return identity;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(header, { identity, expires: now + CACHE_TTL_MS });
    return identity;
  }

  /** Like authenticate, but returns undefined instead of throwing (web actions: optional auth). */
  async tryAuthenticate(header: string | undefined): Promise<Identity | undefined> {
    try {
      return header ? await this.authenticate(header) : undefined;
    } catch {
      return undefined;
    }
  }

  private async verify(header: string): Promise<Identity | undefined> {
    const m = /^\s*(?:Basic\s+)?([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    const uuid = decoded.slice(0, colon);
    const key = decoded.slice(colon + 1);
    const row = await this.store.getNamespaceByKey(uuid);
    if (!row) return undefined;
    const expected = Buffer.from(row.keyHash, 'hex');
    const actual = Buffer.from(hashKey(key), 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
    return identityOf(row, decoded, this.defaults);
  }
}
