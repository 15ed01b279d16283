// The first namespace and its key (like OpenWhisk standalone's guest key). Idempotent: a restart, or a second node
// on the same store, finds the same namespace; a generated key is shown again from the data dir's auth file.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Store } from './store/store.js';
import { hashKey } from './api/auth.js';
import { newAuthKey } from './ids.js';

export interface Bootstrap {
  namespace: string;
  /** "uuid:key", when this node knows it. */
  auth?: string;
  notice?: string;
}

export function parseAuth(auth: string): { uuid: string; key: string } {
  const i = auth.indexOf(':');
  if (i <= 0 || i === auth.length - 1) throw new Error(`invalid auth '${auth}': expected uuid:key`);
  return { uuid: auth.slice(0, i), key: auth.slice(i + 1) };
}

export async function bootstrapNamespace(store: Store, dataDir: string, namespace?: string, auth?: string): Promise<Bootstrap> {
  const authFile = join(dataDir, 'bootstrap-auth');
  if (namespace && auth) {
    const { uuid, key } = parseAuth(auth);
    await store.createNamespace({ name: namespace, uuid, keyHash: hashKey(key), subject: namespace, created: Date.now() });
    const row = await store.getNamespace(namespace);
    if (row && (row.uuid !== uuid || row.keyHash !== hashKey(key))) {
      return { namespace, notice: `warning: namespace ${namespace} already exists with another key; FLARE_BOOTSTRAP_AUTH was not applied` };
    }
    return { namespace, auth };
  }
  const name = await store.putSettingIfAbsent('bootstrap.namespace', namespace ?? `fn-${randomUUID()}`);
  const existing = await store.getNamespace(name);
  if (existing) {
    const saved = existsSync(authFile) ? readFileSync(authFile, 'utf8').trim() : undefined;
    if (saved && saved.startsWith(`${existing.uuid}:`)) return { namespace: name, auth: saved };
    return { namespace: name };
  }
  const generated = auth ?? newAuthKey();
  const { uuid, key } = parseAuth(generated);
  const created = await store.createNamespace({ name, uuid, keyHash: hashKey(key), subject: name, created: Date.now() });
  if (!created) return { namespace: name };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(authFile, `${generated}\n`, { mode: 0o600 });
  return { namespace: name, auth: generated };
}
