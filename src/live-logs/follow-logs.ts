// GET …/activations/{id}/logs?follow=true (§4.5): the lines of an activation as server-sent events (or raw lines
// with Accept: text/plain), stored lines first, then each batch as it is written, then `end`. A follower is woken by
// the store (in-process for SQLite, NOTIFY on PostgreSQL; it marks the activation watched so its completion is
// announced across nodes); a slow check every 5 s is only a safety net.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActivationRecord } from '../types.js';
import type { Store } from '../store/store.js';
import { ApiError, Messages, badRequest } from '../api/errors.js';

export interface FollowOptions {
  store: Store;
  /** Most concurrent followers per namespace on this node (429 beyond). */
  maxFollowers: number;
  /**
   * Stream lifetime before `event: timeout` (the client reconnects with Last-Event-ID): the action's timeout plus a
   * margin, so a stream never outlives the run it follows by much (§4.5).
   */
  lifetimeMs: (namespace: string, activationId: string) => Promise<number>;
  pingMs?: number;
  recheckMs?: number;
}

const TRUNCATED = /^\S+\s+stderr: Logs were truncated because the total bytes size exceeds the limit of /;

/** Sends the stream of one activation; resolves when the stream is closed. */
export class LogFollowers {
  private readonly perNamespace = new Map<string, number>();

  constructor(private readonly o: FollowOptions) {}

  count(namespace: string): number {
    return this.perNamespace.get(namespace) ?? 0;
  }

  async follow(req: FastifyRequest, reply: FastifyReply, namespace: string, id: string, from: string | undefined): Promise<void> {
    if (id.length !== 32) throw badRequest(`Activation id length is ${id.length} but must be 32.`);
    const resume = (req.headers['last-event-id'] as string | undefined) ?? from;
    let after = 0;
    if (resume !== undefined && resume !== '') {
      if (!/^\d{1,9}$/.test(resume)) throw badRequest(Messages.malformedQuery('from', 'a line sequence number is expected'));
      after = Number(resume);
    }
    if (this.count(namespace) >= this.o.maxFollowers) {
      throw new ApiError(429, `Too many log followers for this namespace (allowed: ${this.o.maxFollowers}).`);
    }
    const { store } = this.o;
    let record = await store.getActivation(namespace, id);
    let live = record ? undefined : await store.readLiveLogs(namespace, id, after);
    if (!record && !live?.state) {
      // Its record may have been committed between the two reads.
      record = await store.getActivation(namespace, id);
      if (!record) throw new ApiError(404, Messages.activationNotFound);
    }
    const lifetimeMs = record ? 0 : await this.o.lifetimeMs(namespace, id);
    const sse = !/text\/plain/.test(String(req.headers.accept ?? ''));
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'Content-Type': sse ? 'text/event-stream; charset=utf-8' : 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      'Access-Control-Allow-Origin': '*',
      Connection: 'keep-alive',
    });
    raw.flushHeaders?.();
    this.perNamespace.set(namespace, this.count(namespace) + 1);

    let closed = false;
    let state: string | undefined;
    let progress: string | undefined;
    let truncatedSent = false;
    const event = (name: string, data: unknown, seq?: number) => {
      if (!sse || closed) return;
      raw.write(`${seq !== undefined ? `id: ${seq}\n` : ''}event: ${name}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    };
    const line = (seq: number, text: string) => {
      if (seq <= after || closed) return;
      after = seq;
      if (sse) raw.write(`id: ${seq}\nevent: log\ndata: ${text.replace(/\r?\n/g, ' ')}\n\n`);
      else raw.write(`${text}\n`);
    };
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(ping);
      clearInterval(recheck);
      clearTimeout(lifetime);
      offLive();
      offDone();
      this.perNamespace.set(namespace, Math.max(0, this.count(namespace) - 1));
      raw.end();
      done();
    };
    const ended = (rec: ActivationRecord) => {
      rec.logs.forEach((l, i) => {
        if (TRUNCATED.test(l) && !truncatedSent) {
          truncatedSent = true;
          event('truncated', { seq: i + 1 });
        }
        line(i + 1, l);
      });
      const st = rec.response.statusCode === 0 ? 'succeeded' : rec.annotations.some((a) => a.key === 'cancelled' && a.value) ? 'cancelled' : 'failed';
      event('end', { state: st, statusCode: rec.response.statusCode, status: rec.response.status });
      close();
    };
    const showLive = (l: NonNullable<typeof live>) => {
      if (l.state && l.state !== state) {
        state = l.state;
        event('state', { state, attempt: 1 });
      }
      for (const x of l.lines) line(x.seq, x.line);
      if (l.progress !== undefined && l.progress !== progress) {
        progress = l.progress;
        event('progress', progress);
      }
      if (l.truncated && !truncatedSent) {
        truncatedSent = true;
        event('truncated', { seq: after });
      }
    };
    // One read at a time; a wake-up during a read triggers one more.
    let reading = false;
    let again = false;
    const pull = async (): Promise<void> => {
      if (closed) return;
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          const l = await store.readLiveLogs(namespace, id, after);
          if (l.state) showLive(l);
          else {
            const rec = await store.getActivation(namespace, id);
            if (rec) return ended(rec);
            // Swept or gone without a record (should not happen): nothing more will come.
            event('end', { state: 'unknown' });
            return close();
          }
        } while (again && !closed);
      } catch {
        // a store hiccup: the next wake-up or recheck reads again
      } finally {
        reading = false;
      }
    };
    const offLive = store.onLiveLogs((aid) => aid === id && void pull());
    const offDone = store.onCompleted((aid, rec) => {
      if (aid !== id) return;
      if (rec) ended(rec);
      else void pull();
    });
    const ping = setInterval(() => !closed && sse && raw.write(': ping\n\n'), this.o.pingMs ?? 15_000);
    // A safety net only (a notification lost with a dropped database connection): wake-ups come from the store.
    const recheck = setInterval(() => void pull(), this.o.recheckMs ?? 5000);
    const lifetime = setTimeout(() => {
      event('timeout', { from: after });
      close();
    }, lifetimeMs);
    raw.on('close', close);

    if (sse) raw.write('retry: 2000\n\n');
    if (record) ended(record);
    else {
      showLive(live!);
      // Asks for this activation's completion to be announced to every node (PostgreSQL NOTIFY), so a run on another
      // node that ends before writing a live line wakes this follower too; then reads what came meanwhile.
      void store.watchInFlight(namespace, id).catch(() => undefined).finally(() => void pull());
    }
    await finished;
  }
}
