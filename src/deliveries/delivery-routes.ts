// `GET …/activations/{id}/deliveries`: every attempt of the activation's completion callback, oldest first
// (`[{attempt, at, status|error, latencyMs, nextAttemptAt}]`; the body stays an array, the delivery's state, webhook
// id and URL — query string redacted — come in Flare-* headers). `POST` sends it again now, same webhook-id.
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { ApiContext } from '../api/server.js';
import { ApiError, Messages, badRequest } from '../api/errors.js';
import { ownNamespace } from '../api/routes/namespace-access.js';
import type { DeliveryView } from '../store/store.js';
import { redactUrl } from './callback-url.js';
import { webhookId } from './payload.js';

type Req = { Params: { namespace: string; id: string } };

const params = {
  type: 'object',
  properties: { namespace: { type: 'string' }, id: { type: 'string' } },
  required: ['namespace', 'id'],
} as const;

const attempt = {
  type: 'object',
  properties: {
    attempt: { type: 'integer' },
    at: { type: 'integer', description: 'epoch ms the attempt started' },
    url: { type: 'string', description: 'the callback URL, query string redacted' },
    status: { type: 'integer', description: 'HTTP status of the answer, if one came' },
    error: { type: 'string' },
    latencyMs: { type: 'integer' },
    nextAttemptAt: { type: 'integer', description: 'epoch ms of the next attempt, if one is scheduled' },
  },
  required: ['attempt', 'at', 'url', 'latencyMs'],
} as const;

export async function deliveryRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store } = ctx;

  /** The delivery, or why there is none: 404 for an unknown id, 409 for one without a callback (yet). */
  async function find(ns: string, id: string, forPost: boolean): Promise<DeliveryView | undefined> {
    if (!/^[0-9a-f]{32}$/.test(id)) throw badRequest(`The activation id '${id}' is not valid.`);
    const d = await store.getDeliveries(ns, id);
    if (d) return d;
    if (await store.getActivation(ns, id)) {
      if (forPost) throw new ApiError(409, 'The activation has no completion callback.');
      return undefined;
    }
    if (await store.getInFlight(ns, id)) {
      if (forPost) throw new ApiError(409, 'The activation has not finished: its callback is sent when it does.');
      return undefined;
    }
    throw new ApiError(404, Messages.activationNotFound);
  }

  app.get<Req>(
    '/api/v1/namespaces/:namespace/activations/:id/deliveries',
    {
      schema: {
        tags: ['Activations'],
        summary: "Attempts of the activation's completion callback",
        params,
        response: { 200: { type: 'array', items: attempt } },
      } as FastifySchema,
    },
    async (req, reply) => {
      const ns = ownNamespace(req, req.params.namespace);
      const d = await find(ns, req.params.id, false);
      if (!d) {
        reply.header('flare-delivery-state', 'none');
        return [];
      }
      const url = redactUrl(d.url);
      reply.header('flare-delivery-state', d.state);
      reply.header('flare-webhook-id', webhookId(d.activationId, d.event));
      reply.header('flare-callback-url', url);
      if (d.nextAttemptAt !== undefined) reply.header('flare-next-attempt-at', String(d.nextAttemptAt));
      return d.attempts.map((a) => ({ ...a, url }));
    },
  );

  app.post<Req>(
    '/api/v1/namespaces/:namespace/activations/:id/deliveries',
    {
      schema: {
        tags: ['Activations'],
        summary: "Sends the activation's completion callback again now (same webhook-id)",
        params,
        response: {
          202: {
            type: 'object',
            properties: { activationId: { type: 'string' }, webhookId: { type: 'string' }, state: { type: 'string' } },
          },
        },
      } as FastifySchema,
    },
    async (req, reply) => {
      const ns = ownNamespace(req, req.params.namespace);
      const d = (await find(ns, req.params.id, true))!;
      if (!(await store.redeliver(ns, d.activationId))) throw new ApiError(404, Messages.activationNotFound);
      return reply.code(202).send({ activationId: d.activationId, webhookId: webhookId(d.activationId, d.event), state: 'pending' });
    },
  );
}
