// A loopback HTTP receiver for completion callbacks: records every request (path, headers, body, arrival time) and
// answers per path from a script of responses (the last one repeats); a `hold` answer keeps the request open.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hold';

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Requests to one path. */
  at(path: string): Received[];
  /** Answers for a path, in order; the last one repeats. Default: 204. */
  script(path: string, answers: Answer[]): void;
  /** Waits until `path` has seen n requests. */
  waitFor(path: string, n: number, timeoutMs?: number): Promise<Received[]>;
  /** Answers every held request with `status`. */
  release(status?: number): void;
  close(): Promise<void>;
}

export async function startReceiver(host = '127.0.0.1'): Promise<Receiver> {
  const received: Received[] = [];
  const scripts = new Map<string, Answer[]>();
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const script = scripts.get(path);
      const answer: Answer = script && script.length ? (script.length > 1 ? script.shift()! : script[0]!) : { status: 204 };
      if (answer === 'hold') {
        held.push(res);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  const r: Receiver = {
    url: `http://${host}:${port}`,
    port,
    received,
    at: (path) => received.filter((x) => x.path === path),
    script: (path, answers) => void scripts.set(path, [...answers]),
    async waitFor(path, n, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (r.at(path).length < n) {
        if (Date.now() > until) throw new Error(`receiver: ${path} saw ${r.at(path).length} of ${n} requests in ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 20));
      }
      return r.at(path);
    },
    release(status = 503) {
      for (const res of held.splice(0)) {
        if (!res.writableEnded && !res.destroyed) {
          res.writeHead(status);
          res.end();
        }
      }
    },
    async close() {
      r.release();
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
  return r;
}
