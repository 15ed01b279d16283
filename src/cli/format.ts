// Pure formatting helpers for the doctl-style output: dates (D8), status words, tabwriter tables, banners, JSON.

const pad2 = (n: number) => String(n).padStart(2, '0');

/** 24-hour local `MM/DD HH:mm:ss` (D8). */
export function shortDate(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getMonth() + 1)}/${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** 24-hour local `YYYY-MM-DD HH:mm:ss`, the `date` field of `activations get` (D8). */
export function longDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** The table/banner status word from the top-level statusCode. */
export function statusWord(code: unknown): string {
  switch (code) {
    case 0:
      return 'success';
    case 1:
      return 'application error';
    case 2:
      return 'developer error';
    case 3:
      return 'system error';
    default:
      return 'unknown';
  }
}

export interface Annotation {
  key: string;
  value: unknown;
}

export function annotation(entity: { annotations?: unknown }, key: string): unknown {
  const list = entity.annotations;
  if (!Array.isArray(list)) return undefined;
  const found = list.find((a) => a && typeof a === 'object' && (a as Annotation).key === key) as Annotation | undefined;
  return found?.value;
}

export function hasAnnotation(entity: { annotations?: unknown }, key: string): boolean {
  const list = entity.annotations;
  return Array.isArray(list) && list.some((a) => a && typeof a === 'object' && (a as Annotation).key === key);
}

/** `pkg/name` when the `path` annotation has 3 segments (ns/pkg/name), otherwise the record's name. */
export function activationFunctionName(rec: { name?: unknown; annotations?: unknown }): string {
  const path = annotation(rec, 'path');
  if (typeof path === 'string') {
    const parts = path.split('/');
    if (parts.length === 3) return `${parts[1]}/${parts[2]}`;
    if (parts.length === 2) return parts[1]!;
  }
  return String(rec.name ?? '');
}

/** The package of an activation (from its `path` annotation), or '' for none. */
export function activationPackage(rec: { annotations?: unknown }): string {
  const path = annotation(rec, 'path');
  if (typeof path === 'string') {
    const parts = path.split('/');
    if (parts.length === 3) return parts[1]!;
  }
  return '';
}

export interface ActivationLike {
  activationId?: unknown;
  statusCode?: unknown;
  end?: unknown;
  start?: unknown;
  name?: unknown;
  version?: unknown;
  annotations?: unknown;
  duration?: unknown;
  response?: { statusCode?: unknown };
}

function statusCodeOf(rec: ActivationLike): unknown {
  return rec.statusCode ?? rec.response?.statusCode;
}

/** `=== <id> <status> <MM/DD HH:mm:ss of end> <function>:<version>` (D8). */
export function bannerText(rec: ActivationLike): string {
  const when = typeof rec.end === 'number' && rec.end > 0 ? rec.end : Number(rec.start ?? 0);
  return `=== ${String(rec.activationId)} ${statusWord(statusCodeOf(rec))} ${shortDate(when)} ${activationFunctionName(rec)}:${String(rec.version ?? '')}`;
}

/** Go tabwriter (minwidth 0, padding 4, spaces): every cell but the last padded to its column's width + 4. */
export function renderTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell + ' '.repeat(widths[i]! + 4 - [...cell].length) : cell)).join('') + '\n')
    .join('');
}

export interface Column<T> {
  key: string;
  header: string;
  value: (item: T) => string;
}

/** Renders a table honouring `--format` (column keys) and `--no-header`. */
export function renderColumns<T>(items: T[], columns: Column<T>[], format?: string, header = true): string {
  let cols = columns;
  if (format) {
    cols = format
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean)
      .map((k) => {
        const c = columns.find((col) => col.key.toLowerCase() === k.toLowerCase());
        if (!c) throw new FormatError(`unknown column "${k}"`);
        return c;
      });
  }
  const rows: string[][] = [];
  if (header) rows.push(cols.map((c) => c.header));
  for (const item of items) rows.push(cols.map((c) => c.value(item)));
  return renderTable(rows);
}

export class FormatError extends Error {}

/** Recursively sorts object keys (Go maps marshal sorted). Arrays keep their order. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as object).sort()) out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** Pretty JSON, 2-space indent, plus a newline. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** Picks keys in the given order (absent ones skipped unless `nulls` names them), then any others are dropped. */
function ordered(obj: Record<string, unknown>, keys: string[], nulls: string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (obj[k] !== undefined) out[k] = obj[k];
    else if (nulls.includes(k)) out[k] = null;
  }
  return out;
}

function orderedAnnotations(list: unknown): unknown {
  if (!Array.isArray(list)) return list ?? null;
  return list.map((a) => (a && typeof a === 'object' ? { key: (a as Annotation).key, value: sortKeysDeep((a as Annotation).value) } : a));
}

/** The `activations get` JSON: doctl's struct order plus `date` (§2.6). */
export function activationRecordView(rec: Record<string, unknown>): Record<string, unknown> {
  const resp = (rec.response ?? {}) as Record<string, unknown>;
  const view = ordered(rec, ['namespace', 'name', 'version', 'subject', 'activationId', 'cause', 'start', 'end', 'duration', 'statusCode']);
  view.response = ordered(
    { ...resp, result: resp.result === undefined ? undefined : sortKeysDeep(resp.result) },
    ['status', 'statusCode', 'success', 'result'],
  );
  view.logs = rec.logs ?? null;
  view.annotations = orderedAnnotations(rec.annotations);
  if (rec.publish !== undefined) view.publish = rec.publish;
  view.date = longDate(Number(rec.start ?? 0));
  return view;
}

/** The `functions get` JSON in doctl's struct order (§2.6). */
export function actionView(action: Record<string, unknown>): Record<string, unknown> {
  const view = ordered(action, ['namespace', 'name', 'version']);
  const exec = action.exec as Record<string, unknown> | undefined;
  if (exec) view.exec = ordered(exec, ['kind', 'code', 'image', 'main', 'components', 'binary']);
  view.annotations = orderedAnnotations(action.annotations);
  view.parameters = action.parameters ?? null;
  const limits = action.limits as Record<string, unknown> | undefined;
  if (limits) view.limits = ordered(limits, ['timeout', 'memory', 'logs', 'concurrency', 'instances']);
  if (action.publish !== undefined) view.publish = action.publish;
  if (action.updated !== undefined) view.updated = action.updated;
  return view;
}

/** Removes the timestamp and stream: the shortest prefix matching `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:.*: ` (§2.7). */
export function stripLogLine(line: string): string {
  const m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:.*?: /.exec(line);
  return m ? line.slice(m[0].length) : line;
}

/** `ns/pkg` (or `ns`) plus name → `pkg/name` (or `name`). */
export function actionFullName(action: { namespace?: unknown; name?: unknown }): string {
  const ns = String(action.namespace ?? '');
  const i = ns.indexOf('/');
  return i >= 0 ? `${ns.slice(i + 1)}/${String(action.name)}` : String(action.name);
}

/** Splits `pkg/fn` (or `fn`, or `/ns/pkg/fn`) into URL path segments for …/actions/. */
export function actionPath(name: string): string {
  let n = name.trim();
  if (n.startsWith('/')) n = n.split('/').slice(2).join('/'); // drop a leading /ns/
  return n
    .split('/')
    .filter(Boolean)
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/** Parses `-p` values: repeatable and comma-separated `KEY:VALUE`, value = everything after the first `:`. */
export function parseParams(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    for (const part of v.split(',')) {
      const i = part.indexOf(':');
      if (i <= 0) throw new FormatError('values for --params must have KEY:VALUE form');
      out[part.slice(0, i)] = part.slice(i + 1);
    }
  }
  return out;
}
