// `flare undeploy`: deletes named functions or packages, or everything with --all (doctl-cli.md §1.3).
import { ApiClient } from '../api-client.js';
import { CliError } from '../errors.js';
import { resolveConnection } from './connection.js';
import { deleteTrigger, listTriggers, type TriggerJson } from './triggers.js';

export interface UndeployFlags {
  packages?: boolean;
  all?: boolean;
  triggers?: boolean;
  force?: boolean;
  apihost?: string;
  auth?: string;
}

const enc = (name: string): string => name.split('/').map(encodeURIComponent).join('/');

type Summary = { name: string; namespace: string };

async function listAll(client: ApiClient, collection: 'actions' | 'packages'): Promise<Summary[]> {
  const res = await client.request<Summary[]>('GET', collection, { query: { limit: 200, skip: 0 } });
  return Array.isArray(res.body) ? res.body : [];
}

/** Returns the success line; throws CliError on any failure. */
export async function undeploy(names: string[], flags: UndeployFlags, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (flags.all && names.length) throw new CliError('command line arguments and the `--all` flag are mutually exclusive');
  if (!flags.all && !names.length) throw new CliError('either command line arguments or `--all` must be specified');
  if (flags.packages && flags.triggers) throw new CliError('the `--packages` and `--triggers` flags are mutually exclusive');
  const conn = await resolveConnection({ apihost: flags.apihost, auth: flags.auth }, env);
  const client = new ApiClient(conn);
  const errors: string[] = [];
  const attempt = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  };
  if (flags.all) {
    // Triggers first, then functions (first 200), then packages.
    for (const t of await listTriggers(client)) await attempt(() => deleteTrigger(client, t.name));
    for (const a of await listAll(client, 'actions')) {
      const pkg = a.namespace.includes('/') ? a.namespace.slice(a.namespace.indexOf('/') + 1) : '';
      await attempt(() => client.request('DELETE', `actions/${enc(pkg ? `${pkg}/${a.name}` : a.name)}`));
    }
    for (const p of await listAll(client, 'packages')) {
      await attempt(() => client.request('DELETE', `packages/${enc(p.name)}`, { query: { force: true } }));
    }
  } else if (flags.triggers) {
    for (const n of names) await attempt(() => deleteTrigger(client, n));
  } else {
    // Deleting a function also deletes its triggers (a package: the triggers of its functions).
    let triggers: TriggerJson[] = [];
    await attempt(async () => (triggers = await listTriggers(client)));
    const dropTriggers = async (match: (fn: string) => boolean) => {
      for (const t of triggers.filter((x) => match(x.function))) await attempt(() => deleteTrigger(client, t.name));
    };
    for (const n of names) {
      // With -p a bare name is a package; `pkg/fn` is always a function.
      if (flags.packages && !n.includes('/')) {
        await attempt(() => client.request('DELETE', `packages/${enc(n)}`, { query: { force: true } }));
        await dropTriggers((fn) => fn.startsWith(`${n}/`));
      } else {
        await attempt(() => client.request('DELETE', `actions/${enc(n)}`));
        await dropTriggers((fn) => fn === n.replace(/^\/+/, ''));
      }
    }
  }
  if (errors.length === 1) throw new CliError(errors[0]!);
  if (errors.length > 1) throw new CliError(`there were ${errors.length} errors detected, e.g.: ${errors[0]}`);
  return flags.all ? '✔ All resources in the namespace have been undeployed.' : '✔ The requested resources have been undeployed.';
}
