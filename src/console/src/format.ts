// Display helpers: local times, human durations, status labels and function names from records.
import type { ActivationSummary, ActionSummary, KeyValue } from './api';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local wall-clock time, "YYYY-MM-DD HH:mm:ss". */
export function localTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

export const STATUS: Record<number, { label: string; cls: string }> = {
  0: { label: 'success', cls: 'ok' },
  1: { label: 'application error', cls: 'app' },
  2: { label: 'developer error', cls: 'dev' },
  3: { label: 'internal error', cls: 'int' },
};

export function annotation(list: KeyValue[] | undefined, key: string): unknown {
  return list?.find((a) => a.key === key)?.value;
}

/** "pkg/name" or "name" for a record (D13), preferring the path annotation "ns/pkg/name". */
export function recordFunction(r: ActivationSummary): string {
  const path = annotation(r.annotations, 'path');
  if (typeof path === 'string') {
    const parts = path.split('/');
    if (parts.length >= 2) return parts.slice(1).join('/');
  }
  return r.name;
}

/** "pkg/name" or "name" for an action summary whose namespace is "ns" or "ns/pkg". */
export function actionFullName(a: { namespace: string; name: string }): string {
  const i = a.namespace.indexOf('/');
  return i >= 0 ? `${a.namespace.slice(i + 1)}/${a.name}` : a.name;
}

export function actionKind(a: ActionSummary): string {
  const k = annotation(a.annotations, 'exec');
  return typeof k === 'string' ? k : '–';
}

export function isCold(r: ActivationSummary): boolean {
  return annotation(r.annotations, 'initTime') !== undefined;
}
