// Entry point of bin/flare: the doctl-style user commands plus `serve` and `admin`.
import { Command, CommanderError } from 'commander';
import { registerServe } from './serve-command.js';
import { registerAdmin } from './admin-command.js';
import { registerProjectCommands } from './project-commands.js';
import { registerConnectCommands } from './connect-commands.js';
import { registerFunctionsCommands } from './functions-commands.js';
import { registerActivationsCommands } from './activations-commands.js';
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
registerServe(program);
registerAdmin(program);
registerConnectCommands(program);
registerFunctionsCommands(program);
registerActivationsCommands(program);
registerProjectCommands(program);

const args = stripDoctlPrefix(process.argv.slice(2));
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
    if (err.code !== 'commander.unknownCommand') process.stdout.write(`Error: ${err.message.replace(/^error: /, '')}\n`);
    process.exitCode = 255;
    return;
  }
  if (err instanceof CliError) return fail(err.message, err.exitCode);
  fail(err instanceof Error ? err.message : String(err), 1);
});
