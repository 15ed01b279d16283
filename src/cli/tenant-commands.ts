// `flare admin namespace limits` and `flare admin key create|list|revoke`: per-namespace limits and keys on the
// store (like `wskadmin limits` and `wskadmin user`). Servers see a change at once (Store.onTenantChanged).
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { hashKey } from '../api/auth.js';
import { newAuthKey } from '../ids.js';
import { parseAuth } from '../bootstrap.js';
import type { Store } from '../store/store.js';
import type { NamespaceLimits } from '../types.js';
import { LIMIT_FLAGS, effectiveLimits, namespaceDefaults, parseLimitFlags, type LimitFlagValues } from '../tenants/namespace-limits.js';

export interface StoreFlags {
  dataDir?: string;
  store?: string;
}

type WithStore = <T>(flags: StoreFlags, fn: (store: Store) => Promise<T>) => Promise<T>;

function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

function showLimits(limits: NamespaceLimits, overrides: Partial<NamespaceLimits>): string {
  const rows: Array<[string, string, boolean]> = (Object.keys(LIMIT_FLAGS) as Array<keyof typeof LIMIT_FLAGS>).map((k) => {
    const v = limits[k];
    return [LIMIT_FLAGS[k].slice(2), v === undefined ? 'all' : Array.isArray(v) ? v.join(',') : String(v), k in overrides];
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  const vw = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([k, v, set]) => `${k.padEnd(w)}  ${v.padEnd(vw)}  ${set ? 'set' : 'default'}`).join('\n') + '\n';
}

export function registerTenantCommands(admin: Command, ns: Command, storeOptions: (c: Command) => Command, withStore: WithStore): void {
  storeOptions(ns.command('limits <name>').description('show or set a namespace\'s limits (like wskadmin limits)'))
    .option('--invocations-per-minute <n>', 'invocations per minute')
    .option('--concurrent <n>', 'concurrent invocations (queued or running)')
    .option('--fires-per-minute <n>', 'trigger fires per minute')
    .option('--allowed-kinds <kinds>', 'comma-separated kinds its actions may have (e.g. nodejs:20,python)')
    .option('--max-memory-mb <n>', 'largest memory limit an action may ask for')
    .option('--max-timeout-ms <n>', 'largest time limit an action may ask for')
    .option('--store-activations <bool>', 'false: records keep status and timings only')
    .option('--reset', 'drop every override: back to the server defaults')
    .option('--json', 'print the effective limits as JSON')
    .action(async (name: string, opts: StoreFlags & LimitFlagValues & { concurrent?: string; reset?: boolean; json?: boolean }) => {
      // commander names the value after the flag (--concurrent → concurrent).
      const values: LimitFlagValues = { ...opts, ...(opts.concurrent !== undefined ? { concurrentInvocations: opts.concurrent } : {}) };
      const config = loadConfig({ ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.store ? { store: opts.store } : {}) });
      let changes: Partial<NamespaceLimits>;
      try {
        changes = parseLimitFlags(values, config.limits);
      } catch (err) {
        fail((err as Error).message);
      }
      const setting = Object.keys(changes).length > 0;
      if (opts.reset && setting) fail('--reset cannot be combined with limit flags');
      const row = await withStore(opts, async (store) => {
        const current = await store.getNamespace(name);
        if (!current) return undefined;
        if (opts.reset || setting) {
          const next = opts.reset ? undefined : { ...(current.limits ?? {}), ...changes };
          if (!(await store.setNamespaceLimits(name, next))) return undefined;
          return { ...current, limits: next };
        }
        return current;
      });
      if (!row) fail(`namespace '${name}' does not exist`);
      const limits = effectiveLimits(namespaceDefaults(config.limits), row.limits);
      process.stdout.write(opts.json ? `${JSON.stringify(limits, null, 2)}\n` : showLimits(limits, row.limits ?? {}));
    });

  const key = admin.command('key').description('the keys of a namespace (several may be live at once)');
  storeOptions(key.command('create <namespace>').description('add a key to a namespace and print it (uuid:key) — shown only this once'))
    .option('--auth <uuid:key>', 'use this key instead of generating one')
    .action(async (namespace: string, opts: StoreFlags & { auth?: string }) => {
      const auth = opts.auth ?? newAuthKey();
      let parsed: { uuid: string; key: string };
      try {
        parsed = parseAuth(auth);
      } catch (err) {
        fail((err as Error).message);
      }
      const created = await withStore(opts, async (store) => {
        if (!(await store.getNamespace(namespace))) fail(`namespace '${namespace}' does not exist`);
        return store.createKey(namespace, { uuid: parsed.uuid, keyHash: hashKey(parsed.key), created: Date.now() });
      });
      if (!created) fail(`key uuid '${parsed.uuid}' already exists`);
      process.stdout.write(`${auth}\n`);
    });

  storeOptions(key.command('list <namespace>').alias('ls').description('list a namespace\'s keys: uuids and creation dates, never secrets'))
    .option('--json', 'print JSON')
    .action(async (namespace: string, opts: StoreFlags & { json?: boolean }) => {
      const keys = await withStore(opts, async (store) => {
        if (!(await store.getNamespace(namespace))) fail(`namespace '${namespace}' does not exist`);
        return store.listKeys(namespace);
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(keys.map((k) => ({ uuid: k.uuid, created: new Date(k.created).toISOString(), first: k.first })), null, 2)}\n`);
        return;
      }
      for (const k of keys) process.stdout.write(`${k.uuid}\t${new Date(k.created).toISOString()}${k.first ? '\tfirst' : ''}\n`);
    });

  storeOptions(key.command('revoke <namespace> <uuid>').description('revoke a key: refused by every node at once'))
    .action(async (namespace: string, uuid: string, opts: StoreFlags) => {
      const revoked = await withStore(opts, (store) => store.revokeKey(namespace, uuid));
      if (!revoked) fail(`namespace '${namespace}' has no key '${uuid}'`);
      process.stdout.write('Key revoked\n');
    });
}
