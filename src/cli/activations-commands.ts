// `activations get|list|logs|result` (doctl-cli.md §1.5, §2.1, §2.4, §2.7), and Flare's `activations cancel`.
import { followActivation } from '../live-logs/follow-client.js';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ApiClient } from './api-client.js';
import { checkArgs, connectedClient, intFlag, withArgs } from './command-helpers.js';
import { CliError } from './errors.js';
import {
  activationFunctionName,
  activationPackage,
  activationRecordView,
  annotation,
  bannerText,
  hasAnnotation,
  jsonText,
  renderColumns,
  shortDate,
  sortKeysDeep,
  statusWord,
  stripLogLine,
  type Column,
} from './format.js';
import { addGlobalFlags, isJson, out, styledBanner, type GlobalOpts } from './output.js';
import { startSpinner } from './spinner.js';
import { registerReplayCommand } from './replay-command.js';

export interface Activation {
  namespace?: string;
  name?: string;
  version?: string;
  activationId: string;
  start?: number;
  end?: number;
  duration?: number;
  statusCode?: number;
  annotations?: unknown;
  logs?: string[];
  response?: { status?: string; statusCode?: number; success?: boolean; result?: unknown };
  [key: string]: unknown;
}

/** An in-flight list entry (`--state queued,running`): it carries `state` and has no end yet. */
const inFlight = (a: Activation) => typeof a.state === 'string' && a.end === undefined;
/** Elapsed time of an in-flight entry: since it started, or since it was accepted while queued. */
const elapsed = (a: Activation) => Math.max(0, Date.now() - Number(a.start ?? a.queuedAt ?? Date.now()));

export const ACTIVATION_COLUMNS: Column<Activation>[] = [
  { key: 'Datetime', header: 'Datetime', value: (a) => shortDate(Number(a.start ?? a.queuedAt ?? 0)) },
  { key: 'Status', header: 'Status', value: (a) => (inFlight(a) ? String(a.state) : statusWord(a.statusCode ?? a.response?.statusCode)) },
  { key: 'Kind', header: 'Kind', value: (a) => String(annotation(a, 'kind') ?? '') },
  { key: 'Version', header: 'Version', value: (a) => String(a.version ?? '') },
  { key: 'ActivationID', header: 'Activation ID', value: (a) => a.activationId },
  { key: 'Start', header: 'Start', value: (a) => (inFlight(a) ? '' : hasAnnotation(a, 'initTime') ? 'cold' : 'warm') },
  {
    key: 'Wait',
    header: 'Wait',
    value: (a) => {
      if (inFlight(a)) return a.start !== undefined && a.queuedAt !== undefined ? String(Number(a.start) - Number(a.queuedAt)) : '<nil>';
      const w = annotation(a, 'waitTime');
      return w === undefined ? '<nil>' : String(w);
    },
  },
  { key: 'Duration', header: 'Duration', value: (a) => `${inFlight(a) ? elapsed(a) : a.duration ?? 0}ms` },
  { key: 'Function', header: 'Function', value: (a) => activationFunctionName(a) },
];

const actPath = (id: string) => `activations/${encodeURIComponent(id)}`;

interface ListQuery {
  limit: number;
  skip?: number;
  name?: string;
  since?: number;
  upto?: number;
  docs?: boolean;
  /** `statusCode` filter: "0,1,2,3" (several allowed). */
  status?: string;
  /** Run-control states: "queued,running", "succeeded", … */
  state?: string;
  cursor?: string;
}

async function listPage(client: ApiClient, q: ListQuery): Promise<{ items: Activation[]; next?: string }> {
  const res = await client.request<Activation[]>('GET', 'activations', {
    query: {
      limit: q.limit,
      ...(q.cursor ? { cursor: q.cursor } : { skip: q.skip ?? 0 }),
      name: q.name,
      since: q.since,
      upto: q.upto,
      statusCode: q.status,
      state: q.state,
      docs: q.docs || undefined,
    },
  });
  const next = res.headers.get('flare-next-cursor') ?? undefined;
  return { items: Array.isArray(res.body) ? res.body : [], ...(next ? { next } : {}) };
}

async function listActivations(client: ApiClient, q: ListQuery): Promise<Activation[]> {
  return (await listPage(client, q)).items;
}

/** `--status success,developer-error` or `--status 0,2` → "0,2". */
const STATUS_NAMES: Record<string, number> = { success: 0, 'application-error': 1, 'developer-error': 2, 'internal-error': 3 };
function statusFlag(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const codes = raw.split(',').map((s) => {
    const t = s.trim().toLowerCase();
    const code = /^[0-3]$/.test(t) ? Number(t) : STATUS_NAMES[t];
    if (code === undefined) throw new CliError(`invalid value '${s}' for --status: use 0-3 or ${Object.keys(STATUS_NAMES).join(', ')}`);
    return code;
  });
  return codes.join(',');
}

async function getResult(client: ApiClient, id: string): Promise<unknown> {
  const res = await client.request<{ result?: unknown }>('GET', `${actPath(id)}/result`);
  return res.body?.result;
}

async function getLogs(client: ApiClient, id: string): Promise<string[]> {
  const res = await client.request<{ logs?: unknown }>('GET', `${actPath(id)}/logs`);
  const logs = res.body?.logs;
  return Array.isArray(logs) ? logs.map(String) : [];
}

const IN_FLIGHT = new Set(['queued', 'running', 'cancelling', 'retrying']);

/**
 * `--wait`: blocks until the activation has a record, by long-polling `/status?wait=` (each call parks on the server
 * until the record commits or 60 s pass). A spinner shows on a terminal only; piped output gets nothing extra. Unknown
 * ids return at once and the command then reports them as it would without --wait.
 */
async function waitUntilDone(client: ApiClient, id: string): Promise<void> {
  const spinner = startSpinner();
  try {
    for (;;) {
      const res = await client.request<{ state?: string }>('GET', `${actPath(id)}/status`, { query: { wait: 60_000 }, noThrow: true });
      if (res.status !== 200 || !IN_FLIGHT.has(String(res.body?.state))) return;
    }
  } finally {
    spinner.stop();
  }
}

function banner(rec: Activation): string {
  return styledBanner(bannerText(rec)) + '\n';
}

function optionalNumber(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`invalid value '${String(v)}' for --${name}: must be epoch milliseconds`);
  return Math.floor(n);
}

export function registerActivationsCommands(program: Command): void {
  const actv = program
    .command('activations')
    .aliases(['activation', 'actv'])
    .description('Retrieve activation records');

  // get
  const get = withArgs(actv.command('get'), '[<activationId>] [flags]')
    .description('Retrieves an Activation')
    .option('-l, --last', 'Fetch the most recent activation (default)')
    .option('-s, --skip <n>', 'SKIP number of activations')
    .option('-g, --logs', 'Emit only the logs, stripped of time stamps and stream identifier')
    .option('-r, --result', 'Emit only the result')
    .option('-f, --function <name>', 'Fetch activations for a specific function')
    .option('-q, --quiet', 'Suppress last activation information header')
    .option('-w, --wait', 'Block until the activation (still running or queued) has finished');
  addGlobalFlags(get).action(
    async (args: string[], opts: GlobalOpts & { skip?: string; logs?: boolean; result?: boolean; function?: string; quiet?: boolean; wait?: boolean }) => {
      checkArgs('activations.get', args, 0, 1);
      const client = connectedClient(opts);
      let id = args[0];
      let summary: Activation | undefined;
      if (!id) {
        const list = await listActivations(client, { limit: 1, skip: intFlag('skip', opts.skip, 0), name: opts.function });
        summary = list[0];
        if (!summary) throw new CliError('no activations were returned');
        id = summary.activationId;
      }
      if (opts.wait) await waitUntilDone(client, id);
      const showBanner = summary !== undefined && (opts.logs || opts.result) && !opts.quiet;
      if (opts.logs) {
        const lines = await getLogs(client, id);
        if (lines.length === 0) throw new CliError('no logs available');
        out((showBanner ? banner(summary!) : '') + lines.map((l) => stripLogLine(l) + '\n').join(''));
        return;
      }
      if (opts.result) {
        const result = await getResult(client, id);
        if (result === undefined) throw new CliError('no result available');
        out((showBanner ? banner(summary!) : '') + jsonText(sortKeysDeep(result)));
        return;
      }
      const res = await client.request<Activation>('GET', actPath(id));
      out(jsonText(activationRecordView(res.body)));
    },
  );

  // list
  const list = withArgs(actv.command('list').alias('ls'), '[<function_name>] [flags]')
    .description('Lists Activations')
    .option('-l, --limit <n>', 'only return LIMIT number of activations (default 30, max 200)')
    .option('-s, --skip <n>', 'exclude the first SKIP number of activations from the result')
    .option('--since <ms>', 'return activations with timestamps later than SINCE; measured in milliseconds since Th, 01, Jan 1970')
    .option('--upto <ms>', 'return activations with timestamps earlier than UPTO; measured in milliseconds since Th, 01, Jan 1970')
    .option('--count', 'show only the total number of activations')
    .option('-f, --full', 'include full activation description')
    .option('--status <codes>', 'only activations with these outcomes: 0-3 or success, application-error, developer-error, internal-error (comma separated)')
    .option('--cursor <token>', 'the page after the one that printed this cursor (see "next page" on stderr); not with --skip')
    .option('--state <states>', 'only activations in these states: queued, running, succeeded, failed, cancelled (comma separated); in-flight ones are listed only when asked for');
  addGlobalFlags(list).action(
    async (
      args: string[],
      opts: GlobalOpts & { limit?: string; skip?: string; since?: string; upto?: string; count?: boolean; full?: boolean; status?: string; cursor?: string; state?: string },
    ) => {
      checkArgs('activations.list', args, 0, 1);
      const client = connectedClient(opts);
      const name = args[0];
      const since = optionalNumber('since', opts.since);
      const upto = optionalNumber('upto', opts.upto);
      const status = statusFlag(opts.status);
      const state = opts.state?.replace(/\s+/g, '') || undefined;
      if (opts.count) {
        const res = await client.request<{ activations?: number }>('GET', 'activations', { query: { count: true, name, since, upto, statusCode: status, state } });
        const n = Number(res.body?.activations ?? 0);
        if (isJson(opts)) out(jsonText(res.body));
        else out(`You have ${n} activations in this namespace${name ? ` for function ${name}` : ''} \n`);
        return;
      }
      const limit = Math.min(intFlag('limit', opts.limit, 30), 200);
      const skip = intFlag('skip', opts.skip, 0);
      if (opts.cursor && opts.skip !== undefined) throw new CliError('--cursor cannot be combined with --skip');
      const { items, next } = await listPage(client, { limit, skip, name, since, upto, docs: opts.full, status, state, cursor: opts.cursor });
      // The next page's cursor goes to stderr, only when paging by cursor, status or state (doctl's output stays as it was).
      if (next && (opts.cursor || status || state)) process.stderr.write(`next page: --cursor ${next}\n`);
      if (opts.full || isJson(opts)) {
        out(jsonText(items));
        return;
      }
      out(renderColumns(items, ACTIVATION_COLUMNS, opts.format, opts.header !== false));
    },
  );

  // logs
  const logs = withArgs(actv.command('logs'), '[<activationId>] [flags]')
    .description('Retrieves the Logs for an Activation')
    .option('-f, --function <name>', 'Fetch logs for a specific function')
    .option('-p, --package <name>', 'Fetch logs for a specific package')
    .option('-n, --limit <n>', 'Fetch the last LIMIT activation logs (up to 200)')
    .option('-r, --strip', 'strip timestamp information and output first line only')
    .option('--follow', 'Fetch logs continuously (with an activation id: stream its logs live until it ends)')
    .addOption(new Option('-l, --last', 'Fetch the most recent activation logs (default)').hideHelp());
  addGlobalFlags(logs).action(
    async (args: string[], opts: GlobalOpts & { function?: string; package?: string; limit?: string; strip?: boolean; follow?: boolean }) => {
      checkArgs('activations.logs', args, 0, 1);
      const client = connectedClient(opts);
      const fmt = (l: string) => (opts.strip ? stripLogLine(l) : l) + '\n';
      if (args[0] && opts.follow) {
        // Flare: the live stream of one activation (src/live-logs/); exit status = the activation's outcome.
        const end = await followActivation(client, args[0], { line: (l) => out(fmt(l)) });
        if (end.statusCode !== 0) process.exitCode = 1;
        return;
      }
      if (args[0]) {
        const lines = await getLogs(client, args[0]);
        out(lines.map(fmt).join(''));
        return;
      }
      const limit = Math.min(intFlag('limit', opts.limit, 1), 200);
      const wanted = (a: Activation) => !opts.package || activationPackage(a) === opts.package;
      const seen = new Set<string>();
      let lastStart = 0;
      const show = (items: Activation[]) => {
        // The API answers newest first; print oldest first.
        for (const a of [...items].reverse()) {
          if (seen.has(a.activationId)) continue;
          seen.add(a.activationId);
          lastStart = Math.max(lastStart, Number(a.start ?? 0));
          if (!wanted(a)) continue;
          out(banner(a) + (a.logs ?? []).map(fmt).join('') + '\n');
        }
      };
      const began = Date.now();
      show(await listActivations(client, { limit, name: opts.function, docs: true }));
      if (!opts.follow) return;
      await follow(async () => {
        const since = (lastStart || began - 60_000) + 100;
        show(await listActivations(client, { limit: 0, name: opts.function, docs: true, since }));
      });
    },
  );

  registerCancel(actv);

  // result
  const result = withArgs(actv.command('result'), '[<activationId>] [flags]')
    .description('Retrieves the Results for an Activation')
    .option('-l, --last', 'Fetch the most recent activation result (default)')
    .option('-n, --limit <n>', 'Fetch the last LIMIT activation results (default 30, max 200)')
    .option('-s, --skip <n>', 'SKIP number of activations')
    .option('-f, --function <name>', 'Fetch results for a specific function')
    .option('-q, --quiet', 'Suppress last activation information header')
    .option('-w, --wait', 'Block until the activation (still running or queued) has finished');
  addGlobalFlags(result).action(
    async (args: string[], opts: GlobalOpts & { limit?: string; skip?: string; function?: string; quiet?: boolean; wait?: boolean }) => {
      checkArgs('activations.result', args, 0, 1);
      const client = connectedClient(opts);
      if (args[0]) {
        if (opts.wait) await waitUntilDone(client, args[0]);
        out(jsonText(sortKeysDeep((await getResult(client, args[0])) ?? {})));
        return;
      }
      const limit = Math.min(intFlag('limit', opts.limit, 1), 200);
      const items = await listActivations(client, { limit, skip: intFlag('skip', opts.skip, 0), name: opts.function });
      if (items.length === 0) throw new CliError('no activations were returned');
      for (const a of [...items].reverse()) {
        const r = await getResult(client, a.activationId);
        out((opts.quiet ? '' : banner(a)) + jsonText(sortKeysDeep(r ?? {})));
      }
    },
  );

  // Flare: replay (issue 11)
  registerReplayCommand(actv);
}

/**
 * `activations cancel <id> [--reason <text>]` (run-control spec §4.4; not a doctl command): DELETE …/activations/{id}.
 * Text: one line saying what happened; -o json: the server's answer (the cancelled record, or {activationId, state}).
 * A finished activation (409) or an unknown id (404) is an error like any other.
 */
function registerCancel(actv: Command): void {
  const cancel = withArgs(actv.command('cancel'), '<activationId> [flags]')
    .description('Cancels an activation: queued, it never runs; running, it is stopped (SIGTERM, grace, SIGKILL)')
    .option('--reason <text>', 'why (kept in the record as the cancelReason annotation)');
  addGlobalFlags(cancel).action(async (args: string[], opts: GlobalOpts & { reason?: string }) => {
    checkArgs('activations.cancel', args, 1, 1);
    const client = connectedClient(opts);
    const id = args[0]!;
    const res = await client.request<Activation & { state?: string }>('DELETE', actPath(id), { query: { reason: opts.reason } });
    if (isJson(opts)) {
      out(jsonText(res.status === 202 ? res.body : activationRecordView(res.body)));
      return;
    }
    if (res.status === 202) out(`Cancelling activation ${id}: it is still stopping (see 'flare activations get ${id}')\n`);
    else out(`Cancelled activation ${id}\n`);
  });
}

/** Polls every 5 s until SIGINT/SIGTERM, which print `\r` and exit 0 (doctl's --follow). */
async function follow(poll: () => Promise<void>): Promise<void> {
  const stop = () => {
    process.stdout.write('\r');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  for (;;) {
    await new Promise((r) => setTimeout(r, 5000));
    try {
      await poll();
    } catch (err) {
      process.stderr.write(`Error: ${(err as Error).message}\n`);
    }
  }
}
