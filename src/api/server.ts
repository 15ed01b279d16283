// The HTTP API: a Fastify app with OpenWhisk's conventions (error bodies, transaction ids, CORS) and one plugin
// per collection. Everything it needs is passed in.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import type { Identity } from '../types.js';
import { newTransactionId } from '../ids.js';
import { ApiError, Messages } from './errors.js';
import { Authenticator } from './auth.js';
import { Throttle } from './throttle.js';
import { CompletionWaiters } from './completion-waiters.js';
import { InvocationService } from './invocations.js';
import { infoRoutes } from './routes/info.js';
import { actionRoutes } from './routes/actions.js';
import { packageRoutes } from './routes/packages.js';
import { activationRoutes } from './routes/activations.js';
import { webRoutes } from './routes/web.js';
import { consoleRoutes } from './routes/console.js';
import { triggerRoutes } from './routes/triggers.js';
import { ruleRoutes } from './routes/rules.js';
import { doTriggerRoutes } from './routes/do-triggers.js';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
    received: number;
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
}

export interface ApiContext extends ApiDeps {
  auth: Authenticator;
  invocations: InvocationService;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, DELETE, POST, PUT, HEAD',
  'Access-Control-Allow-Headers': 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent',
};

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export async function buildApi(deps: ApiDeps): Promise<{ app: FastifyInstance; invocations: InvocationService; close: () => void }> {
  const { config, store } = deps;
  const app = Fastify({
    logger: false,
    // Code may be up to 48 MB; invoke payloads are limited to 1 MB on their own route.
    bodyLimit: config.limits.codeMax + 1_048_576,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : newTransactionId();
    },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 1000 },
  });
  const auth = new Authenticator(store, {
    invocationsPerMinute: config.limits.invocationsPerMinute,
    concurrentInvocations: config.limits.concurrentInvocations,
  });
  const waiters = new CompletionWaiters(store);
  const ctx: ApiContext = { ...deps, auth, invocations: new InvocationService(store, new Throttle(store), waiters) };

  app.decorateRequest('identity', null as unknown as Identity);
  app.decorateRequest('received', 0);

  // Any content type is read as JSON (OpenWhisk clients send application/json; curl -d sends form encoding).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text, (k, v) => (k === '__proto__' ? undefined : v)));
    } catch (err) {
      done(new ApiError(400, Messages.malformedBody((err as Error).message)), undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    req.received = Date.now();
    reply.header('X-Request-ID', req.id);
    if (req.url.startsWith('/api/v1') && !req.url.startsWith('/api/v1/web/')) {
      reply.headers(CORS);
      if (req.method === 'OPTIONS') return reply.code(200).send();
    }
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
    if (err instanceof ApiError) {
      reply.headers(err.headers);
      return sendError(reply, req, err.status, err.message);
    }
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const n = Number(req.headers['content-length'] ?? 0);
      return sendError(reply, req, 413, Messages.tooLarge(n, config.limits.codeMax));
    }
    if (e.validation) return sendError(reply, req, 400, Messages.malformedBody(e.message ?? 'invalid'));
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, req, e.statusCode, Messages.malformedBody(e.message ?? 'invalid'));
    }
    deps.logger.error({ err, url: req.url, reqId: req.id }, 'request failed');
    return sendError(reply, req, 500, Messages.internal);
  });

  app.setNotFoundHandler((req, reply) => {
    if (req.method === 'OPTIONS' && req.url.startsWith('/api/v1')) return reply.code(200).send();
    return sendError(reply, req, 404, Messages.notFound);
  });

  await app.register(infoRoutes, { ctx });
  await app.register(async (api) => {
    api.addHook('onRequest', async (req) => {
      req.identity = await auth.authenticate(req.headers.authorization);
    });
    await api.register(actionRoutes, { ctx });
    await api.register(packageRoutes, { ctx });
    await api.register(activationRoutes, { ctx });
    await api.register(triggerRoutes, { ctx });
    await api.register(ruleRoutes, { ctx });
    await api.register(doTriggerRoutes, { ctx });
  });
  await app.register(webRoutes, { ctx });
  await app.register(consoleRoutes, { distDir: deps.consoleDir });
  return { app, invocations: ctx.invocations, close: () => waiters.close() };
}

export function sendError(reply: FastifyReply, req: FastifyRequest, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error: message, code: String(req.id) });
}
