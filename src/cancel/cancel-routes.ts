// Cancel routes (run-control spec §4.4): `DELETE …/activations/{id}[?reason=]`, its alias `POST …/activations/{id}/cancel`
// `{"reason"}`, and the bulk `DELETE …/activations?state=queued[,running][&name&since&upto]`. Same auth as the reads.
// A DELETE never purges a record (retention does).
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { ApiContext } from '../api/server.js';
import { ApiError, Messages, badRequest } from '../api/errors.js';
import { parseEpoch } from '../api/list-params.js';
import { ownNamespace } from '../api/routes/namespace-access.js';
import type { CancelRequest, QueueState } from '../types.js';
import { recordState } from '../run-control/activation-state.js';
import { cancelActivation } from './cancel-activation.js';
import { MAX_REASON_CHARS } from './cancelled-record.js';

type OneReq = { Params: { namespace: string; id: string }; Querystring: { reason?: string }; Body: unknown };
type BulkReq = { Params: { namespace: string }; Querystring: Record<string, string | undefined> };

/** A running activation dead within this long is answered 200 with its record, else 202 (still cancelling). */
const ANSWER_WITHIN_MS = 1_000;
/** Bulk cancels at most this many activations per request; the cancels run this many at a time. */
const BULK_MAX = 10_000;
const BULK_PARALLEL = 8;
const BULK_STATES: ReadonlySet<string> = new Set(['queued', 'running']);
const NAME_FILTER = /^[^/]+(\/[^/]+)?$/;

const params = {
  type: 'object',
  properties: { namespace: { type: 'string' }, id: { type: 'string' } },
  required: ['namespace', 'id'],
} as const;
const reasonQuery = { type: 'object', properties: { reason: { type: 'string', description: `why (kept in the record's cancelReason; ≤ ${MAX_REASON_CHARS} characters)` } } };
// 200 (the cancelled record, as GET …/activations/{id} answers it), 404 and 409 (OpenWhisk error bodies; 409 adds
// `state`) are sent unserialized, so a record stays byte for byte what the GET sends.
const oneResponses = {
  202: {
    description: 'Still cancelling (the grace has not ended); GET …/status or ?wait for the record',
    type: 'object',
    properties: { activationId: { type: 'string' }, state: { type: 'string', enum: ['cancelling'] } },
  },
};

function reasonOf(raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw badRequest("The field 'reason' must be a string.");
  if (raw.length > MAX_REASON_CHARS) throw badRequest(`The cancel reason is longer than ${MAX_REASON_CHARS} characters.`);
  return raw;
}

export async function cancelRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store, waiters } = ctx;

  const cancelOne = async (req: FastifyRequest<OneReq>, reply: FastifyReply, reasonRaw: unknown) => {
    const ns = ownNamespace(req, req.params.namespace);
    const id = req.params.id;
    if (id.length !== 32) throw badRequest(`Activation id length is ${id.length} but must be 32.`);
    const cancel: CancelRequest = { requestedAt: Date.now(), by: req.identity.subject };
    const reason = reasonOf(reasonRaw);
    if (reason !== undefined) cancel.reason = reason;
    // Registered first: the record of a run killed at once must not slip by between the cancel and the wait.
    const waiter = waiters.register(ns, id, { slowPoll: false });
    try {
      const r = await cancelActivation(store, ns, id, cancel);
      switch (r.kind) {
        case 'unknown':
          throw new ApiError(404, Messages.activationNotFound);
        case 'finished': {
          const state = recordState(r.record);
          throw new ApiError(409, `The activation already completed with status '${state}'.`, {}, { state });
        }
        case 'cancelled':
          return r.record;
        case 'cancelling': {
          if (r.previous === 'running') {
            const record = await waiter.wait(Math.max(0, ANSWER_WITHIN_MS - (Date.now() - req.received)));
            if (record) return record;
            const stored = await store.getActivation(ns, id);
            if (stored) return stored;
          }
          reply.code(202).header('Location', `/api/v1/namespaces/${encodeURIComponent(req.params.namespace)}/activations/${id}/status`);
          return { activationId: id, state: 'cancelling' };
        }
      }
    } finally {
      waiter.cancel();
    }
  };

  app.delete<OneReq>(
    '/api/v1/namespaces/:namespace/activations/:id',
    {
      schema: {
        tags: ['activations'],
        summary: 'Cancel an activation: queued work never runs; running work is stopped (SIGTERM, grace, SIGKILL)',
        params,
        querystring: reasonQuery,
        response: oneResponses,
      } as FastifySchema,
    },
    (req, reply) => cancelOne(req, reply, req.query.reason),
  );

  app.post<OneReq>(
    '/api/v1/namespaces/:namespace/activations/:id/cancel',
    {
      schema: {
        tags: ['activations'],
        summary: 'Cancel an activation (alias of DELETE …/activations/{id}); body {"reason"} optional',
        params,
        querystring: reasonQuery,
        response: oneResponses,
      } as FastifySchema,
    },
    (req, reply) => {
      const body = req.body;
      if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
        throw badRequest('The request body must be a JSON object, e.g. {"reason": "…"}.');
      }
      const fromBody = (body as { reason?: unknown } | undefined)?.reason;
      return cancelOne(req, reply, fromBody !== undefined ? fromBody : req.query.reason);
    },
  );

  app.delete<BulkReq>(
    '/api/v1/namespaces/:namespace/activations',
    {
      schema: {
        tags: ['activations'],
        summary: 'Cancel in-flight activations in bulk (state is required)',
        params: { type: 'object', properties: { namespace: { type: 'string' } }, required: ['namespace'] },
        querystring: {
          type: 'object',
          properties: {
            state: { type: 'string', description: 'required: queued, running, or queued,running' },
            name: { type: 'string', description: "a function's name (pkg/fn) or a package" },
            since: { type: 'string' },
            upto: { type: 'string' },
            reason: { type: 'string' },
          },
        },
        response: { 200: { type: 'object', properties: { cancelled: { type: 'integer' } } } },
      } as FastifySchema,
    },
    async (req) => {
      const ns = ownNamespace(req, req.params.namespace);
      const q = req.query;
      if (q.state === undefined || q.state.trim() === '') {
        throw badRequest("The parameter 'state' is required to cancel activations in bulk (queued, running or queued,running).");
      }
      const states = [...new Set(q.state.split(',').map((s) => s.trim()).filter(Boolean))];
      for (const s of states) if (!BULK_STATES.has(s)) throw badRequest(`The parameter 'state' must be queued, running or both; '${s}' cannot be cancelled.`);
      const name = q.name === undefined || q.name === '' ? undefined : q.name;
      if (name !== undefined && !NAME_FILTER.test(name)) throw badRequest(`Parameter may be a 'simple' name or 'package-name/simple' name: ${name}`);
      const since = parseEpoch(q.since);
      const upto = parseEpoch(q.upto);
      const cancel: CancelRequest = { requestedAt: Date.now(), by: req.identity.subject };
      const reason = reasonOf(q.reason);
      if (reason !== undefined) cancel.reason = reason;
      const entries = await store.listInFlight({
        namespace: ns,
        states: states as QueueState[],
        ...(name ? { name } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(upto !== undefined ? { upto } : {}),
        limit: BULK_MAX,
        skip: 0,
      });
      let cancelled = 0;
      let next = 0;
      const worker = async () => {
        while (next < entries.length) {
          const e = entries[next++]!;
          const r = await cancelActivation(store, ns, e.activationId, cancel);
          // Counted when this request moved it: queued → record written, running → being killed.
          if ((r.kind === 'cancelled' && e.state === 'queued') || (r.kind === 'cancelling' && r.previous === 'running')) cancelled++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(BULK_PARALLEL, entries.length) }, worker));
      return { cancelled };
    },
  );
}
