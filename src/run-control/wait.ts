// `?wait=<ms>` and `Prefer: wait=<s>` (RFC 7240) on the activation GETs (run-control spec §4.3): park until the record
// commits, then answer exactly what the same GET without wait answers. Waiters are woken by the store's completion
// notifications, never by polling; a closed connection drops its waiter.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import type { CompletionWaiters } from './completion-waiters.js';
import { badRequest } from '../api/errors.js';

/** OpenWhisk's longest blocking wait; longer asks are clamped, not refused. */
export const MAX_WAIT_MS = 60_000;

/**
 * The wait asked for, in ms, or undefined. `?wait` wins over `Prefer`; a `Prefer: wait` that is honoured gets
 * `Preference-Applied` on the reply.
 */
export function parseWait(req: FastifyRequest, reply: FastifyReply): number | undefined {
  const q = (req.query as Record<string, string | undefined>).wait;
  if (q !== undefined && q !== '') {
    if (!/^\d+$/.test(q)) throw badRequest("The parameter 'wait' must be a whole number of milliseconds.");
    return Math.min(MAX_WAIT_MS, Number(q));
  }
  const prefer = req.headers.prefer;
  const m = (Array.isArray(prefer) ? prefer.join(',') : prefer ?? '').match(/(?:^|[,;\s])wait\s*=\s*"?(\d+)"?/i);
  if (!m) return undefined;
  const seconds = Math.min(MAX_WAIT_MS / 1000, Number(m[1]));
  reply.header('Preference-Applied', `wait=${seconds}`);
  return seconds * 1000;
}

/**
 * Resolves once the record of `activationId` is committed, `ms` elapse, or the client goes away. Unknown ids return
 * at once (nothing will ever commit). The caller then answers as if no wait had been asked.
 */
export async function waitForRecord(
  deps: { store: Store; waiters: CompletionWaiters },
  namespace: string,
  activationId: string,
  ms: number,
  reply: FastifyReply,
): Promise<void> {
  if (ms <= 0) return;
  // Registered first so a completion between the reads below and the park cannot be missed.
  const waiter = deps.waiters.register(namespace, activationId, { slowPoll: false });
  const onClose = () => waiter.cancel();
  reply.raw.once('close', onClose);
  try {
    if (await deps.store.getActivation(namespace, activationId)) return;
    // Marks the row so its completion reaches this node too (PostgreSQL); no row = finished meanwhile or unknown.
    if (!(await deps.store.watchInFlight(namespace, activationId))) return;
    await waiter.wait(ms);
  } finally {
    reply.raw.off('close', onClose);
    waiter.cancel();
  }
}
