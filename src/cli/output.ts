// doctl's global flags (-o, --format, --no-header, …) and the small printing helpers shared by the commands.
import { Option, type Command } from 'commander';

export interface GlobalOpts {
  output?: string;
  format?: string;
  header?: boolean;
  verbose?: boolean;
  trace?: boolean;
}

/** Adds doctl's global flags to a command (doctl has them on every command). */
export function addGlobalFlags(cmd: Command): Command {
  return cmd
    .option('-o, --output <format>', 'desired output format [text|json]', 'text')
    .option('--format <columns>', 'columns for output in a comma-separated list')
    .option('--no-header', 'return raw data with no headers')
    .option('-v, --verbose', 'enable verbose output')
    .addOption(new Option('--trace', 'show a log of network activity while performing a command').hideHelp())
    .addOption(new Option('--interactive <bool>', 'enable interactive behavior').hideHelp())
    .addOption(new Option('--http-retry-max <n>', 'number of times to retry a failed HTTP request').hideHelp());
}

export function isJson(opts: GlobalOpts): boolean {
  return String(opts.output ?? 'text').toLowerCase() === 'json';
}

/** True when argv asks for JSON output: errors then go to stdout as doctl's JSON. */
export function argvWantsJson(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '-o' || a === '--output') && argv[i + 1] === 'json') return true;
    if (a === '-ojson' || a === '--output=json' || a === '-o=json') return true;
  }
  return false;
}

export const out = (s: string): void => {
  process.stdout.write(s);
};

const ttyOut = () => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;

/** The banner with doctl's styling on a TTY: `=== ` muted, the rest highlighted. */
export function styledBanner(text: string): string {
  if (!ttyOut() || !text.startsWith('=== ')) return text;
  return `\x1b[2m=== \x1b[0m\x1b[1m${text.slice(4)}\x1b[0m`;
}

export function errorLabel(): string {
  return process.stderr.isTTY && !process.env.NO_COLOR ? '\x1b[31mError\x1b[0m' : 'Error';
}
