// The console's only way to the server: the public REST API on the same origin, with the key from sessionStorage.
const KEY = 'flare.console.auth';

export interface KeyValue { key: string; value: unknown; init?: boolean }
export interface ActionSummary {
  namespace: string; name: string; version: string; annotations: KeyValue[]; updated: number;
  exec: { binary: boolean }; limits?: { timeout: number; memory: number };
}
export interface Action {
  namespace: string; name: string; version: string; updated: number; publish: boolean;
  exec: { kind: string; code?: string; main?: string; binary: boolean };
  parameters: KeyValue[]; annotations: KeyValue[];
  limits: { timeout: number; memory: number; logs: number; concurrency: number };
}
export interface PackageSummary { namespace: string; name: string; binding: unknown; updated: number }
export interface ActivationSummary {
  namespace: string; name: string; version: string; activationId: string; start: number; end?: number;
  duration?: number; statusCode: number; annotations: KeyValue[]; cause?: string;
}
export interface ActivationRecord extends ActivationSummary {
  subject: string; logs: string[];
  response: { status: string; statusCode: number; success: boolean; result: unknown };
}
export interface RuntimeInfo { kind: string; default?: boolean; deprecated?: boolean }
export interface ServerInfo {
  runtimes?: Record<string, RuntimeInfo[]>;
  limits?: Record<string, number>;
}

export class ApiError extends Error {
  constructor(public status: number, message: string, public body?: unknown) {
    super(message);
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}
export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key);
}
export function basicToken(key: string): string {
  return btoa(key);
}

/** Called when the server rejects the stored key, so the shell can return to the sign-in form. */
let onUnauthorized: (() => void) | undefined;
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export interface Reply<T> { status: number; body: T; headers?: Headers }

/** Sends one request. Non-2xx answers throw ApiError unless `accept` lists the status. */
export async function request<T>(
  path: string,
  opts: { method?: string; json?: unknown; key?: string; accept?: number[] } = {},
): Promise<Reply<T>> {
  const key = opts.key ?? storedKey();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Basic ${basicToken(key)}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  let res: Response;
  try {
    // credentials 'omit': the key travels only in our Authorization header, and a 401 (which carries
    // WWW-Authenticate: Basic) is handed back to us instead of opening the browser's own login prompt.
    res = await fetch(path, { method: opts.method ?? 'GET', headers, body, cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new ApiError(0, 'The server could not be reached.');
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status)) {
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  const message =
    parsed && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string'
      ? (parsed as { error: string }).error
      : `Request failed with status ${res.status}.`;
  if (res.status === 401 && !opts.key) onUnauthorized?.();
  throw new ApiError(res.status, message, parsed);
}

export async function get<T>(path: string): Promise<T> {
  return (await request<T>(path)).body;
}

/** Path of an action, each segment encoded: "pkg/name" stays two segments. */
export function actionPath(name: string): string {
  return `/api/v1/namespaces/_/actions/${name.split('/').map(encodeURIComponent).join('/')}`;
}

export function qs(params: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
