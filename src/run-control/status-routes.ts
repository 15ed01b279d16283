// `GET …/activations/{id}/status` (run-control spec §4.2): 200 with state and timings for any known activation, in
// flight or finished; never params, result or logs. `?wait` / `Prefer: wait` park until the record commits.
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { ApiContext } from '../api/server.js';
import { ApiError, Messages, badRequest } from '../api/errors.js';
import { ownNamespace } from '../api/routes/namespace-access.js';
import { statusOfEntry, statusOfRecord } from './activation-state.js';
import { parseWait, waitForRecord } from './wait.js';
import { progressField } from './progress.js';

type Req = { Params: { namespace: string; id: string }; Querystring: { wait?: string } };

const params = {
  type: 'object',
  properties: { namespace: { type: 'string' }, id: { type: 'string' } },
  required: ['namespace', 'id'],
} as const;

export async function statusRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store } = ctx;
  app.get<Req>(
    '/api/v1/namespaces/:namespace/activations/:id/status',
    {
      schema: {
        tags: ['Activations'],
        summary: 'State and timings of an activation, in flight or finished',
        params,
        querystring: { type: 'object', properties: { wait: { type: 'string', description: 'ms to wait for the record (≤ 60000)' } } },
      } as FastifySchema,
    },
    async (req, reply) => {
      const ns = ownNamespace(req, req.params.namespace);
      const id = req.params.id;
      if (id.length !== 32) throw badRequest(`Activation id length is ${id.length} but must be 32.`);
      const wait = parseWait(req, reply);
      if (wait !== undefined) await waitForRecord(ctx, ns, id, wait, reply);
      const rec = await store.getActivation(ns, id);
      if (rec) return statusOfRecord(rec);
      const entry = await store.getInFlight(ns, id);
      if (entry) return statusOfEntry(entry, await progressField(store, ns, id));
      const late = await store.getActivation(ns, id);
      if (late) return statusOfRecord(late);
      throw new ApiError(404, Messages.activationNotFound);
    },
  );
}
