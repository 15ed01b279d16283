// HTTP client for the OpenWhisk API of one connection (Basic auth, JSON bodies, {"error","code"} errors).
import type { Connection } from './credentials.js';

export class ApiError extends Error {
  status: number;
  body: unknown;
  /** The server's transaction id (`code`), kept out of the message per D9. */
  code?: string;
  constructor(status: number, body: unknown, fallbackMessage?: string) {
    const b = body as { error?: unknown; code?: unknown } | undefined;
    const msg =
      b && typeof b === 'object' && typeof b.error === 'string'
        ? b.error
        : fallbackMessage ?? (typeof body === 'string' && body ? body : `The server answered HTTP ${status}`);
    super(msg);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    if (b && typeof b === 'object' && typeof b.code === 'string') this.code = b.code;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Extra headers (e.g. a content type for a raw body). */
  headers?: Record<string, string>;
  /** Do not throw ApiError on 4xx/5xx; return the response instead. */
  noThrow?: boolean;
}

export function basicAuth(auth: string): string {
  return 'Basic ' + Buffer.from(auth, 'utf8').toString('base64');
}

export interface ClientOptions {
  /** `--trace`: log each request and response status on stderr (the auth header is never printed). */
  trace?: boolean;
}

export class ApiClient {
  readonly conn: Connection;
  readonly options: ClientOptions;
  constructor(conn: Connection, options: ClientOptions = {}) {
    this.conn = conn;
    this.options = options;
  }

  /** Absolute URL for a path: relative paths are under /api/v1/namespaces/{ns}/. */
  url(path: string, query?: Query): string {
    const base = this.conn.apihost.replace(/\/+$/, '');
    const full = path.startsWith('/')
      ? base + path
      : `${base}/api/v1/namespaces/${encodeURIComponent(this.conn.namespace)}/${path}`;
    const u = new URL(full);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined) u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  /**
   * Sends a request; throws ApiError for HTTP status >= 400 (message = the server's `error`), and a plain Error
   * when the host cannot be reached. 2xx answers (including 202) are returned.
   */
  async request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = { Authorization: basicAuth(this.conn.auth), Accept: 'application/json' };
    let body: string | Uint8Array | undefined;
    if (opts.body !== undefined) {
      if (typeof opts.body === 'string' || opts.body instanceof Uint8Array) {
        body = opts.body;
      } else {
        body = JSON.stringify(opts.body);
        headers['Content-Type'] = 'application/json';
      }
    }
    Object.assign(headers, opts.headers ?? {});
    const url = this.url(path, opts.query);
    let res: Response;
    const started = Date.now();
    if (this.options.trace) process.stderr.write(`-> ${method} ${url}\n`);
    try {
      res = await fetch(url, { method, headers, body: body as BodyInit | undefined });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new Error(`cannot reach the API host ${this.conn.apihost} (${detail})`);
    }
    const text = await res.text();
    if (this.options.trace) process.stderr.write(`<- ${res.status} ${method} ${url} (${Date.now() - started} ms)\n`);
    let parsed: unknown = text;
    const ctype = res.headers.get('content-type') ?? '';
    if (text && (ctype.includes('json') || /^[\s]*[[{"]/.test(text))) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    } else if (!text) {
      parsed = undefined;
    }
    if (res.status >= 400 && !opts.noThrow) throw new ApiError(res.status, parsed);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
}
