// `connect`, `status` and `namespaces list`: the stored connections (doctl-cli.md §6, §1.6).
import type { Command } from 'commander';
import { Option } from 'commander';
import { ApiClient, ApiError } from './api-client.js';
import { checkArgs, withArgs } from './command-helpers.js';
import {
  addConnection,
  credentialsPath,
  listConnections,
  readCredentialsFile,
  type Connection,
} from './credentials.js';
import { CliError, NOT_CONNECTED, UsageError } from './errors.js';
import { renderColumns, jsonText, type Column } from './format.js';
import { addGlobalFlags, isJson, out, type GlobalOpts } from './output.js';
import { flareVersion } from './version.js';

const LANGUAGE_KEYWORDS: Record<string, string[]> = {
  nodejs: ['javascript', 'js', 'typescript', 'ts'],
  python: ['python', 'py'],
  go: ['go', 'golang'],
  deno: ['deno'],
  java: ['java'],
  php: ['php'],
  ruby: ['ruby'],
  rust: ['rust'],
  swift: ['swift'],
  dotnet: ['csharp', 'cs'],
};

/** GET /api/v1/namespaces with the given auth; the answer must be exactly one namespace. */
export async function validateConnection(apihost: string, auth: string): Promise<string> {
  const client = new ApiClient({ apihost, namespace: '_', auth });
  const res = await client.request<unknown>('GET', '/api/v1/namespaces');
  const body = res.body;
  if (!Array.isArray(body) || body.length !== 1 || typeof body[0] !== 'string') {
    throw new CliError('unexpected response when validating apihost and auth');
  }
  return body[0];
}

function connectedText(ns: string, host: string, label?: string): string {
  return `Connected to functions namespace '${ns}' on API host '${host}'${label ? ` (label=${label})` : ''}\n\n`;
}

function normalizeHost(host: string): string {
  let h = host.trim().replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(h)) h = `https://${h}`;
  return h;
}

/** Finds a stored connection by namespace or label: exact match first, then a unique substring. */
export function matchConnection(conns: Connection[], hint: string): Connection[] {
  const exact = conns.filter((c) => c.namespace === hint || (c.label && c.label === hint));
  if (exact.length > 0) return exact;
  return conns.filter((c) => c.namespace.includes(hint) || (c.label ? c.label.includes(hint) : false));
}

export function registerConnectCommands(program: Command): void {
  const connect = withArgs(program.command('connect'), '[<namespace or label>] [flags]')
    .description('Connects local serverless support to a functions namespace')
    .option('--apihost <url>', 'API host of the functions namespace')
    .option('--auth <uuid:key>', 'OpenWhisk auth key of the functions namespace');
  addGlobalFlags(connect).action(async (args: string[], opts: { apihost?: string; auth?: string }) => {
    if (opts.apihost !== undefined || opts.auth !== undefined) {
      if (!opts.apihost || !opts.auth) {
        throw new CliError("If either of 'apihost' or 'auth' is specified then both must be specified");
      }
      checkArgs('connect', args, 0, 0);
      const host = normalizeHost(opts.apihost);
      const ns = await validateConnection(host, opts.auth);
      addConnection({ apihost: host, namespace: ns, auth: opts.auth }, true);
      out(connectedText(ns, host));
      return;
    }
    if (args.length === 0) throw new UsageError('(connect) specify a namespace or label, or --apihost and --auth');
    checkArgs('connect', args, 1, 1);
    const hint = args[0]!;
    const matches = matchConnection(listConnections(), hint);
    if (matches.length === 0) {
      throw new CliError(
        `no namespace matching '${hint}' in the credentials file (use 'flare connect --apihost URL --auth KEY' to add one)`,
      );
    }
    if (matches.length > 1) {
      for (const m of matches) out(`${m.namespace}${m.label ? ` (label=${m.label})` : ''} on ${m.apihost}\n`);
      throw new CliError(`'${hint}' matches more than one namespace; use the full namespace or label`);
    }
    const conn = matches[0]!;
    const ns = await validateConnection(conn.apihost, conn.auth);
    if (ns !== conn.namespace) throw new CliError('unexpected response when validating apihost and auth');
    addConnection(conn, true);
    out(connectedText(conn.namespace, conn.apihost, conn.label));
  });

  const status = withArgs(program.command('status'), '[flags]')
    .description('Provide information about serverless support')
    .option('-l, --languages', 'show available languages (if connected to the cloud)')
    .option('--version', 'just show the version, don\'t check status')
    .addOption(new Option('--credentials', 'show the current credentials').hideHelp());
  addGlobalFlags(status).action(async (args: string[], opts: { languages?: boolean; version?: boolean; credentials?: boolean }) => {
    checkArgs('status', args, 0, 0);
    if (opts.version) {
      out(`${flareVersion()}\n`);
      return;
    }
    const file = readCredentialsFile();
    const host = file?.currentHost;
    const ns = file?.currentNamespace;
    const auth = host && ns ? file?.credentials[host]?.[ns]?.api_key : undefined;
    if (!host || !ns || typeof auth !== 'string') throw new CliError(NOT_CONNECTED);
    if (opts.credentials) {
      out(jsonText({ Auth: auth, APIHost: host, Namespace: ns, Path: credentialsPath() }));
      return;
    }
    let actual: string;
    try {
      actual = await validateConnection(host, auth);
    } catch (err) {
      if (err instanceof ApiError || err instanceof CliError) throw new CliError(NOT_CONNECTED);
      throw err;
    }
    if (actual !== ns) throw new CliError(NOT_CONNECTED);
    let text = `Connected to functions namespace '${ns}' on API host '${host}'\nServerless software version is ${flareVersion()}\n\n`;
    if (opts.languages) {
      const info = await new ApiClient({ apihost: host, namespace: ns, auth }).request<{ runtimes?: Record<string, unknown> }>('GET', '/api/v1');
      text += languagesText(info.body?.runtimes ?? {});
    }
    out(text);
  });

  const namespaces = program
    .command('namespaces')
    .aliases(['namespace', 'ns'])
    .description('Lists the functions namespaces you are connected to');
  const list = withArgs(namespaces.command('list').alias('ls'), '[flags]').description('Lists the namespaces in the credentials file');
  addGlobalFlags(list).action(async (args: string[], opts: GlobalOpts) => {
    checkArgs('namespaces.list', args, 0, 0);
    const file = readCredentialsFile();
    const conns = listConnections();
    const isCurrent = (c: Connection) => c.apihost === file?.currentHost && c.namespace === file?.currentNamespace;
    if (isJson(opts)) {
      out(
        jsonText(
          conns.map((c) => ({ namespace: c.namespace, api_host: c.apihost, label: c.label ?? '', region: '', current: isCurrent(c) })),
        ),
      );
      return;
    }
    const columns: Column<Connection>[] = [
      { key: 'Label', header: 'Label', value: (c) => c.label ?? '' },
      { key: 'Region', header: 'Region', value: () => '' },
      { key: 'ID', header: 'Namespace ID', value: (c) => c.namespace },
      { key: 'Host', header: 'API Host', value: (c) => c.apihost },
      { key: 'Current', header: 'Current', value: (c) => (isCurrent(c) ? '*' : '') },
    ];
    out(renderColumns(conns, columns, opts.format, opts.header !== false));
  });
}

/** The `status --languages` block (§6.3). */
export function languagesText(runtimes: Record<string, unknown>): string {
  let text = 'Supported Languages:\n';
  for (const [lang, kinds] of Object.entries(runtimes)) {
    text += `${lang}:\n`;
    text += `  Keywords: ${(LANGUAGE_KEYWORDS[lang] ?? [lang]).join(', ')}\n`;
    text += '  Runtime versions:\n';
    for (const k of Array.isArray(kinds) ? kinds : []) {
      const kind = k as { kind?: string; default?: boolean; deprecated?: boolean };
      const suffix = kind.deprecated ? ' (deprecated)' : kind.default ? ` (${lang}:default)` : '';
      text += `    ${kind.kind}${suffix}\n`;
    }
  }
  return text;
}
