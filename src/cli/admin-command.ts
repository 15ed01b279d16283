// `flare admin namespace create|list|delete|webhook-secret`: namespace and key management on the store, like `wskadmin user`.
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openStore } from '../store/open-store.js';
import { hashKey } from '../api/auth.js';
import { newAuthKey } from '../ids.js';
import { parseAuth } from '../bootstrap.js';
import { isValidName } from '../api/entity-names.js';
import type { Store } from '../store/store.js';
import { registerTenantCommands } from './tenant-commands.js';
import { backupSqlite } from '../ops/sqlite-backup.js';
import { join } from 'node:path';
import { rotateWebhookSecret, webhookSecrets } from '../deliveries/webhook-secrets.js';

interface StoreFlags {
  dataDir?: string;
  store?: string;
}

async function withStore<T>(flags: StoreFlags, fn: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig({ ...(flags.dataDir ? { dataDir: flags.dataDir } : {}), ...(flags.store ? { store: flags.store } : {}) });
  const { store } = await openStore(config.store, config.dataDir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('administer namespaces and keys on the store (like wskadmin)');
  const ns = admin.command('namespace').alias('ns').description('namespaces and their auth keys');
  const storeOptions = (c: Command) =>
    c.option('--data-dir <dir>', 'data directory (FLARE_DATA_DIR, default ./.flare)').option('--store <store>', 'sqlite or a postgres:// URL (FLARE_STORE)');

  storeOptions(admin.command('backup <file>').description('online backup of the SQLite store to a new file (safe while the server runs)'))
    .action(async (file: string, opts: StoreFlags) => {
      const config = loadConfig({ ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.store ? { store: opts.store } : {}) });
      if (config.store.startsWith('postgres')) fail('the store is PostgreSQL: back it up with pg_dump (see docs/deploy.md)');
      const source = config.store.startsWith('sqlite:') ? config.store.slice('sqlite:'.length) : join(config.dataDir, 'flare.db');
      try {
        const r = await backupSqlite(source, file);
        process.stdout.write(`Backed up ${r.source} to ${r.target}: ${r.pages} pages, ${r.activations} activation records, ${r.queued} invocations in flight (copy checked)\n`);
      } catch (err) {
        fail((err as Error).message);
      }
    });

  storeOptions(ns.command('create <name>').description('create a namespace and print its key (uuid:key)'))
    .option('--auth <uuid:key>', 'use this key instead of generating one')
    .option('--subject <subject>', 'the subject recorded on activations (default: the namespace name)')
    .action(async (name: string, opts: StoreFlags & { auth?: string; subject?: string }) => {
      if (!isValidName(name)) fail(`'${name}' is not a valid namespace name`);
      const auth = opts.auth ?? newAuthKey();
      let parsed;
      try {
        parsed = parseAuth(auth);
      } catch (err) {
        fail((err as Error).message);
      }
      const created = await withStore(opts, (store) =>
        store.createNamespace({ name, uuid: parsed.uuid, keyHash: hashKey(parsed.key), subject: opts.subject ?? name, created: Date.now() }),
      );
      if (!created) fail(`namespace '${name}' or key uuid '${parsed.uuid}' already exists`);
      process.stdout.write(`${auth}\n`);
    });

  storeOptions(ns.command('list').alias('ls').description('list namespaces'))
    .action(async (opts: StoreFlags) => {
      const rows = await withStore(opts, (store) => store.listNamespaces());
      for (const r of rows) process.stdout.write(`${r.name}\t${r.uuid}\n`);
    });

  registerTenantCommands(admin, ns, storeOptions, withStore);
  storeOptions(ns.command('webhook-secret <name>').description("show the namespace's completion-callback signing secret (whsec_…); --rotate makes a new one (the old one still signs for 24 h)"))
    .option('--rotate', 'replace the secret; both sign callbacks for the next 24 h')
    .action(async (name: string, opts: StoreFlags & { rotate?: boolean }) => {
      const out = await withStore(opts, async (store) => {
        if (!(await store.getNamespace(name))) return undefined;
        return opts.rotate ? rotateWebhookSecret(store, name) : webhookSecrets(store, name);
      });
      if (!out) fail(`namespace '${name}' does not exist`);
      process.stdout.write(`${out.current}\n`);
      if (out.previous && (out.previousUntil ?? 0) > Date.now()) {
        process.stdout.write(`previous: ${out.previous} (also signs until ${new Date(out.previousUntil!).toISOString()})\n`);
      }
    });

  storeOptions(ns.command('delete <name>').alias('rm').description('delete a namespace, its key and its functions'))
    .action(async (name: string, opts: StoreFlags) => {
      const deleted = await withStore(opts, (store) => store.deleteNamespace(name));
      if (!deleted) fail(`namespace '${name}' does not exist`);
      process.stdout.write(`Namespace deleted\n`);
    });
}
