// `POST …/activations/{id}/replay` and the bulk `POST …/activations/replay` (issue 11 point 5, run-control §4.10).
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { ApiContext } from '../api/server.js';
import { ApiError, badRequest } from '../api/errors.js';
import { ownNamespace } from '../api/routes/namespace-access.js';
import { parseBool, parseEpoch } from '../api/list-params.js';
import { parseStatusCodes } from '../api/activation-cursor.js';
import { replayActivation } from './replay.js';
import type { ActivationListFilter } from '../types.js';

/** Bulk replay bound (issue 11: ≤ 1,000 per request). */
export const BULK_REPLAY_MAX = 1_000;
const NAME_FILTER = /^[^/]+(\/[^/]+)?$/;

type OneReq = { Params: { namespace: string; id: string }; Querystring: { version?: string } };
type BulkReq = { Params: { namespace: string }; Querystring: { version?: string }; Body: unknown };

const versionQuery = {
  type: 'object',
  properties: { version: { type: 'string', description: "'latest': run the function's current version if it changed since" } },
} as const;

function parseVersion(raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  if (raw !== 'latest') throw badRequest("The parameter 'version' may only be 'latest'.");
  return true;
}

export async function replayRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store } = ctx;

  app.post<OneReq>(
    '/api/v1/namespaces/:namespace/activations/:id/replay',
    {
      schema: {
        tags: ['Activations'],
        summary: 'Invoke a finished activation again: same function version, same parameters; 202 with the new id',
        params: { type: 'object', properties: { namespace: { type: 'string' }, id: { type: 'string' } }, required: ['namespace', 'id'] },
        querystring: versionQuery,
      } as FastifySchema,
    },
    async (req, reply) => {
      const ns = ownNamespace(req, req.params.namespace);
      const id = req.params.id;
      if (!/^[0-9a-f]{32}$/.test(id)) throw badRequest(`The activation id '${id}' is not an activation id.`);
      const latest = parseVersion(req.query.version);
      const activationId = await replayActivation(store, ctx.invocations, req.identity, ns, id, { latest, transactionId: String(req.id) });
      reply.header('x-openwhisk-activation-id', activationId);
      return reply.code(202).send({ activationId, replayOf: id });
    },
  );

  app.post<BulkReq>(
    '/api/v1/namespaces/:namespace/activations/replay',
    {
      bodyLimit: 64 * 1024,
      schema: {
        tags: ['Activations'],
        summary: 'Replay the finished activations a filter selects (name, statusCode, since, upto), newest first, at most 1000',
        params: { type: 'object', properties: { namespace: { type: 'string' } }, required: ['namespace'] },
        querystring: versionQuery,
      } as FastifySchema,
    },
    async (req, reply) => {
      const ns = ownNamespace(req, req.params.namespace);
      const latest = parseVersion(req.query.version);
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('The request content must be a JSON object: {"filter": {…}, "limit": n}.');
      const f = (body.filter ?? {}) as Record<string, unknown>;
      if (typeof f !== 'object' || f === null || Array.isArray(f)) throw badRequest("'filter' must be an object with name, statusCode, since, upto.");
      for (const k of Object.keys(f)) if (!['name', 'statusCode', 'since', 'upto', 'retriesExhausted'].includes(k)) throw badRequest(`Unknown filter field '${k}'.`);
      const limit = body.limit === undefined ? 100 : body.limit;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > BULK_REPLAY_MAX) {
        throw badRequest(`'limit' must be a whole number from 1 to ${BULK_REPLAY_MAX}.`);
      }
      if (f.name !== undefined && (typeof f.name !== 'string' || !NAME_FILTER.test(f.name))) throw badRequest("'filter.name' must be a 'simple' name or 'package-name/simple' name.");
      const codes = f.statusCode === undefined ? undefined : parseStatusCodes(Array.isArray(f.statusCode) ? f.statusCode.join(',') : String(f.statusCode));
      const since = f.since === undefined ? undefined : parseEpoch(f.since);
      const upto = f.upto === undefined ? undefined : parseEpoch(f.upto);
      const deadOnly = f.retriesExhausted === undefined ? false : parseBool(String(f.retriesExhausted), 'retriesExhausted');
      const filter: ActivationListFilter = {
        namespace: ns,
        ...(typeof f.name === 'string' ? { name: f.name } : {}),
        ...(codes ? { statusCodes: codes } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(upto !== undefined ? { upto } : {}),
        limit,
        skip: 0,
      };
      const picked = (await store.listActivations(filter, deadOnly)) as Array<{ activationId: string; annotations: Array<{ key: string; value: unknown }>; statusCode: number }>;
      const targets = deadOnly
        ? picked.filter((r) => r.statusCode !== 0 && r.annotations.some((a) => a.key === 'retriesExhausted' && (a.value === true || a.value === 'eventAge')))
        : picked;
      const activationIds: string[] = [];
      const skipped: Array<{ activationId: string; error: string }> = [];
      for (const t of targets) {
        try {
          activationIds.push(await replayActivation(store, ctx.invocations, req.identity, ns, t.activationId, { latest, transactionId: String(req.id) }));
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          skipped.push({ activationId: t.activationId, error: err.message });
          // A throttle stops the batch: the rest would be refused the same way.
          if (err.status === 429) break;
        }
      }
      return reply.code(activationIds.length ? 202 : 200).send({ replayed: activationIds.length, activationIds, ...(skipped.length ? { skipped } : {}) });
    },
  );
}
