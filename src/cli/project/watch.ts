// `flare watch`: deploys incrementally whenever a project file changes, until Ctrl-C (doctl-cli.md §4.5).
import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { deployProject, prepareDeployment, type DeployFlags, type Output } from './deploy.js';

/** Paths whose changes are the deploy's own output or dependencies, not the user's edits. */
function ignored(rel: string): boolean {
  const parts = rel.split(/[\\/]/);
  return parts.some((p) => p === '.deployed' || p === '.nimbella' || p === 'node_modules' || p === '.git' || p === '__pycache__' || p === '__deployer__.zip' || p === 'package-lock.json' || p === 'yarn.lock') ||
    /(~|\.swp|\.swx)$/.test(rel) || parts[parts.length - 1]!.startsWith('.#');
}

export async function watchProject(dir: string, flags: DeployFlags, io: Output, env: NodeJS.ProcessEnv): Promise<void> {
  const abs = resolve(dir);
  const deployOnce = async (): Promise<void> => {
    try {
      const dep = await prepareDeployment(abs, flags, env);
      await deployProject(dep, { ...flags, incremental: true }, io);
    } catch (err) {
      io.err(`Error: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  io.out(`Watching '${dir}' [use Control-C to terminate]`);
  let timer: NodeJS.Timeout | undefined;
  let pendingFile: string | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const fire = async (): Promise<void> => {
    if (running) {
      again = true; // one more round after the current deploy
      return;
    }
    const file = pendingFile ?? '';
    pendingFile = undefined;
    running = (async () => {
      io.out(`\nDeploying '${dir}' due to change in '${file}'`);
      await deployOnce();
      io.out('Deployment complete.  Resuming watch.');
    })();
    await running;
    running = undefined;
    if (again) {
      again = false;
      await fire();
    }
  };
  const watcher: FSWatcher = watch(abs, { recursive: true }, (_event, filename) => {
    if (!filename) return;
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
