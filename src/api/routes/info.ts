// Server info (D10, no auth): GET / and GET /api/v1 with runtimes and limits; the caller's namespace list and limits.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiContext } from '../server.js';
import type { Config } from '../../config.js';
import { runtimesMap } from '../../kinds.js';
import type { NamespaceLimits } from '../../types.js';
import { ApiError, Messages } from '../errors.js';

const MB = 1_048_576;

export function limitsInfo(config: Config): Record<string, number> {
  const l = config.limits;
  return {
    actions_per_minute: l.invocationsPerMinute,
    triggers_per_minute: l.firesPerMinute,
    concurrent_actions: l.concurrentInvocations,
    sequence_length: l.sequenceMaxLength,
    min_action_duration: l.timeoutMin,
    max_action_duration: l.timeoutMax,
    min_action_memory: l.memoryMin * MB,
    max_action_memory: l.memoryMax * MB,
    min_action_logs: l.logsMin * MB,
    max_action_logs: l.logsMax * MB,
  };
}

/** A namespace's effective limits as GET /api/v1 reports them (allowed_kinds only when restricted). */
export function namespaceLimitsView(l: NamespaceLimits): Record<string, unknown> {
  return {
    invocations_per_minute: l.invocationsPerMinute,
    concurrent_invocations: l.concurrentInvocations,
    fires_per_minute: l.firesPerMinute,
    max_action_memory_mb: l.maxMemoryMb,
    max_action_timeout_ms: l.maxTimeoutMs,
    store_activations: l.storeActivations,
    ...(l.allowedKinds ? { allowed_kinds: l.allowedKinds } : {}),
  };
}

function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('text/html');
}

export async function infoRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { config } = ctx;

  app.get('/', async (req, reply) => {
    if (wantsHtml(req)) return reply.redirect('/console/', 302);
    return {
      description: 'OpenWhisk',
      support: { github: 'https://github.com/apache/openwhisk/issues', slack: 'http://slack.openwhisk.org' },
      api_paths: ['/api/v1'],
      limits: limitsInfo(config),
      runtimes: runtimesMap(),
    };
  });

  app.get('/api/v1', async (req) => {
    // With valid credentials, the caller's namespace and its effective limits (`flare admin namespace limits`).
    const identity = await ctx.auth.tryAuthenticate(req.headers.authorization);
    return {
      description: 'OpenWhisk API',
      api_version: '1.0.0',
      api_version_path: 'v1',
      build: 'flare',
      buildno: ctx.serverInfo().version,
      swagger_paths: { ui: '/docs', 'api-docs': '/api-docs' },
      limits: limitsInfo(config),
      runtimes: runtimesMap(),
      flare: ctx.serverInfo(),
      ...(identity ? { namespace: identity.namespace, namespace_limits: namespaceLimitsView(identity.limits) } : {}),
    };
  });

  app.get('/api/v1/namespaces', async (req) => {
    const identity = await ctx.auth.authenticate(req.headers.authorization);
    return [identity.namespace];
  });

  app.get<{ Params: { namespace: string } }>('/api/v1/namespaces/:namespace/limits', async (req) => {
    const identity = await ctx.auth.authenticate(req.headers.authorization);
    const ns = req.params.namespace === '_' ? identity.namespace : req.params.namespace;
    if (ns !== identity.namespace) throw new ApiError(403, Messages.notAuthorized(ns));
    const l = config.limits;
    return {
      invocationsPerMinute: identity.limits.invocationsPerMinute,
      concurrentInvocations: identity.limits.concurrentInvocations,
      firesPerMinute: identity.limits.firesPerMinute,
      minActionMemory: l.memoryMin,
      maxActionMemory: identity.limits.maxMemoryMb,
      minActionLogs: l.logsMin,
      maxActionLogs: l.logsMax,
      minActionTimeout: l.timeoutMin,
      maxActionTimeout: identity.limits.maxTimeoutMs,
      ...(identity.limits.allowedKinds ? { allowedKinds: identity.limits.allowedKinds } : {}),
      storeActivations: identity.limits.storeActivations,
      minActionConcurrency: 1,
      maxActionConcurrency: 1,
      maxParameterSize: '1 MB',
    };
  });
}
