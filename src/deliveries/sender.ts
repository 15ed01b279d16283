// One callback POST, SSRF-safe (run-control §4.6): the host is resolved here, at send time; every address it
// resolves to must pass the AddressPolicy; the connection goes to the vetted address (a custom lookup, so the Host
// header and TLS SNI keep the name and DNS rebinding cannot swap the address). node:http never follows redirects and
// never reads proxy variables. The status decides; at most 64 KB of the answer is read.
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { lookup } from 'node:dns/promises';
import type { AddressPolicy } from './address-policy.js';
import { parseRetryAfter } from './schedule.js';

const READ_MAX = 64 * 1024;

export interface SendOptions {
  policy: AddressPolicy;
  /** The whole attempt (resolve, connect, answer) must end within this. */
  timeoutMs: number;
}

export interface SendResult {
  /** HTTP status, when an answer came. */
  status?: number;
  /** Why it is not a success (absent for a 2xx). */
  error?: string;
  /** Retry-After of a 429/503, in ms. */
  retryAfterMs?: number;
  /** The request never left (refused address, DNS failure, bad URL). */
  notSent?: boolean;
  latencyMs: number;
}

export async function sendCallback(url: string, headers: Record<string, string>, body: string, o: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, 'latencyMs'>): SendResult => ({ ...r, latencyMs: Math.round(performance.now() - started) });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return done({ error: 'the callback URL is not a valid URL', notSent: true });
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const deadline = AbortSignal.timeout(o.timeoutMs);
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await withDeadline(lookup(host, { all: true, verbatim: true }), deadline);
  } catch (err) {
    return done({ error: deadline.aborted ? `no answer within ${o.timeoutMs} ms (resolving ${host})` : `cannot resolve ${host}: ${(err as Error).message}`, notSent: true });
  }
  if (addresses.length === 0) return done({ error: `cannot resolve ${host}: no address`, notSent: true });
  // Every address must pass, not just the first: a name may list a public and a private one.
  for (const a of addresses) {
    const why = o.policy.refusal(a.address);
    if (why) {
      const shown = a.address === host ? host : `${host} (${a.address})`;
      return done({ error: `refused: ${shown} is a ${why}; set FLARE_WEBHOOK_ALLOW_CIDRS or FLARE_WEBHOOK_ALLOW_PRIVATE=1 to allow it`, notSent: true });
    }
  }
  const vetted = addresses[0]!;
  const pinned: LookupFunction = (_name, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: typeof addresses) => void)(null, [vetted]);
    else cb(null, vetted.address, vetted.family);
  };
  const payload = Buffer.from(body);
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener('abort', onAbort);
      resolve(done(r));
    };
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request({
      method: 'POST',
      protocol: u.protocol,
      hostname: host,
      port: u.port || (u.protocol === 'https:' ? 443 : 80),
      path: `${u.pathname}${u.search}`,
      headers: { ...headers, host: u.host, 'content-type': 'application/json', 'content-length': String(payload.length) },
      // No pooling and no global agent: each attempt connects to its own vetted address.
      agent: false,
      lookup: pinned,
      ...(isIP(host) ? {} : { servername: host }),
    });
    const onAbort = () => {
      req.destroy();
      finish({ error: `no answer within ${o.timeoutMs} ms` });
    };
    deadline.addEventListener('abort', onAbort);
    req.on('error', (err) => finish({ error: `connection failed: ${(err as NodeJS.ErrnoException).code ?? err.message}` }));
    req.on('response', (res) => {
      // The status decides; the body is drained (at most 64 KB) only so the receiver is not cut off mid-write.
      const status = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > READ_MAX) res.destroy();
      });
      res.on('error', () => undefined);
      res.on('end', () => req.destroy());
      if (status >= 200 && status < 300) return finish({ status });
      if (status >= 300 && status < 400) return finish({ status, error: `HTTP ${status}: redirects are not followed` });
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
      finish({ status, error: `HTTP ${status}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    });
    req.end(payload);
  });
}

function withDeadline<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new Error('timed out'));
    const onAbort = () => reject(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
