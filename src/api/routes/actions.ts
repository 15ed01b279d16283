// Actions (§2.2): list, get, create/update, delete, and invoke (§3).
import { capDefaultLimits, checkActionPolicy } from '../../tenants/action-policy.js';
import { parseIdempotencyKey, requestFingerprint } from '../../idempotency/idempotency-key.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiContext } from '../server.js';
import type { ActionDoc, ActivationRecord, PackageDoc } from '../../types.js';
import { ApiError, Messages, badRequest, notFound } from '../errors.js';
import { parseBool, parseListParams } from '../list-params.js';
import { splitActionPath } from '../entity-names.js';
import { actionSummary, actionView, buildActionDoc } from '../action-doc.js';
import { resolveAction } from '../resolve-action.js';
import { ownNamespace } from './namespace-access.js';
import { checkSequence, isSequence } from '../../invoker/sequence-components.js';
import { callbackUrlFromHeaders, checkCallbackAnnotation } from '../../deliveries/callback-url.js';

type Req = { Params: { namespace: string; '*': string }; Querystring: Record<string, string | undefined> };

export async function actionRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store, config } = ctx;

  const list = async (ns: string, pkg: string | undefined, q: Record<string, unknown>) => {
    const p = parseListParams(q, 'actions');
    if (p.count) return { actions: await store.countEntities({ namespace: ns, kind: 'action', pkg }) };
    const docs = await store.listEntities<ActionDoc>({ namespace: ns, kind: 'action', pkg, limit: p.limit, skip: p.skip });
    return docs.map(actionSummary);
  };

  app.get<Req>('/api/v1/namespaces/:namespace/actions', async (req) => list(ownNamespace(req, req.params.namespace), undefined, req.query));

  app.get<Req>('/api/v1/namespaces/:namespace/actions/*', async (req) => {
    const path = req.params['*'];
    if (path === '') return list(ownNamespace(req, req.params.namespace), undefined, req.query);
    if (path.endsWith('/') && !path.slice(0, -1).includes('/')) {
      const ns = ownNamespace(req, req.params.namespace);
      const pkg = path.slice(0, -1);
      if (!(await store.getEntity(ns, 'package', pkg, false))) throw notFound();
      return list(ns, pkg, req.query);
    }
    const withCode = req.query.code === undefined ? true : parseBool(req.query.code, 'code');
    const resolved = await resolveAction(store, req.identity, req.params.namespace, path, withCode);
    return actionView(resolved.doc, resolved.doc.exec.code, withCode);
  });

  // Code may be up to 48 MB, with up to 1 MB of parameters beside it.
  app.put<Req>('/api/v1/namespaces/:namespace/actions/*', { bodyLimit: config.limits.codeMax + config.limits.paramsMax }, async (req) => {
    const path = req.params['*'];
    const ns = ownNamespace(req, req.params.namespace, path);
    const { pkg, name } = splitActionPath(path);
    const overwrite = parseBool(req.query.overwrite, 'overwrite');
    if (pkg) {
      const p = await store.getEntity<PackageDoc>(ns, 'package', pkg, false);
      if (!p) throw notFound();
      if ('name' in p.doc.binding && p.doc.binding.name) throw badRequest('Operation not permitted on package binding.');
    }
    const fullName = pkg ? `${pkg}/${name}` : name;
    const existing = await store.getEntity<ActionDoc>(ns, 'action', fullName, true);
    if (existing && !overwrite) throw new ApiError(409, Messages.exists);
    const { doc, code } = buildActionDoc(req.body ?? {}, pkg ? `${ns}/${pkg}` : ns, name, existing?.doc, config.limits);
    if (!existing) capDefaultLimits(doc, req.body, req.identity.limits);
    checkActionPolicy(doc, ns, req.identity.limits);
    checkCallbackAnnotation(doc.annotations);
    if (isSequence(doc.exec) && (req.body as { exec?: unknown } | undefined)?.exec) {
      await checkSequence(store, req.identity, `/${ns}/${fullName}`, doc.exec.components, config.limits.sequenceMaxLength);
    }
    const r = await store.putEntity(ns, 'action', fullName, doc, code, { expectUpdated: existing ? existing.updated : null });
    if (r === 'conflict') throw new ApiError(409, existing ? Messages.conflict : Messages.exists);
    return actionView(doc, code, true);
  });

  app.delete<Req>('/api/v1/namespaces/:namespace/actions/*', async (req) => {
    const path = req.params['*'];
    const ns = ownNamespace(req, req.params.namespace, path);
    const { pkg, name } = splitActionPath(path);
    const fullName = pkg ? `${pkg}/${name}` : name;
    const existing = await store.getEntity<ActionDoc>(ns, 'action', fullName, false);
    if (!existing || !(await store.deleteEntity(ns, 'action', fullName))) throw notFound();
    return actionView(existing.doc, undefined, false);
  });

  app.post<Req>(
    '/api/v1/namespaces/:namespace/actions/*',
    // Checked while the body streams, with OpenWhisk's message (D5).
    { bodyLimit: config.limits.payloadMax },
    async (req, reply) => {
      const q = req.query;
      const idempotencyKey = parseIdempotencyKey(req.headers['idempotency-key']);
      // Checked before anything is accepted (issue 11): a bad URL is a 400 and nothing runs.
      const callbackUrl = callbackUrlFromHeaders(req.headers);
      const blocking = parseBool(q.blocking, 'blocking');
      const resultOnly = parseBool(q.result, 'result');
      let waitMs = config.syncWaitMs;
      if (q.timeout !== undefined) {
        const t = Number(q.timeout);
        if (!/^\d+$/.test(q.timeout) || t < 1 || t > config.syncWaitMs) {
          throw badRequest(Messages.malformedQuery('timeout', `Timeout must be number of milliseconds up to ${config.syncWaitMs}.`));
        }
        waitMs = t;
      }
      let ttlMs: number | undefined;
      if (q.ttl !== undefined) {
        if (!/^\d+$/.test(q.ttl) || Number(q.ttl) < 1) throw badRequest(Messages.malformedQuery('ttl', 'The queue TTL must be a positive number of milliseconds.'));
        ttlMs = Number(q.ttl);
      }
      const body = req.body;
      if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
        throw badRequest(Messages.malformedBody('The request content must be a JSON object.'));
      }
      let resolved = await resolveAction(ctx.entities, req.identity, req.params.namespace, req.params['*']);
      // A sequence's first component gets the raw payload: no sequence-level (package or `_actions`) params (§7).
      if (isSequence(resolved.doc.exec)) resolved = { ...resolved, defaults: {} };
      const out = await ctx.invocations.invoke(req.identity, resolved, (body ?? {}) as Record<string, unknown>, {
        blocking,
        waitMs,
        transactionId: String(req.id),
        received: req.received,
        ...(ttlMs !== undefined ? { ttlMs } : {}),
        ...(callbackUrl !== undefined ? { callbackUrl } : {}),
        ...(idempotencyKey !== undefined
          ? { idempotency: { key: idempotencyKey, fingerprint: requestFingerprint('POST', qualifiedPath(req.identity.namespace, req.params.namespace, req.params['*']), body) } }
          : {}),
      });
      reply.header('x-openwhisk-activation-id', out.activationId);
      if (out.replayed) reply.header('idempotent-replayed', 'true');
      if (!out.record) return reply.code(202).send({ activationId: out.activationId });
      return sendBlockingRecord(reply, out.record, resultOnly);
    },
  );
}

/** The function's path as the fingerprint sees it: `_` is the caller's own namespace. */
function qualifiedPath(own: string, ns: string, rest: string): string {
  return `/${ns === '_' ? own : ns}/${rest}`;
}

/** HTTP status follows response.statusCode (§3.2); the record goes out with logs: [] (logs are fetched by id), except a
 * sequence's, whose "logs" are its component activation ids (as OpenWhisk answers them). */
export function sendBlockingRecord(reply: FastifyReply, record: ActivationRecord, resultOnly: boolean): FastifyReply {
  const status = record.statusCode === 0 ? 200 : record.statusCode === 3 ? 500 : 502;
  const result = record.response.result;
  if (resultOnly || Array.isArray(result)) return reply.code(status).send(result);
  const sequence = record.annotations.some((a) => a.key === 'kind' && a.value === 'sequence');
  return reply.code(status).send(sequence ? record : { ...record, logs: [] });
}
