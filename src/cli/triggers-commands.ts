// `flare triggers list|get|enable|disable` (doctl-cli.md §1.7, §2.3; aliases trigger, trig; hidden in help). The data
// comes from Flare's /v2/functions/namespaces/<ns>/triggers API (DigitalOcean's scheduled-trigger shape).
import type { Command } from 'commander';
import type { ApiClient } from './api-client.js';
import { checkArgs, connectedClient, withArgs } from './command-helpers.js';
import { jsonText, renderColumns, shortDate, type Column } from './format.js';
import { addGlobalFlags, isJson, out, type GlobalOpts } from './output.js';

export interface TriggerJson {
  namespace?: string;
  function?: string;
  name?: string;
  is_enabled?: boolean;
  scheduled_details?: { cron?: string; body?: unknown };
  scheduled_runs?: { last_run_at?: string | null; next_run_at?: string | null };
}

export const TRIGGER_COLUMNS: Column<TriggerJson>[] = [
  { key: 'Name', header: 'Name', value: (t) => String(t.name ?? '') },
  { key: 'Cron', header: 'Cron Expression', value: (t) => String(t.scheduled_details?.cron ?? '') },
  { key: 'Function', header: 'Invokes', value: (t) => String(t.function ?? '') },
  { key: 'Enabled', header: 'Enabled', value: (t) => String(t.is_enabled === true) },
  {
    key: 'LastRun',
    header: 'Last Run At',
    value: (t) => {
      const at = t.scheduled_runs?.last_run_at ? Date.parse(t.scheduled_runs.last_run_at) : NaN;
      return Number.isFinite(at) && at > 0 ? shortDate(at) : '_';
    },
  },
];

const triggersPath = (client: ApiClient, name?: string) =>
  `/v2/functions/namespaces/${encodeURIComponent(client.conn.namespace)}/triggers${name ? `/${encodeURIComponent(name)}` : ''}`;

function print(list: TriggerJson[], opts: GlobalOpts): void {
  if (isJson(opts)) out(jsonText(list));
  else out(renderColumns(list, TRIGGER_COLUMNS, opts.format, opts.header !== false));
}

export function registerTriggersCommands(program: Command): void {
  const trig = program
    .command('triggers', { hidden: true })
    .aliases(['trigger', 'trig'])
    .description('Manage scheduled triggers associated with your functions');

  const list = withArgs(trig.command('list').alias('ls'), '[flags]')
    .description('Lists your triggers')
    .option('-f, --function <name>', 'list only triggers for the chosen function');
  addGlobalFlags(list).action(async (args: string[], opts: GlobalOpts & { function?: string }) => {
    checkArgs('triggers.list', args, 0, 0);
    const client = connectedClient(opts);
    const res = await client.request<{ Triggers?: TriggerJson[] }>('GET', triggersPath(client));
    let triggers = res.body?.Triggers ?? [];
    // A client-side filter, as doctl's.
    if (opts.function) triggers = triggers.filter((t) => t.function === opts.function!.replace(/^\/+/, ''));
    print(triggers, opts);
  });

  const get = withArgs(trig.command('get'), '<triggerName> [flags]').description('Get the details for a trigger');
  addGlobalFlags(get).action(async (args: string[], opts: GlobalOpts) => {
    checkArgs('triggers.get', args, 1, 1);
    const client = connectedClient(opts);
    const res = await client.request<{ Trigger?: TriggerJson }>('GET', triggersPath(client, args[0]));
    print(res.body?.Trigger ? [res.body.Trigger] : [], opts);
  });

  for (const [sub, enabled] of [['enable', true], ['disable', false]] as const) {
    const cmd = withArgs(trig.command(sub), '<triggerName> [flags]').description(`${enabled ? 'Enable' : 'Disable'} a trigger`);
    addGlobalFlags(cmd).action(async (args: string[], opts: GlobalOpts) => {
      checkArgs(`triggers.${sub}`, args, 1, 1);
      const client = connectedClient(opts);
      const res = await client.request<{ Trigger?: TriggerJson }>('PUT', triggersPath(client, args[0]), { body: { is_enabled: enabled } });
      print(res.body?.Trigger ? [res.body.Trigger] : [], opts);
    });
  }
}
