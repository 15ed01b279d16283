// The runtime kinds Flare offers (D11). The API validates against this list; the runtime layer executes them.
// PHP and Go are offered only where their Debian packages are installed on this node (php8.2-cli, golang-go).
import { existsSync, readFileSync } from 'node:fs';

export interface KindInfo {
  kind: string;
  family: string;
  default: boolean;
  deprecated: boolean;
}

export const PHP_BINARY = '/usr/bin/php8.2';
/** Debian's Go toolchain (/usr/lib/go → go-1.N). */
export const GO_ROOT = '/usr/lib/go';

/** "go:1.19" from the toolchain's VERSION file, or undefined without a Go toolchain. */
export function goKind(root = GO_ROOT): string | undefined {
  try {
    const m = /^go(\d+)\.(\d+)/.exec(readFileSync(`${root}/VERSION`, 'utf8'));
    return m && existsSync(`${root}/bin/go`) ? `go:${m[1]}.${m[2]}` : undefined;
  } catch {
    return undefined;
  }
}

function detectKinds(): KindInfo[] {
  const kinds: KindInfo[] = [
    { kind: 'nodejs:20', family: 'nodejs', default: true, deprecated: false },
    { kind: 'python:3.11', family: 'python', default: true, deprecated: false },
  ];
  const go = goKind();
  if (go) kinds.push({ kind: go, family: 'go', default: true, deprecated: false });
  if (existsSync(PHP_BINARY)) kinds.push({ kind: 'php:8.2', family: 'php', default: true, deprecated: false });
  kinds.push({ kind: 'blackbox', family: 'blackbox', default: true, deprecated: false });
  return kinds;
}

export const KINDS: KindInfo[] = detectKinds();

/** "nodejs:default" → "nodejs:20"; unknown → undefined. */
export function resolveKind(kind: string, kinds: KindInfo[] = KINDS): string | undefined {
  const k = kinds.find((x) => x.kind === kind);
  if (k) return k.kind;
  const m = /^([a-z]+):default$/.exec(kind);
  if (m) return kinds.find((x) => x.family === m[1] && x.default)?.kind;
  return undefined;
}

export function unsupportedKindMessage(kind: string): string {
  return `The specified runtime '${kind}' is not supported by this platform. Valid values are: ${KINDS.map((k) => `'${k.kind}'`).join(', ')}.`;
}

/** The `runtimes` map of GET / and GET /api/v1 (D10). */
export function runtimesMap(): Record<string, Array<Record<string, unknown>>> {
  const out: Record<string, Array<Record<string, unknown>>> = {};
  for (const k of KINDS) {
    (out[k.family] ??= []).push({
      kind: k.kind,
      image: `flare/${k.family}`,
      deprecated: k.deprecated,
      default: k.default,
      attached: { attachmentName: 'codefile', attachmentType: k.family === 'blackbox' ? 'application/zip' : 'text/plain' },
      requireMain: false,
    });
  }
  return out;
}
