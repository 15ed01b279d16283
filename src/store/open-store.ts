// Picks the Store adapter from the configuration: embedded SQLite (default) or a postgres:// URL.
import { join } from 'node:path';
import type { Store } from './store.js';

export async function openStore(store: string, dataDir: string): Promise<{ store: Store; description: string }> {
  if (store === 'sqlite' || store === '' || store.startsWith('sqlite:')) {
    const { openSqliteStore } = await import('./sqlite/sqlite-store.js');
    const path = store.startsWith('sqlite:') ? store.slice('sqlite:'.length) : join(dataDir, 'flare.db');
    return { store: await openSqliteStore(path), description: `sqlite ${path}` };
  }
  if (/^postgres(ql)?:\/\//.test(store)) {
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    const u = new URL(store);
    if (u.password) u.password = '***';
    return { store: await openPostgresStore(store), description: `postgres ${u.host}${u.pathname}${u.search}` };
  }
  throw new Error(`unknown store '${store}': use sqlite or a postgres:// URL`);
}
