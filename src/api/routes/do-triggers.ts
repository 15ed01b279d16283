// DigitalOcean scheduled triggers (doctl-cli.md §3, §4.2, §5.5), served on Flare's server with the namespace's Basic
// key: GET/POST /v2/functions/namespaces/<ns>/triggers, GET/PUT/DELETE .../triggers/<name>. `_` is the caller's ns.
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../server.js';
import type { ScheduledTriggerDoc, TriggerDoc } from '../../types.js';
import { ALARM_KIND, nextFire, type AlarmDoc } from '../../feeds/alarm-schedule.js';
import { ApiError, Messages, badRequest, notFound } from '../errors.js';
import { isValidName, splitActionPath } from '../entity-names.js';
import { resolveAction } from '../resolve-action.js';
import { ownNamespace } from './namespace-access.js';
import { Schedule, validateCron } from '../../scheduler/cron.js';
import { SCHEDULED_KIND } from '../../scheduler/scheduler.js';

type Req = { Params: { namespace: string; name: string }; Querystring: Record<string, string | undefined> };

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const iso = (ms: number) => new Date(ms).toISOString();

/** The wire shape DigitalOcean's control API (and doctl) use. */
export function scheduledTriggerView(t: ScheduledTriggerDoc, now = Date.now()): Record<string, unknown> {
  let next: number | undefined;
  if (t.isEnabled) {
    const s = new Schedule(t.cron);
    next = s.nextAfter(now);
    s.stop();
  }
  return {
    namespace: t.namespace,
    function: t.function,
    type: 'SCHEDULED',
    name: t.name,
    is_enabled: t.isEnabled,
    created_at: iso(t.created),
    updated_at: iso(t.updated),
    scheduled_details: { cron: t.cron, body: t.body },
    scheduled_runs: { last_run_at: t.lastRunAt ? iso(t.lastRunAt) : null, next_run_at: next ? iso(next) : null },
  };
}

/**
 * OpenWhisk triggers fed by /whisk.system/alarms, in the same list (`flare triggers list`) with type ALARM: "Invokes"
 * names the actions of the trigger's active rules; the schedule is the cron, "every N min", or the once date.
 */
async function alarmViews(store: ApiContext['store'], ns: string, fn: string | undefined, now: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const a of await store.listEntities<AlarmDoc>({ namespace: ns, kind: ALARM_KIND, limit: 100_000, skip: 0 })) {
    const t = await store.getEntity<TriggerDoc>(ns, 'trigger', a.name, false);
    const actions = Object.values(t?.doc.rules ?? {})
      .filter((l) => l.status === 'active')
      .map((l) => `${l.action.path}/${l.action.name}`)
      .map((p) => (p.startsWith(`${ns}/`) ? p.slice(ns.length + 1) : p));
    if (fn && !actions.includes(fn)) continue;
    const next = a.active ? nextFire(a, Math.max(now, a.lastFired ?? 0)) : undefined;
    out.push({
      namespace: ns,
      function: actions.join(', '),
      type: 'ALARM',
      name: a.name,
      is_enabled: a.active,
      created_at: iso(a.created),
      updated_at: iso(a.updated),
      scheduled_details: { cron: a.cron ?? (a.minutes ? `every ${a.minutes} min` : iso(a.date!)), body: a.payload },
      scheduled_runs: { last_run_at: a.lastFired ? iso(a.lastFired) : null, next_run_at: next ? iso(next) : null },
    });
  }
  return out;
}

function checkDetails(raw: unknown, maxBody: number): { cron: string; body: Record<string, unknown> } {
  if (!isDict(raw)) throw badRequest("'scheduled_details' must be an object with 'cron' and an optional 'body'");
  const err = validateCron(raw.cron);
  if (err) throw badRequest(err);
  if (raw.body !== undefined && raw.body !== null && !isDict(raw.body)) throw badRequest("the 'body' member of scheduledDetails must be a dictionary");
  // The body becomes the invoke parameters: the same 1 MB limit as trigger and action parameters.
  const n = raw.body ? Buffer.byteLength(JSON.stringify(raw.body)) : 0;
  if (n > maxBody) throw new ApiError(413, Messages.fieldTooLarge('Parameters', n, maxBody));
  return { cron: (raw.cron as string).trim(), body: (raw.body as Record<string, unknown> | undefined) ?? {} };
}

export async function doTriggerRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  const { store } = ctx;
  const base = '/v2/functions/namespaces/:namespace/triggers';
  // 1 MB of parameters (refused with their own message) plus room for the rest of the trigger.
  const bodyLimit = ctx.config.limits.paramsMax + 65_536;

  const load = async (ns: string, name: string) => {
    const found = await store.getEntity<ScheduledTriggerDoc>(ns, SCHEDULED_KIND, name, false);
    if (!found) throw notFound();
    return found;
  };

  app.get<Req>(base, async (req) => {
    const ns = ownNamespace(req, req.params.namespace);
    let list = await store.listEntities<ScheduledTriggerDoc>({ namespace: ns, kind: SCHEDULED_KIND, limit: 100_000, skip: 0 });
    const fn = req.query.function;
    if (fn) list = list.filter((t) => t.function === fn.replace(/^\/+/, ''));
    const now = Date.now();
    const alarms = await alarmViews(store, ns, fn?.replace(/^\/+/, ''), now);
    return { Triggers: [...list.map((t) => scheduledTriggerView(t, now)), ...alarms] };
  });

  app.post<Req>(base, { bodyLimit }, async (req) => {
    const ns = ownNamespace(req, req.params.namespace);
    const body = req.body;
    if (!isDict(body)) throw badRequest(Messages.malformedBody('The request content must be a JSON object.'));
    if (typeof body.name !== 'string' || !isValidName(body.name)) throw badRequest(`Name '${String(body.name ?? '')}' is not a valid trigger name.`);
    if (body.type !== undefined && body.type !== 'SCHEDULED') throw badRequest(`the trigger type '${String(body.type)}' is not supported (only 'SCHEDULED')`);
    if (body.is_enabled !== undefined && typeof body.is_enabled !== 'boolean') throw badRequest("'is_enabled' must be a boolean");
    if (typeof body.function !== 'string' || !body.function) throw badRequest("'function' must name the function the trigger invokes");
    const fn = body.function.replace(/^\/+/, '');
    splitActionPath(fn);
    const details = checkDetails(body.scheduled_details, ctx.config.limits.paramsMax);
    try {
      await resolveAction(store, req.identity, ns, fn);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw badRequest(`The function '${fn}' does not exist.`);
      throw err;
    }
    const now = Date.now();
    const doc: ScheduledTriggerDoc = {
      namespace: ns,
      name: body.name,
      function: fn,
      isEnabled: body.is_enabled !== false,
      cron: details.cron,
      body: details.body,
      created: now,
      updated: now,
    };
    const r = await store.putEntity(ns, SCHEDULED_KIND, doc.name, doc, undefined, { expectUpdated: null });
    if (r === 'conflict') throw new ApiError(409, `A trigger named '${doc.name}' already exists.`);
    return { Trigger: scheduledTriggerView(doc) };
  });

  app.get<Req>(`${base}/:name`, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    return { Trigger: scheduledTriggerView((await load(ns, req.params.name)).doc) };
  });

  app.put<Req>(`${base}/:name`, { bodyLimit }, async (req) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    const body = req.body;
    if (!isDict(body)) throw badRequest(Messages.malformedBody('The request content must be a JSON object.'));
    if (body.is_enabled !== undefined && typeof body.is_enabled !== 'boolean') throw badRequest("'is_enabled' must be a boolean");
    const details = body.scheduled_details === undefined || body.scheduled_details === null ? undefined : checkDetails(body.scheduled_details, ctx.config.limits.paramsMax);
    const cur = await load(ns, req.params.name);
    const doc: ScheduledTriggerDoc = {
      ...cur.doc,
      ...(typeof body.is_enabled === 'boolean' ? { isEnabled: body.is_enabled } : {}),
      ...(details ?? {}),
      updated: Math.max(Date.now(), cur.updated + 1),
    };
    const r = await store.putEntity(ns, SCHEDULED_KIND, doc.name, doc, undefined, { expectUpdated: cur.updated });
    if (r === 'conflict') throw new ApiError(409, Messages.conflict);
    return { Trigger: scheduledTriggerView(doc) };
  });

  app.delete<Req>(`${base}/:name`, async (req, reply) => {
    const ns = ownNamespace(req, req.params.namespace, req.params.name);
    if (!(await store.deleteEntity(ns, SCHEDULED_KIND, req.params.name))) throw notFound();
    return reply.code(204).send();
  });
}
