// Entry point of bin/flare: the doctl-style user commands plus `serve` and `admin`.
import { Command, CommanderError } from 'commander';
import { registerConnectCommands } from './connect-commands.js';
import { registerFunctionsCommands } from './functions-commands.js';
import { registerActivationsCommands } from './activations-commands.js';
import { registerTriggersCommands } from './triggers-commands.js';
import { CliError } from './errors.js';
import { argvWantsJson, errorLabel } from './output.js';

/** doctl habits: `flare serverless|sls|sbx|sandbox …` is the same as `flare …`. */
const DOCTL_PREFIXES = new Set(['serverless', 'sls', 'sbx', 'sandbox']);

export function stripDoctlPrefix(args: string[]): string[] {
  return args.length > 0 && DOCTL_PREFIXES.has(args[0]!) ? args.slice(1) : args;
}

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

const program = new Command();
program
  .name('flare')
  .description('Flare: serverless functions, OpenWhisk and DigitalOcean Functions compatible')
  .exitOverride(); // inherited by every subcommand: we choose the exit codes (usage errors 255, like doctl)
// `flare activations list | head -1` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const args = stripDoctlPrefix(process.argv.slice(2));

// The user commands start fast: the server (serve/admin) and the project tooling load only when they may run.
const USER_COMMANDS = new Set(['connect', 'status', 'functions', 'function', 'fn', 'activations', 'activation', 'actv', 'namespaces', 'namespace', 'ns', 'triggers', 'trigger', 'trig']);
const userCommand = args.length > 0 && USER_COMMANDS.has(args[0]!);
if (!userCommand) {
  const { registerServe } = await import('./serve-command.js');
  const { registerAdmin } = await import('./admin-command.js');
  registerServe(program);
  registerAdmin(program);
}
registerConnectCommands(program);
registerFunctionsCommands(program);
registerActivationsCommands(program);
registerTriggersCommands(program);
if (!userCommand) {
  const { registerProjectCommands } = await import('./project-commands.js');
  registerProjectCommands(program);
}
const wantsJson = argvWantsJson(args);

function fail(message: string, exitCode: number): void {
  if (wantsJson) process.stdout.write(JSON.stringify({ errors: [{ detail: message }] }) + '\n');
  else process.stderr.write(`${errorLabel()}: ${message}\n`);
  process.exitCode = exitCode;
}

program.parseAsync(args, { from: 'user' }).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    if (HELP_CODES.has(err.code) || err.exitCode === 0) {
      process.exitCode = 0;
      return;
    }
    // commander has printed its message on stderr; doctl repeats it on stdout, except for unknown commands.
    const message = err.message.replace(/^error: /, '');
    if (wantsJson) process.stdout.write(JSON.stringify({ errors: [{ detail: message }] }) + '\n');
    else if (err.code !== 'commander.unknownCommand') process.stdout.write(`Error: ${message}\n`);
    process.exitCode = 255;
    return;
  }
  if (err instanceof CliError) return fail(err.message, err.exitCode);
  fail(err instanceof Error ? err.message : String(err), 1);
});
