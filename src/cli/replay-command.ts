// `flare activations replay <id>` and `flare activations replay --function f --status …` (issue 11 point 5): invokes
// finished activations again, same function version and parameters; prints the new activation ids.
import type { Command } from 'commander';
import { checkArgs, connectedClient, intFlag, withArgs } from './command-helpers.js';
import { CliError } from './errors.js';
import { jsonText } from './format.js';
import { addGlobalFlags, isJson, out, type GlobalOpts } from './output.js';

type ReplayOpts = GlobalOpts & { function?: string; status?: string; since?: string; upto?: string; limit?: string; latest?: boolean; deadLetters?: boolean };

export function registerReplayCommand(actv: Command): void {
  const replay = withArgs(actv.command('replay'), '[<activationId>] [flags]')
    .description('Invokes finished activations again with the same function version and parameters')
    .option('-f, --function <name>', 'replay the activations of this function (bulk)')
    .option('--status <codes>', 'bulk: only these status codes (0-3, comma separated)')
    .option('--since <ms>', 'bulk: only activations that started at or after this time (ms since the epoch)')
    .option('--upto <ms>', 'bulk: only activations that started at or before this time (ms since the epoch)')
    .option('--dead-letters', 'bulk: only failed activations whose retries ran out')
    .option('-l, --limit <n>', 'bulk: at most this many, newest first (default 100, max 1000)')
    .option('--latest', "run the function's current version if it changed since");
  addGlobalFlags(replay).action(async (args: string[], opts: ReplayOpts) => {
    checkArgs('activations.replay', args, 0, 1);
    const client = connectedClient(opts);
    const query = opts.latest ? { version: 'latest' } : undefined;
    if (args[0]) {
      const res = await client.request<{ activationId: string }>('POST', `activations/${encodeURIComponent(args[0])}/replay`, { query });
      if (isJson(opts)) out(jsonText(res.body));
      else out(`ok: replayed ${args[0]} as ${res.body.activationId}\n`);
      return;
    }
    if (!opts.function && !opts.status && !opts.deadLetters && !opts.since && !opts.upto) {
      throw new CliError('give an activation id, or select activations with --function, --status, --since, --upto or --dead-letters');
    }
    const filter: Record<string, unknown> = {};
    if (opts.function) filter.name = opts.function;
    if (opts.status) filter.statusCode = opts.status;
    if (opts.since) filter.since = intFlag('since', opts.since, 0);
    if (opts.upto) filter.upto = intFlag('upto', opts.upto, 0);
    if (opts.deadLetters) filter.retriesExhausted = true;
    const limit = Math.min(intFlag('limit', opts.limit, 100), 1000);
    const res = await client.request<{ replayed: number; activationIds: string[]; skipped?: Array<{ activationId: string; error: string }> }>(
      'POST',
      'activations/replay',
      { query, body: { filter, limit } },
    );
    if (isJson(opts)) {
      out(jsonText(res.body));
      return;
    }
    out(`ok: replayed ${res.body.replayed} activation${res.body.replayed === 1 ? '' : 's'}\n`);
    for (const id of res.body.activationIds) out(`${id}\n`);
    for (const s of res.body.skipped ?? []) process.stderr.write(`skipped ${s.activationId}: ${s.error}\n`);
  });
}
