// Project commands (init, deploy, undeploy, get-metadata, watch): doctl-cli.md §1.3, §4. The work is in ./project/.
import { Option, type Command } from 'commander';
import { checkArgs, withArgs } from './command-helpers.js';
import { CliError } from './errors.js';
import { addGlobalFlags } from './output.js';
import { deployProject, prepareDeployment, type DeployFlags, type Output } from './project/deploy.js';
import { initProject } from './project/init.js';
import { getMetadata } from './project/metadata.js';
import { ProjectError } from './project/model.js';
import { readProject } from './project/reader.js';
import { undeploy } from './project/undeploy.js';
import { watchProject } from './project/watch.js';

const io: Output = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** Project errors print like every other CLI error (`Error: <message>`, exit 1). */
async function guard(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ProjectError) throw new CliError(err.message);
    throw err;
  }
}

function deployOptions(cmd: Command, withIncremental: boolean): Command {
  cmd
    .option('--env <file>', 'path to runtime environment file')
    .option('--build-env <file>', 'path to build-time environment file')
    .option('--apihost <url>', 'API host to use')
    .option('--auth <key>', 'OpenWhisk authentication key to use')
    .option('--insecure', 'ignore SSL certificates')
    .option('--verbose-build', 'display build details')
    .option('--verbose-zip', 'display start/end of zipping phase for each function')
    .option('--yarn', 'use yarn instead of npm for node builds')
    .option('--include <list>', 'functions and/or packages to include')
    .option('--exclude <list>', 'functions and/or packages to exclude')
    .option('--remote-build', 'run builds remotely');
  if (withIncremental) {
    cmd.option('--incremental', 'deploy only changes since last deploy');
    cmd.addOption(new Option('--no-triggers', 'do not deploy triggers').hideHelp());
  }
  return cmd;
}

function deployFlags(o: Record<string, unknown>): DeployFlags {
  if (o.remoteBuild) throw new CliError('remote builds are not supported by this Flare server; build locally (omit --remote-build)');
  return {
    env: o.env as string | undefined,
    buildEnv: o.buildEnv as string | undefined,
    apihost: o.apihost as string | undefined,
    auth: o.auth as string | undefined,
    insecure: !!o.insecure,
    verboseBuild: !!o.verboseBuild,
    verboseZip: !!o.verboseZip,
    yarn: !!o.yarn,
    include: o.include as string | undefined,
    exclude: o.exclude as string | undefined,
    incremental: !!o.incremental,
    triggers: o.triggers !== false,
    json: String(o.output ?? 'text').toLowerCase() === 'json',
  };
}

export function registerProjectCommands(program: Command): void {
  addGlobalFlags(
    withArgs(program.command('init').description('Initialize a \'functions project\' directory in the local file system'), '<path> [flags]')
      .option('-l, --language <lang>', 'language for the initial sample code', 'javascript')
      .option('--overwrite', 'clears and reuses an existing directory'),
  ).action((args: string[], o: Record<string, unknown>) =>
    guard(() => {
      checkArgs('init', args, 1, 1);
      process.stdout.write(initProject(args[0]!, String(o.language ?? 'javascript'), !!o.overwrite));
    }),
  );

  addGlobalFlags(
    deployOptions(withArgs(program.command('deploy').description('Deploy a functions project to your functions namespace'), '<directory> [flags]'), true),
  ).action((args: string[], o: Record<string, unknown>) =>
    guard(async () => {
      checkArgs('deploy', args, 1, 1);
      const flags = deployFlags(o);
      const dep = await prepareDeployment(args[0]!, flags, process.env);
      const result = await deployProject(dep, flags, io);
      if (result.failures.length) process.exitCode = 1;
    }),
  );

  addGlobalFlags(
    deployOptions(withArgs(program.command('watch').description('Watch a functions project directory, deploying incrementally on change'), '<directory> [flags]'), false),
  ).action((args: string[], o: Record<string, unknown>) =>
    guard(async () => {
      checkArgs('watch', args, 1, 1);
      const flags = deployFlags(o);
      readProject(args[0]!, { envFile: flags.env }); // a broken project is an error before watching starts
      await watchProject(args[0]!, flags, io, process.env);
      process.stdout.write('\r');
    }),
  );

  addGlobalFlags(
    withArgs(program.command('get-metadata').description('Obtain metadata of a functions project'), '<directory> [flags]')
      .option('--env <file>', 'path to environment file')
      .option('--include <list>', 'functions or packages to include')
      .option('--exclude <list>', 'functions or packages to exclude')
      .addOption(new Option('--no-triggers', 'omit triggers').hideHelp()),
  ).action((args: string[], o: Record<string, unknown>) =>
    guard(() => {
      checkArgs('get-metadata', args, 1, 1);
      process.stdout.write(
        getMetadata(args[0]!, { env: o.env as string | undefined, include: o.include as string | undefined, exclude: o.exclude as string | undefined, triggers: o.triggers !== false }),
      );
    }),
  );

  addGlobalFlags(
    withArgs(program.command('undeploy').description('Removes resources from your functions namespace'), '[<package|function>...] [flags]')
      .option('-p, --packages', 'interpret simple name arguments as packages')
      .option('--all', 'remove all packages and functions')
      .addOption(new Option('--triggers', 'interpret all arguments as triggers').hideHelp())
      .addOption(new Option('-f, --force', 'used with --all to skip the confirmation').hideHelp())
      .addOption(new Option('--apihost <url>', 'API host to use').hideHelp())
      .addOption(new Option('--auth <key>', 'OpenWhisk authentication key to use').hideHelp()),
  ).action((args: string[], o: Record<string, unknown>) =>
    guard(async () => {
      const line = await undeploy(args, {
        packages: !!o.packages,
        all: !!o.all,
        triggers: !!o.triggers,
        force: !!o.force,
        apihost: o.apihost as string | undefined,
        auth: o.auth as string | undefined,
      });
      process.stdout.write(line + '\n');
    }),
  );
}
