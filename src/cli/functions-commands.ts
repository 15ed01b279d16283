// `functions list|get|invoke` (doctl-cli.md §1.4, §2.2, §2.5) and `create|update|delete` (wsk's `action create` habit).
import { formatIdempotencyKey } from '../idempotency/idempotency-key.js';
import { followActivation } from '../live-logs/follow-client.js';
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { ApiClient } from './api-client.js';
import { ApiError } from './api-client.js';
import { checkArgs, collect, connectedClient, intFlag, withArgs } from './command-helpers.js';
import { CliError } from './errors.js';
import {
  actionFullName,
  actionPath,
  actionView,
  annotation,
  jsonText,
  parseParams,
  renderColumns,
  shortDate,
  sortKeysDeep,
  type Column,
} from './format.js';
import { addGlobalFlags, isJson, out, type GlobalOpts } from './output.js';
import { startSpinner } from './spinner.js';

interface ActionSummary {
  namespace?: string;
  name?: string;
  version?: string;
  updated?: number;
  annotations?: unknown;
  exec?: Record<string, unknown>;
  parameters?: { key: string; value: unknown; init?: boolean }[];
}

const LIST_COLUMNS: Column<ActionSummary>[] = [
  { key: 'Update', header: 'Latest Update', value: (a) => shortDate(Number(a.updated ?? 0)) },
  { key: 'Version', header: 'Latest Version', value: (a) => String(a.version ?? '') },
  {
    key: 'Runtime',
    header: 'Runtime Kind',
    value: (a) => {
      const k = annotation(a, 'exec');
      return typeof k === 'string' ? k : '<unknown>';
    },
  },
  { key: 'Function', header: 'Function Name', value: (a) => actionFullName(a) },
];

/** Extension → kind, as `wsk action create` and the deployer infer it. */
export function kindForFile(file: string): string | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.js' || ext === '.mjs' || ext === '.cjs' || ext === '.ts') return 'nodejs:default';
  if (ext === '.py') return 'python:default';
  if (ext === '.go') return 'go:default';
  if (ext === '.php') return 'php:default';
  const m = /\.([a-z]+)-([0-9.]+)\.zip$/i.exec(basename(file));
  if (m) return `${m[1]}:${m[2]}`;
  return undefined;
}

const EXT_FOR_KIND: Record<string, string> = { nodejs: '.js', python: '.py', go: '.go', php: '.php' };

/** The URL of a function (§5.6). */
export function functionUrl(apihost: string, ns: string, action: ActionSummary): string {
  const host = apihost.replace(/\/+$/, '');
  const nsField = String(action.namespace ?? ns);
  const i = nsField.indexOf('/');
  const pkg = i >= 0 ? nsField.slice(i + 1) : '';
  const web = annotation(action, 'web-export');
  if (web === true) return `${host}/api/v1/web/${ns}/${pkg || 'default'}/${action.name}`;
  return `${host}/api/v1/namespaces/${ns}/actions/${pkg ? `${pkg}/` : ''}${action.name}`;
}

async function getAction(client: ApiClient, name: string, code: boolean): Promise<ActionSummary> {
  const res = await client.request<ActionSummary>('GET', `actions/${actionPath(name)}`, { query: { code } });
  return res.body;
}

export function demotionText(id: string): string {
  return (
    'Request accepted, but processing not completed yet. \n' +
    'All functions invocation >= 30s will get demoted to an asynchronous invocation. Use --no-wait flag to immediately return the activation id. \n' +
    '\n' +
    'Use this command to view the results.\n' +
    `flare activations result ${id}\n` +
    '\n'
  );
}

function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no browser: the URL is printed anyway
  }
}

function readParamFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the parameter file '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`invalid JSON in the parameter file '${file}': ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`the parameter file '${file}' must contain a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

interface InvokeOpts extends GlobalOpts {
  param?: string[];
  paramFile?: string;
  full?: boolean;
  wait?: boolean; // --no-wait → false
  web?: boolean;
  idempotencyKey?: string;
  follow?: boolean;
}

interface DeployOpts extends GlobalOpts {
  kind?: string;
  main?: string;
  param?: string[];
  paramFile?: string;
  env?: string[];
  web?: string;
  timeout?: string;
  memory?: string;
  logsize?: string;
  binary?: boolean;
}

export function registerFunctionsCommands(program: Command): void {
  const fn = program
    .command('functions')
    .aliases(['function', 'fn'])
    .description('Work with the functions in your namespace');

  // list
  const list = withArgs(fn.command('list').alias('ls'), '[<packageName>] [flags]')
    .description('Lists the functions in your functions namespace')
    .option('-l, --limit <n>', 'only return LIMIT number of functions (default 30, max 200)')
    .option('-s, --skip <n>', 'exclude the first SKIP number of functions from the result')
    .option('--count', 'show only the total number of functions')
    .option('--name-sort', 'sort results by name')
    .option('-n, --name', 'sort results by name');
  addGlobalFlags(list).action(async (args: string[], opts: GlobalOpts & { limit?: string; skip?: string; count?: boolean; nameSort?: boolean; name?: boolean }) => {
    checkArgs('functions.list', args, 0, 1);
    if (opts.count && opts.format) throw new CliError('the --count and --format flags are mutually exclusive');
    const client = connectedClient(opts);
    const path = args[0] ? `actions/${encodeURIComponent(args[0])}/` : 'actions';
    if (opts.count) {
      const res = await client.request<{ actions?: number }>('GET', path, { query: { count: true } });
      const n = Number(res.body?.actions ?? 0);
      if (isJson(opts)) out(jsonText(res.body));
      else out(n === 1 ? 'There is 1 function in this namespace.\n' : `There are ${n} functions in this namespace.\n`);
      return;
    }
    const limit = Math.min(intFlag('limit', opts.limit, 30), 200);
    const skip = intFlag('skip', opts.skip, 0);
    const res = await client.request<ActionSummary[]>('GET', path, { query: { limit, skip } });
    const actions = Array.isArray(res.body) ? [...res.body] : [];
    if (opts.nameSort || opts.name) actions.sort((a, b) => actionFullName(a).localeCompare(actionFullName(b)));
    else actions.sort((a, b) => Number(b.updated ?? 0) - Number(a.updated ?? 0));
    if (isJson(opts)) out(jsonText(actions));
    else out(renderColumns(actions, LIST_COLUMNS, opts.format, opts.header !== false));
  });

  // get
  const get = withArgs(fn.command('get'), '<functionName> [flags]')
    .description('Retrieves the deployed copy of a function (code or metadata)')
    .option('-r, --url', 'get function url')
    .option('--code', 'show function code (only works if code is not a zip file)')
    .option('-E, --save-env <file>', 'save environment variables to FILE as key-value pairs')
    .option('-J, --save-env-json <file>', 'save environment variables to FILE as JSON')
    .option('--save', 'save function code to file corresponding to the function name')
    .option('--save-as <file>', 'file to save function code to');
  addGlobalFlags(get).action(
    async (args: string[], opts: GlobalOpts & { url?: boolean; code?: boolean; saveEnv?: string; saveEnvJson?: string; save?: boolean; saveAs?: string }) => {
      checkArgs('functions.get', args, 1, 1);
      const client = connectedClient(opts);
      const name = args[0]!;
      const wantCode = Boolean(opts.code || opts.save || opts.saveAs);
      const action = await getAction(client, name, wantCode);
      if (opts.url) {
        out(functionUrl(client.conn.apihost, client.conn.namespace, action) + '\n');
        return;
      }
      const envParams = (action.parameters ?? []).filter((p) => p && p.init === true);
      if (opts.saveEnv) {
        writeFileSync(opts.saveEnv, envParams.map((p) => `${p.key}=${typeof p.value === 'string' ? p.value : JSON.stringify(p.value)}\n`).join(''));
      }
      if (opts.saveEnvJson) {
        writeFileSync(opts.saveEnvJson, jsonText(Object.fromEntries(envParams.map((p) => [p.key, p.value]))));
      }
      const exec = action.exec ?? {};
      const code = typeof exec.code === 'string' ? exec.code : undefined;
      const binary = exec.binary === true;
      if (opts.save || opts.saveAs) {
        if (code === undefined) throw new CliError('the function has no code to save');
        const family = String(exec.kind ?? '').split(':')[0] ?? '';
        const file = opts.saveAs ?? `${String(action.name)}${binary ? '.zip' : EXT_FOR_KIND[family] ?? ''}`;
        writeFileSync(file, binary ? Buffer.from(code, 'base64') : code);
        out(`Saved action code to ${file}\n`);
        return;
      }
      if (opts.code) {
        if (binary || code === undefined) out('Binary code cannot be displayed on the console\n');
        else out(code.endsWith('\n') ? code : code + '\n');
        return;
      }
      if (opts.saveEnv || opts.saveEnvJson) return;
      out(jsonText(actionView(action as Record<string, unknown>)));
    },
  );

  // invoke
  const invoke = withArgs(fn.command('invoke'), '<functionName> [flags]')
    .description('Invokes a function')
    .option('--web', 'Invoke as a web function, show result as web page')
    .option('-p, --param <KEY:VALUE>', 'parameter values in KEY:VALUE format, list allowed', collect, [])
    .option('-P, --param-file <file>', 'FILE containing parameter values in JSON format')
    .option('-f, --full', 'wait for full activation record')
    .option('-n, --no-wait', 'fire and forget (asynchronous invoke, does not wait for the result)')
    .option('--idempotency-key <key>', 'run at most once per KEY (24 h): a repeat answers with the first activation')
    .option('--follow', 'invoke without waiting, stream the logs live (on stderr), then print the result');
  addGlobalFlags(invoke).action(async (args: string[], opts: InvokeOpts) => {
    checkArgs('functions.invoke', args, 1, 1);
    const noWait = opts.wait === false;
    if (opts.web && noWait) throw new CliError('the --web and --no-wait flags are mutually exclusive');
    const fromFile = opts.paramFile ? readParamFile(opts.paramFile) : {};
    const params: Record<string, unknown> = { ...fromFile, ...parseParamsOrThrow(opts.param ?? []) };
    const client = connectedClient(opts);
    const name = args[0]!;
    if (opts.web) {
      const action = await getAction(client, name, false);
      if (annotation(action, 'web-export') !== true) throw new CliError(`'${name}' is not a web function`);
      const url = new URL(functionUrl(client.conn.apihost, client.conn.namespace, action));
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
      out(url.toString() + '\n');
      if (process.stdout.isTTY) openBrowser(url.toString());
      return;
    }
    const keyHeader = opts.idempotencyKey !== undefined ? { headers: { 'Idempotency-Key': formatIdempotencyKey(opts.idempotencyKey) } } : {};
    if (opts.follow) {
      if (noWait) throw new CliError('the --follow and --no-wait flags are mutually exclusive');
      await invokeAndFollow(client, name, params, !!opts.full, keyHeader);
      return;
    }
    const query = noWait ? { blocking: false } : { blocking: true, result: !opts.full };
    const spinner = noWait ? { stop() {} } : startSpinner();
    let res;
    try {
      res = await client.request<unknown>('POST', `actions/${actionPath(name)}`, {
        query,
        body: params,
        noThrow: true,
        ...keyHeader,
      });
    } finally {
      spinner.stop();
    }
    const body = res.body as Record<string, unknown> | undefined;
    if (res.status === 202) {
      const id = String(body?.activationId ?? '');
      out(noWait ? jsonText({ activationId: id }) : demotionText(id));
      return;
    }
    if (res.status >= 400) {
      // A blocking application/developer error arrives as 502 with the bare result (or the record with --full):
      // print it and fail. Other errors carry {"error","code"} and print as `Error: …`.
      const isActivationFailure =
        (res.status === 502 || res.status === 500) &&
        body !== null && typeof body === 'object' &&
        (typeof body.code !== 'string' || 'activationId' in body);
      if (isActivationFailure) {
        out(jsonText(sortKeysDeep(body)));
        process.exitCode = 1;
        return;
      }
      throw new ApiError(res.status, body);
    }
    out(jsonText(sortKeysDeep(body)));
  });

  // create / update (wsk action create|update)
  const addDeployFlags = (cmd: Command) =>
    cmd
      .option('--kind <kind>', 'the runtime kind (default: from the file extension)')
      .option('--main <name>', 'the entry point function name')
      .option('-p, --param <KEY:VALUE>', 'default parameter values in KEY:VALUE format, list allowed', collect, [])
      .option('-P, --param-file <file>', 'FILE containing default parameter values in JSON format')
      .option('-e, --env <KEY:VALUE>', 'environment variables in KEY:VALUE format, list allowed', collect, [])
      .option('--web <value>', 'treat as a web function: true, false or raw')
      .option('-t, --timeout <ms>', 'the timeout limit in milliseconds')
      .option('-m, --memory <mb>', 'the memory limit in MB')
      .option('-l, --logsize <mb>', 'the log size limit in MB')
      .option('--binary', 'treat the file as binary (base64-encoded when uploaded)');
  for (const verb of ['create', 'update'] as const) {
    const cmd = withArgs(fn.command(verb), verb === 'create' ? '<functionName> <file> [flags]' : '<functionName> [<file>] [flags]').description(
      verb === 'create' ? 'Creates a function from a file' : 'Updates a function (its code from a file, and/or its settings)',
    );
    addGlobalFlags(addDeployFlags(cmd)).action(async (args: string[], opts: DeployOpts) => {
      checkArgs(`functions.${verb}`, args, verb === 'create' ? 2 : 1, 2);
      const name = args[0]!;
      const body = buildActionBody(args[1], opts, verb);
      const client = connectedClient(opts);
      const put = () => client.request('PUT', `actions/${actionPath(name)}`, { query: { overwrite: verb === 'update' }, body });
      try {
        await put();
      } catch (err) {
        // `create pkg/fn` in a package that does not exist yet: create the package, as a project deploy would.
        const segs = actionPath(name).split('/');
        if (!(err instanceof ApiError) || err.status !== 404 || segs.length !== 2 || verb !== 'create') throw err;
        await client.request('PUT', `packages/${segs[0]}`, { query: { overwrite: false }, body: {}, noThrow: true });
        await put();
      }
      out(`ok: ${verb}d function ${name}\n`);
    });
  }

  const del = withArgs(fn.command('delete').alias('rm'), '<functionName> [flags]').description('Deletes a function');
  addGlobalFlags(del).action(async (args: string[], opts: GlobalOpts) => {
    checkArgs('functions.delete', args, 1, 1);
    const client = connectedClient(opts);
    await client.request('DELETE', `actions/${actionPath(args[0]!)}`);
    out(`ok: deleted function ${args[0]}\n`);
  });
}

function parseParamsOrThrow(values: string[]): Record<string, string> {
  try {
    return parseParams(values);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** The PUT body for `functions create|update` (OpenWhisk action entity, §5 of openwhisk-api.md). */
export function buildActionBody(file: string | undefined, opts: DeployOpts, verb: 'create' | 'update'): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (file !== undefined) {
    if (!existsSync(file)) throw new CliError(`the file '${file}' does not exist`);
    const isZip = /\.(zip|jar)$/i.test(file) || opts.binary === true;
    const kind = opts.kind ?? kindForFile(file);
    if (!kind) {
      throw new CliError(`cannot infer the runtime kind from '${basename(file)}'; specify it with --kind (e.g. nodejs:20 or python:3.11)`);
    }
    const data = readFileSync(file);
    const exec: Record<string, unknown> = { kind, code: isZip ? data.toString('base64') : data.toString('utf8'), binary: isZip };
    if (opts.main) exec.main = opts.main;
    body.exec = exec;
  } else if (opts.kind || opts.main) {
    throw new CliError('--kind and --main need the code file too');
  }
  const params: { key: string; value: unknown; init?: boolean }[] = [];
  const fileParams = opts.paramFile ? readParamFile(opts.paramFile) : {};
  for (const [k, v] of Object.entries({ ...fileParams, ...parseParamsOrThrow(opts.param ?? []) })) params.push({ key: k, value: v });
  for (const [k, v] of Object.entries(parseParamsOrThrow(opts.env ?? []))) params.push({ key: k, value: v, init: true });
  if (params.length > 0 || verb === 'create') body.parameters = params;
  const limits: Record<string, number> = {};
  if (opts.timeout !== undefined) limits.timeout = intFlag('timeout', opts.timeout, 0);
  if (opts.memory !== undefined) limits.memory = intFlag('memory', opts.memory, 0);
  if (opts.logsize !== undefined) limits.logs = intFlag('logsize', opts.logsize, 0);
  if (Object.keys(limits).length > 0) body.limits = limits;
  if (opts.web !== undefined) {
    const w = opts.web.toLowerCase();
    if (w === 'true' || w === 'yes') {
      body.annotations = [
        { key: 'web-export', value: true },
        { key: 'raw-http', value: false },
        { key: 'final', value: true },
      ];
    } else if (w === 'raw') {
      body.annotations = [
        { key: 'web-export', value: true },
        { key: 'raw-http', value: true },
        { key: 'final', value: true },
      ];
    } else if (w === 'false' || w === 'no') {
      body.annotations = [
        { key: 'web-export', value: false },
        { key: 'raw-http', value: false },
      ];
    } else {
      throw new CliError(`invalid --web value '${opts.web}': use true, false or raw`);
    }
  }
  if (verb === 'update' && Object.keys(body).length === 0) throw new CliError('nothing to update: give a code file or a setting');
  return body;
}

/** `invoke --follow` (Flare): a non-blocking invoke, its logs live on stderr, then the result (or record) on stdout. */
async function invokeAndFollow(
  client: ApiClient,
  name: string,
  params: Record<string, unknown>,
  full: boolean,
  extra: { headers?: Record<string, string> },
): Promise<void> {
  const res = await client.request<{ activationId?: string }>('POST', `actions/${actionPath(name)}`, { query: { blocking: false }, body: params, ...extra });
  const id = String(res.body?.activationId ?? '');
  process.stderr.write(`activation ${id}\n`);
  const end = await followActivation(client, id, { line: (l) => process.stderr.write(l + '\n') });
  const rec = await client.request<Record<string, unknown>>('GET', `activations/${id}`);
  const body = full ? rec.body : ((rec.body.response as { result?: unknown } | undefined)?.result ?? {});
  out(jsonText(sortKeysDeep(body)));
  if (end.statusCode !== 0) process.exitCode = 1;
}
