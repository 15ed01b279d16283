// `flare watch`: deploys incrementally whenever a project file changes, until Ctrl-C (doctl-cli.md §4.5).
import { watch, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import { deployProject, prepareDeployment, type DeployFlags, type Output } from './deploy.js';

/** Paths whose changes are the deploy's own output or dependencies, not the user's edits. */
function ignored(rel: string): boolean {
  const parts = rel.split(/[\\/]/);
  return parts.some((p) => p === '.deployed' || p === '.nimbella' || p === 'node_modules' || p === '.git' || p === '__pycache__' || p === '__deployer__.zip' || p === 'package-lock.json' || p === 'yarn.lock') ||
    /(~|\.swp|\.swx)$/.test(rel) || parts[parts.length - 1]!.startsWith('.#');
}

export async function watchProject(dir: string, flags: DeployFlags, io: Output, env: NodeJS.ProcessEnv): Promise<void> {
  const abs = resolve(dir);
  /** One incremental deploy; false when it failed (the error is printed, the watch goes on). */
  const deployOnce = async (): Promise<boolean> => {
    try {
      const dep = await prepareDeployment(abs, flags, env);
      const result = await deployProject(dep, { ...flags, incremental: true, watching: true }, io);
      return result.failures.length === 0;
    } catch (err) {
      io.err(`Error: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  };
  io.out(`Watching '${dir}' [use Control-C to terminate]`);
  let timer: NodeJS.Timeout | undefined;
  let pendingFile = '';
  // Like the deployer, the watch is suspended while deploying, so the deploy's own writes (npm install, .deployed)
  // do not trigger another round; it resumes 200 ms after.
  let suspended = false;
  const fire = async (): Promise<void> => {
    suspended = true;
    io.out(`\nDeploying '${dir}' due to change in '${join(dir, pendingFile)}'`);
    if (await deployOnce()) io.out('Deployment complete.  Resuming watch.\n');
    setTimeout(() => (suspended = false), 200);
  };
  const watcher: FSWatcher = watch(abs, { recursive: true }, (_event, filename) => {
    if (!filename || suspended) return;
    const rel = filename.toString();
    if (ignored(rel)) return;
    pendingFile = rel;
    // Editors write in bursts; deploy once they settle.
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void fire(), 300);
  });
  await new Promise<void>((resolveWatch) => {
    const stop = () => {
      watcher.close();
      if (timer) clearTimeout(timer);
      resolveWatch();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
