// Entry point of bin/flare: the doctl-style user commands plus `serve` and `admin`.
import { Command } from 'commander';
import { registerServe } from './serve-command.js';
import { registerAdmin } from './admin-command.js';
import { registerProjectCommands } from './project-commands.js';

const program = new Command();
program.name('flare').description('Flare: serverless functions, OpenWhisk and DigitalOcean Functions compatible');
registerServe(program);
registerAdmin(program);
registerProjectCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
