// The HTTP API: a Fastify app with OpenWhisk's conventions (error bodies, transaction ids, CORS) and one plugin
// per collection. Everything it needs is passed in.
import { insightsRoutes } from '../insights/insights-routes.js';
import { namespaceDefaults } from '../tenants/namespace-limits.js';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import type { Identity } from '../types.js';
import { newTransactionId } from '../ids.js';
import { readBody, parseJsonBody } from './body-reader.js';
import { clientErrorHandler, frameworkErrors, installErrorReplies, sendError } from './error-replies.js';
import { Authenticator } from './auth.js';
import { Throttle } from './throttle.js';
import { CompletionWaiters } from '../run-control/completion-waiters.js';
import { InvocationService } from './invocations.js';
import { infoRoutes } from './routes/info.js';
import { actionRoutes } from './routes/actions.js';
import { packageRoutes } from './routes/packages.js';
import { activationRoutes } from './routes/activations.js';
import { statusRoutes } from '../run-control/status-routes.js';
import { cancelRoutes } from '../cancel/cancel-routes.js';
import { replayRoutes } from '../replay/replay-routes.js';
import { deliveryRoutes } from '../deliveries/delivery-routes.js';
import { webRoutes } from './routes/web.js';
import { consoleRoutes } from './routes/console.js';
import { triggerRoutes } from './routes/triggers.js';
import { ruleRoutes } from './routes/rules.js';
import { doTriggerRoutes } from './routes/do-triggers.js';
import type { FlareMetrics } from '../ops/metrics.js';
import { instrumentHttp } from '../ops/http-metrics.js';
import { EntityCache } from '../entity-cache/entity-cache.js';
import { LargeBodyGate, type GateTicket } from './large-body-gate.js';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
    received: number;
    /** A large-body slot (large-body-gate.ts), released when the answer is sent or the connection closes. */
    bodyTicket: GateTicket | null;
  }
}

export interface ApiDeps {
  config: Config;
  store: Store;
  logger: Logger;
  /** Extra facts for GET /api/v1 (e.g. the sandbox mode). */
  serverInfo: () => Record<string, unknown>;
  /** Where the built console lives. */
  consoleDir: string;
  /** This node's metrics. */
  metrics?: FlareMetrics;
  /** Registers routes that must exist before the API's (operations routes, OpenAPI document). */
  beforeRoutes?: (app: FastifyInstance) => Promise<void>;
}

export interface ApiContext extends ApiDeps {
  auth: Authenticator;
  invocations: InvocationService;
  /** Completion waiters of this process (blocking invokes and run control's ?wait). */
  waiters: CompletionWaiters;
  /** Actions and packages as invokes resolve them (src/entity-cache/): never stale after a write returned. */
  entities: EntityCache;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, DELETE, POST, PUT, HEAD',
  'Access-Control-Allow-Headers': 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent, Idempotency-Key, Flare-Callback-Url, X-Callback-Url',
};

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export async function buildApi(deps: ApiDeps): Promise<{ app: FastifyInstance; invocations: InvocationService; close: () => void }> {
  const { config, store } = deps;
  const app = Fastify({
    logger: false,
    // Bodies are 1 MB at most (parameters, payloads); routes taking code raise their own limit.
    bodyLimit: config.limits.payloadMax,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : newTransactionId();
    },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 1000 },
    frameworkErrors,
    clientErrorHandler,
  });
  const auth = new Authenticator(store, namespaceDefaults(config.limits));
  const waiters = new CompletionWaiters(store);
  const ctx: ApiContext = { ...deps, auth, waiters, entities: new EntityCache(store), invocations: new InvocationService(store, new Throttle(store), waiters, config.idempotencyWindowMs, deps.metrics) };

  app.decorateRequest('identity', null as unknown as Identity);
  app.decorateRequest('received', 0);
  app.decorateRequest('bodyTicket', null);
  const largeBodies = new LargeBodyGate();

  // Any content type is read as JSON (OpenWhisk clients send application/json; curl -d sends form encoding),
  // streamed under the route's body limit and refused above a nesting depth.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => {
    const onTicket = (t: GateTicket) => {
      // Freed by onResponse once answered, or here when the connection goes first (an aborted upload).
      const socket = req.raw.socket;
      if (!socket || socket.destroyed) return t.release();
      const gone = () => t.release();
      socket.once('close', gone);
      req.bodyTicket = { release: () => (socket.off('close', gone), t.release()) };
    };
    readBody(payload, req.routeOptions.bodyLimit ?? config.limits.payloadMax, largeBodies, onTicket).then(
      (buf) => {
        const text = buf.toString('utf8').trim();
        if (text === '') return done(null, undefined);
        try {
          done(null, parseJsonBody(text));
        } catch (err) {
          done(err as Error, undefined);
        }
      },
      (err) => done(err as Error, undefined),
    );
  });

  app.addHook('onResponse', async (req) => {
    req.bodyTicket?.release();
  });

  app.addHook('onRequest', async (req, reply) => {
    req.received = Date.now();
    reply.header('X-Request-ID', req.id);
    if (req.url.startsWith('/api/v1') && !req.url.startsWith('/api/v1/web/')) {
      reply.headers(CORS);
      if (req.method === 'OPTIONS') return reply.code(200).send();
    }
  });

  installErrorReplies(app, deps.logger);

  if (deps.metrics) instrumentHttp(app, deps.metrics);
  await deps.beforeRoutes?.(app);
  await app.register(infoRoutes, { ctx });
  await app.register(async (api) => {
    api.addHook('onRequest', async (req) => {
      req.identity = await auth.authenticate(req.headers.authorization);
    });
    await api.register(actionRoutes, { ctx });
    await api.register(packageRoutes, { ctx });
    await api.register(activationRoutes, { ctx });
    await api.register(statusRoutes, { ctx });
    await api.register(cancelRoutes, { ctx });
    await api.register(replayRoutes, { ctx });
    await api.register(deliveryRoutes, { ctx });
    await api.register(triggerRoutes, { ctx });
    await api.register(ruleRoutes, { ctx });
    await api.register(doTriggerRoutes, { ctx });
    await api.register(insightsRoutes, { ctx });
  });
  await app.register(webRoutes, { ctx });
  await app.register(consoleRoutes, { distDir: deps.consoleDir });
  return { app, invocations: ctx.invocations, close: () => {
    waiters.close();
    auth.close();
  } };
}

export { sendError };
