// Flare's own version, from package.json (the CLI prints it where doctl prints its plugin version).
import { readFileSync } from 'node:fs';

export function flareVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
