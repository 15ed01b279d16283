// OpenWhisk rules (§2.5, §8.2): a rule links a trigger to an action. The link and its status live on the trigger
// (`rules["ns/rule"]`); the rule document itself carries no status, which GET computes from the trigger.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiContext } from '../server.js';
import type { RuleDoc, TriggerDoc } from '../../types.js';
import type { Store } from '../../store/store.js';
import { ApiError, Messages, badRequest, notFound } from '../errors.js';
import { parseBool, parseListParams } from '../list-params.js';
import { checkName, isValidName } from '../entity-names.js';
import { bumpPatch, mergeAnnotations, parseKeyValues } from '../action-doc.js';
import { resolveAction } from '../resolve-action.js';
import { ownNamespace } from './namespace-access.js';
import { updateTrigger } from './triggers.js';

type Req = { Params: { namespace: string; name: string }; Querystring: Record<string, string | undefined> };
import { feedOf, invokeFeed } from '../../feeds/feed-lifecycle.js';

type Status = 'active' | 'inactive';

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const malformed = (why: string) => badRequest(Messages.malformedBody(why));

/** "/ns/t", "/_/t", "ns/t" or "t" → {path: ns, name}. */
function parseTriggerRef(raw: unknown, req: FastifyRequest): { path: string; name: string } {
  if (typeof raw !== 'string' || !raw) throw malformed("'trigger' must be a trigger name such as \"/_/myTrigger\"");
  const parts = raw.replace(/^\//, '').split('/');
  if (parts.length > 2 || !parts.every((p) => isValidName(p))) throw malformed(`Name '${raw}' is not a valid entity name.`);
  const ns = parts.length === 2 ? parts[0]! : req.identity.namespace;
  return { path: ns === '_' ? req.identity.namespace : ns, name: parts[parts.length - 1]! };
}

/** "/ns/[pkg/]a" (fully qualified) or "[pkg/]a" (the caller's namespace) → {path: "ns" | "ns/pkg", name}. */
function parseActionRef(raw: unknown, req: FastifyRequest): { path: string; name: string } {
  if (typeof raw !== 'string' || !raw) throw malformed("'action' must be an action name such as \"/_/myAction\"");
  const qualified = raw.startsWith('/');
  let parts = raw.replace(/^\//, '').split('/');
  if (!parts.every((p) => isValidName(p))) throw malformed(`Name '${raw}' is not a valid entity name.`);
  let ns = req.identity.namespace;
  if (qualified || parts.length === 3) {
    ns = parts[0] === '_' ? req.identity.namespace : parts[0]!;
    parts = parts.slice(1);
  }
  if (parts.length < 1 || parts.length > 2) throw malformed(`Name '${raw}' is not a valid entity name.`);
  const name = parts.pop()!;
  return { path: parts.length ? `${ns}/${parts[0]}` : ns, name };
}

function ruleStatus(trigger: TriggerDoc | undefined, fq: string): Status {
  return trigger?.rules?.[fq]?.status ?? 'inactive';
}

/** Removes a rule's link from its trigger (no `rules` key once the last one is gone). */
function unlink(t: TriggerDoc, fq: string): TriggerDoc {
  if (t.rules) delete t.rules[fq];
  if (t.rules && !Object.keys(t.rules).length) delete t.rules;
  return t;
}

function ruleView(rule: RuleDoc, status: Status): Record<string, unknown> {
  return {
    namespace: rule.namespace,
    name: rule.name,
    status,
    trigger: rule.trigger,
    action: rule.action,
    version: rule.version,
    publish: rule.publish,
    annotations: rule.annotations,
    updated: rule.updated,
  };
}

async function getTrigger(store: Store, ref: { path: string; name: string }): Promise<TriggerDoc | undefined> {
  return (await store.getEntity<TriggerDoc>(ref.path, 'trigger', ref.name, false))?.doc;
}

export async function ruleRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store } = ctx;
  const base = '/api/v1/namespaces/:namespace/rules';

  const load = async (ns: string, name: string) => {
    const found = await store.getEntity<RuleDoc>(ns, 'rule', name, false);
    if (!found) throw notFound();
    return found;
  };

  app.get<Req>(base, async (req) => {
    const ns = ownNamespace(req, req.params.namespace);
    const p = parseListParams(req.query, 'rules');
    if (p.count) return { rules: await store.countEntities({ namespace: ns, kind: 'rule' }) };
    return store.listEntities<RuleDoc>({ namespace: ns, kind: 'rule', limit: p.limit, skip: p.skip });
  });

  app.get<Req>(`${base}/:name`, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const rule = (await load(ns, req.params.name)).doc;
    return ruleView(rule, ruleStatus(await getTrigger(store, rule.trigger), `${ns}/${rule.name}`));
  });

  app.put<Req>(`${base}/:name`, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const name = checkName(req.params.name);
    const overwrite = parseBool(req.query.overwrite, 'overwrite');
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!isDict(body)) throw malformed('Object expected.');
    const existing = await store.getEntity<RuleDoc>(ns, 'rule', name, false);
    if (existing && !overwrite) throw new ApiError(409, Messages.exists);
    if (!existing && (body.trigger === undefined || body.action === undefined)) {
      throw badRequest('rule requires a valid trigger and a valid action');
    }
    const trigger = body.trigger === undefined ? existing!.doc.trigger : parseTriggerRef(body.trigger, req);
    const action = body.action === undefined ? existing!.doc.action : parseActionRef(body.action, req);
    if (trigger.path !== ns) throw new ApiError(403, Messages.notAuthorized(`${trigger.path}/${trigger.name}`));
    if (!(await getTrigger(store, trigger))) throw badRequest(`trigger /${trigger.path}/${trigger.name} does not exist`);
    try {
      const [actNs, ...rest] = action.path.split('/');
      await resolveAction(store, req.identity, actNs!, [...rest, action.name].join('/'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw badRequest(`action /${action.path}/${action.name} does not exist`);
      throw err;
    }
    const fq = `${ns}/${name}`;
    // A new rule is active; an updated one keeps the status its old trigger held (inactive if none), as OpenWhisk.
    const status: Status = existing ? ruleStatus(await getTrigger(store, existing.doc.trigger), fq) : 'active';
    const doc: RuleDoc = {
      namespace: ns,
      name,
      trigger,
      action,
      version: typeof body.version === 'string' ? body.version : existing ? bumpPatch(existing.doc.version) : '0.0.1',
      publish: typeof body.publish === 'boolean' ? body.publish : (existing?.doc.publish ?? false),
      annotations: mergeAnnotations(existing?.doc.annotations ?? [], parseKeyValues(body.annotations, 'annotations', false), body.delAnnotations),
      updated: Math.max(Date.now(), (existing?.updated ?? 0) + 1),
    };
    const r = await store.putEntity(ns, 'rule', name, doc, undefined, { expectUpdated: existing ? existing.updated : null });
    if (r === 'conflict') throw new ApiError(409, existing ? Messages.conflict : Messages.exists);
    if (existing && (existing.doc.trigger.path !== trigger.path || existing.doc.trigger.name !== trigger.name)) {
      await updateTrigger(store, existing.doc.trigger.path, existing.doc.trigger.name, (t) => unlink(t, fq));
    }
    const linked = await updateTrigger(store, trigger.path, trigger.name, (t) => ({ ...t, rules: { ...(t.rules ?? {}), [fq]: { action, status } } }));
    return ruleView(doc, linked ? status : 'inactive');
  });

  // Enable or disable (§2.5): 200 even when nothing changes.
  app.post<Req>(`${base}/:name`, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const body = req.body as Record<string, unknown> | undefined;
    const status = isDict(body) ? body.status : undefined;
    if (status !== 'active' && status !== 'inactive') throw malformed("'status' must be \"active\" or \"inactive\"");
    const rule = (await load(ns, req.params.name)).doc;
    const fq = `${ns}/${rule.name}`;
    const t = await updateTrigger(store, rule.trigger.path, rule.trigger.name, (doc) => ({
      ...doc,
      rules: { ...(doc.rules ?? {}), [fq]: { action: rule.action, status } },
    }));
    if (!t) throw new ApiError(404, 'Only rules with existing triggers can be activated');
    // A feed-backed trigger pauses while none of its rules is active, and resumes with the first (feed protocol).
    const feed = feedOf(t.annotations);
    if (feed && t.namespace === req.identity.namespace) {
      const anyActive = Object.values(t.rules ?? {}).some((l) => l.status === 'active');
      await invokeFeed(ctx, req.identity, feed, anyActive ? 'UNPAUSE' : 'PAUSE', t.name, {}, String(req.id));
    }
    return ruleView(rule, status);
  });

  app.delete<Req>(`${base}/:name`, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const rule = (await load(ns, req.params.name)).doc;
    const fq = `${ns}/${rule.name}`;
    await updateTrigger(store, rule.trigger.path, rule.trigger.name, (t) => unlink(t, fq));
    if (!(await store.deleteEntity(ns, 'rule', rule.name))) throw notFound();
    return ruleView(rule, 'inactive');
  });
}
