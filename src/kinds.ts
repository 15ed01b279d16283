// The runtime kinds Flare offers (D11). The API validates against this list; the runtime layer executes them.
export interface KindInfo {
  kind: string;
  family: string;
  default: boolean;
  deprecated: boolean;
}

export const KINDS: KindInfo[] = [
  { kind: 'nodejs:20', family: 'nodejs', default: true, deprecated: false },
  { kind: 'python:3.11', family: 'python', default: true, deprecated: false },
];

/** "nodejs:default" → "nodejs:20"; unknown → undefined. */
export function resolveKind(kind: string): string | undefined {
  const k = KINDS.find((x) => x.kind === kind);
  if (k) return k.kind;
  const m = /^([a-z]+):default$/.exec(kind);
  if (m) return KINDS.find((x) => x.family === m[1] && x.default)?.kind;
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
      attached: { attachmentName: 'codefile', attachmentType: 'text/plain' },
      requireMain: false,
    });
  }
  return out;
}
