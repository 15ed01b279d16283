// OpenWhisk triggers (§2.4) and firing (§8.1): create/update, get, delete, list, and POST to fire. Firing invokes
// every active rule's action non-blocking through InvocationService (durable, throttled) and stores the trigger's
// own activation record (no end/duration; one compact JSON log line per rule).
import { IDEMPOTENCY_DOCS_LINK, IdempotencyMessages, parseIdempotencyKey, requestFingerprint } from '../../idempotency/idempotency-key.js';
import { IdempotencyKeyBusyError } from '../../store/store.js';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../server.js';
import type { TriggerDoc } from '../../types.js';
import type { Store } from '../../store/store.js';
import { ApiError, Messages, badRequest, notFound } from '../errors.js';
import { parseBool, parseListParams } from '../list-params.js';
import { checkName, isValidName } from '../entity-names.js';
import { bumpPatch, mergeAnnotations, parseKeyValues } from '../action-doc.js';
import { newActivationId } from '../../ids.js';
import { fireTrigger, hasActiveRule } from '../../triggers/fire-trigger.js';
import { feedOf, invokeFeed } from '../../feeds/feed-lifecycle.js';
import { ownNamespace } from './namespace-access.js';

type Req = { Params: { namespace: string; name: string }; Querystring: Record<string, string | undefined> };

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A feed annotation must be an entity path: /ns/name, /ns/pkg/name, or the same without the leading slash. */
function validFeed(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const parts = v.replace(/^\//, '').split('/');
  return parts.length >= 2 && parts.length <= 3 && parts.every((p) => isValidName(p) || p === '_');
}

/** Reads, changes and writes a trigger under the store's optimistic lock; undefined when it does not exist. */
export async function updateTrigger(
  store: Store,
  ns: string,
  name: string,
  change: (doc: TriggerDoc) => TriggerDoc,
): Promise<TriggerDoc | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const cur = await store.getEntity<TriggerDoc>(ns, 'trigger', name, false);
    if (!cur) return undefined;
    const doc = change(structuredClone(cur.doc));
    doc.updated = Math.max(Date.now(), cur.updated + 1);
    if ((await store.putEntity(ns, 'trigger', name, doc, undefined, { expectUpdated: cur.updated })) === 'ok') return doc;
  }
  throw new ApiError(409, Messages.conflict);
}

/** Per-namespace fires per minute (1-minute windows, in memory per API node, like the invocation throttle). */
class FireThrottle {
  private window = 0;
  private readonly counts = new Map<string, number>();
  check(ns: string, perMinute: number): void {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.window) {
      this.window = minute;
      this.counts.clear();
    }
    const n = (this.counts.get(ns) ?? 0) + 1;
    if (n > perMinute) throw new ApiError(429, Messages.perMinute(n, perMinute));
    this.counts.set(ns, n);
  }
}


export async function triggerRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store, config } = ctx;
  const throttle = new FireThrottle();
  const base = '/api/v1/namespaces/:namespace/triggers';

  app.get<Req>(base, async (req) => {
    const ns = ownNamespace(req, req.params.namespace);
    const p = parseListParams(req.query, 'triggers');
    if (p.count) return { triggers: await store.countEntities({ namespace: ns, kind: 'trigger' }) };
    const docs = await store.listEntities<TriggerDoc>({ namespace: ns, kind: 'trigger', limit: p.limit, skip: p.skip });
    return docs.map((d) => ({ namespace: d.namespace, name: d.name, version: d.version, publish: d.publish, annotations: d.annotations, updated: d.updated }));
  });

  app.get<Req>(`${base}/:name`, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const found = await store.getEntity<TriggerDoc>(ns, 'trigger', req.params.name, false);
    if (!found) throw notFound();
    return found.doc;
  });

  app.put<Req>(`${base}/:name`, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const name = checkName(req.params.name);
    const overwrite = parseBool(req.query.overwrite, 'overwrite');
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!isDict(body)) throw badRequest(Messages.malformedBody('Object expected.'));
    const added = parseKeyValues(body.annotations, 'annotations', false);
    const feed = added?.find((a) => a.key === 'feed');
    if (feed && !validFeed(feed.value)) throw badRequest('Feed name is not valid');
    if (body.limits !== undefined && body.limits !== null && !isDict(body.limits)) throw badRequest(Messages.malformedBody("'limits' must be an object"));
    const paramsJson = body.parameters === undefined ? '' : JSON.stringify(body.parameters);
    if (paramsJson.length > config.limits.paramsMax) throw new ApiError(413, Messages.fieldTooLarge('Parameters', paramsJson.length, config.limits.paramsMax));
    const parameters = parseKeyValues(body.parameters, 'parameters', false);
    const existing = await store.getEntity<TriggerDoc>(ns, 'trigger', name, false);
    if (existing && !overwrite) throw new ApiError(409, Messages.exists);
    const doc: TriggerDoc = {
      namespace: ns,
      name,
      parameters: parameters ?? existing?.doc.parameters ?? [],
      limits: {},
      version: typeof body.version === 'string' ? body.version : existing ? bumpPatch(existing.doc.version) : '0.0.1',
      publish: typeof body.publish === 'boolean' ? body.publish : (existing?.doc.publish ?? false),
      annotations: mergeAnnotations(existing?.doc.annotations ?? [], added, body.delAnnotations),
      updated: Math.max(Date.now(), (existing?.updated ?? 0) + 1),
      ...(existing?.doc.rules && Object.keys(existing.doc.rules).length ? { rules: existing.doc.rules } : {}),
    };
    const r = await store.putEntity(ns, 'trigger', name, doc, undefined, { expectUpdated: existing ? existing.updated : null });
    if (r === 'conflict') throw new ApiError(409, existing ? Messages.conflict : Messages.exists);
    // Feed protocol: CREATE for a new feed trigger (undone when the feed refuses), UPDATE for a changed one.
    const feedPath = feedOf(doc.annotations);
    if (feedPath) {
      const params = Object.fromEntries(doc.parameters.map((p) => [p.key, p.value]));
      const created = !existing || !feedOf(existing.doc.annotations);
      const err = await invokeFeed(ctx, req.identity, feedPath, created ? 'CREATE' : 'UPDATE', name, params, String(req.id));
      if (err) {
        if (created && !existing) await store.deleteEntity(ns, 'trigger', name);
        throw badRequest(`Feed ${feedPath} refused the trigger: ${err}`);
      }
    }
    return doc;
  });

  app.delete<Req>(`${base}/:name`, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const existing = await store.getEntity<TriggerDoc>(ns, 'trigger', req.params.name, false);
    if (!existing) throw notFound();
    // Feed protocol: the feed forgets the trigger first; a feed that fails does not keep the trigger alive (as wsk).
    const feedPath = feedOf(existing.doc.annotations);
    if (feedPath) {
      const err = await invokeFeed(ctx, req.identity, feedPath, 'DELETE', existing.doc.name, {}, String(req.id));
      if (err) ctx.logger.warn({ trigger: `${ns}/${existing.doc.name}`, err }, 'feed DELETE failed');
    }
    if (!(await store.deleteEntity(ns, 'trigger', req.params.name))) throw notFound();
    return existing.doc;
  });

  app.post<Req>(
    `${base}/:name`,
    { bodyLimit: config.limits.payloadMax },
    async (req, reply) => {
      const ns = ownNamespace(req, req.params.namespace, req.params.name);
      const idempotencyKey = parseIdempotencyKey(req.headers['idempotency-key']);
      const payload = req.body;
      if (payload !== undefined && !isDict(payload)) throw badRequest(Messages.malformedBody('The request content must be a JSON object.'));
      throttle.check(ns, req.identity.limits.firesPerMinute);
      const found = await store.getEntity<TriggerDoc>(ns, 'trigger', req.params.name, false);
      if (!found) throw notFound();
      // No active rule: 204 and no record; otherwise the record lists every rule, inactive ones included (OpenWhisk).
      if (!hasActiveRule(found.doc)) return reply.code(204).send();
      const activationId = newActivationId();
      if (idempotencyKey !== undefined) {
        const replayOf = await claimFireKey(ctx, ns, idempotencyKey, requestFingerprint('POST', `/${ns}/triggers/${found.doc.name}`, payload), activationId);
        if (replayOf) {
          ctx.metrics?.idempotentReplay(ns, 'trigger');
          reply.header('idempotent-replayed', 'true');
          return reply.code(202).send({ activationId: replayOf });
        }
      }
      // 202 at once; the rule invocations and the trigger record follow (§8.1).
      void fireTrigger(ctx, req.identity, found.doc, (payload ?? {}) as Record<string, unknown>, activationId, String(req.id), req.received).catch((err) =>
        ctx.logger.error({ err, trigger: `${ns}/${found.doc.name}` }, 'trigger fire failed'),
      );
      reply.header('x-openwhisk-activation-id', activationId);
      return reply.code(202).send({ activationId });
    },
  );
}

/** Commits the fire's Idempotency-Key; returns the first fire's activation id when the key was used already. */
async function claimFireKey(ctx: ApiContext, ns: string, key: string, fingerprint: string, activationId: string): Promise<string | undefined> {
  let out;
  try {
    out = await ctx.store.putIdempotencyKey({ namespace: ns, key, fingerprint, activationId, expires: Date.now() + ctx.config.idempotencyWindowMs });
  } catch (err) {
    if (err instanceof IdempotencyKeyBusyError) throw new ApiError(409, IdempotencyMessages.busy, { 'retry-after': '1' });
    throw err;
  }
  if (out.stored) return undefined;
  if (out.fingerprint !== fingerprint) throw new ApiError(422, IdempotencyMessages.mismatch, IDEMPOTENCY_DOCS_LINK);
  return out.activationId;
}
