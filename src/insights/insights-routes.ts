// GET /api/v1/namespaces/{ns}/insights?period=1h|24h|7d&name=<function>: aggregates for the console's Insights pages.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiContext } from '../api/server.js';
import { ownNamespace } from '../api/routes/namespace-access.js';
import { badRequest, Messages } from '../api/errors.js';
import { PERIODS, readInsights, type Period } from './insights.js';

const schema = {
  tags: ['Flare extensions'],
  summary: 'Invocations per interval by status, p50/p95 duration, cold starts and errors of a namespace or one function',
  params: { type: 'object', properties: { namespace: { type: 'string' } }, required: ['namespace'] },
  querystring: {
    type: 'object',
    properties: {
      period: { type: 'string', description: '1h (1-minute intervals), 24h (15-minute intervals) or 7d (1-hour intervals); default 1h' },
      name: { type: 'string', description: 'a function ("name" or "package/name"); the whole namespace without it' },
    },
  },
} as const;

export async function insightsRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.get('/api/v1/namespaces/:namespace/insights', { schema }, async (req: FastifyRequest<{ Params: { namespace: string }; Querystring: { period?: string; name?: string } }>) => {
    const ns = ownNamespace(req, req.params.namespace);
    const period = (req.query.period ?? '1h') as Period;
    if (!(period in PERIODS)) throw badRequest(Messages.malformedQuery('period', `expected 1h, 24h or 7d, got '${req.query.period}'`));
    const name = req.query.name ?? '';
    if (req.query.name !== undefined && (name === '' || name.length > 512)) throw badRequest(Messages.malformedQuery('name', 'a function name is expected'));
    return readInsights(ctx.store, ns, name, period);
  });
}
