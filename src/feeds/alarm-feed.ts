// The /whisk.system/alarms feed actions, run by Flare itself (a sandboxed function has no network to reach a feed
// provider): the OpenWhisk feed protocol's lifecycle events keep one AlarmDoc per trigger, which the scheduler fires.
import type { Store } from '../store/store.js';
import type { Identity, TriggerDoc } from '../types.js';
import { ALARM_KIND, AlarmError, alarmFields, type AlarmDoc, type AlarmType } from './alarm-schedule.js';

export const ALARM_TYPES: AlarmType[] = ['alarm', 'interval', 'once'];

export interface FeedOutcome {
  success: boolean;
  result: Record<string, unknown>;
}

/** "/ns/name", "ns/name" or "name" → the trigger in the caller's namespace (a feed never reaches another one). */
function triggerOf(identity: Identity, raw: unknown): { ns: string; name: string } {
  if (typeof raw !== 'string' || !raw) throw new AlarmError('triggerName is required');
  const parts = raw.replace(/^\//, '').split('/');
  const name = parts.pop()!;
  const ns = parts.length ? parts[0]! : identity.namespace;
  if (ns !== '_' && ns !== identity.namespace) throw new AlarmError(`not authorized to manage trigger ${raw}`);
  return { ns: identity.namespace, name };
}

const CONFIG_KEYS = ['cron', 'minutes', 'date', 'startDate', 'stopDate', 'deleteAfterFire'] as const;

function configOf(a: AlarmDoc): Record<string, unknown> {
  const c: Record<string, unknown> = { name: a.name, namespace: a.namespace, type: a.type, trigger_payload: a.payload };
  for (const k of CONFIG_KEYS) {
    const v = a[k];
    if (v !== undefined) c[k] = k === 'date' || k === 'startDate' || k === 'stopDate' ? new Date(v as number).toISOString() : v;
  }
  return c;
}

export async function runAlarmFeed(store: Store, identity: Identity, type: AlarmType, params: Record<string, unknown>, now = Date.now()): Promise<FeedOutcome> {
  try {
    const event = String(params.lifecycleEvent ?? '').toUpperCase();
    const { ns, name } = triggerOf(identity, params.triggerName);
    const cur = await store.getEntity<AlarmDoc>(ns, ALARM_KIND, name, false);
    const put = async (doc: AlarmDoc) => {
      if ((await store.putEntity(ns, ALARM_KIND, name, doc, undefined, { expectUpdated: cur ? cur.updated : null })) === 'conflict') {
        throw new AlarmError('the alarm was changed concurrently; try again');
      }
    };
    switch (event) {
      case 'CREATE': {
        if (!(await store.getEntity<TriggerDoc>(ns, 'trigger', name, false))) throw new AlarmError(`trigger /${ns}/${name} does not exist`);
        await put({ namespace: ns, name, type, ...alarmFields(type, params, now), active: true, created: now, updated: Math.max(now, (cur?.updated ?? 0) + 1) });
        return { success: true, result: {} };
      }
      case 'READ':
        if (!cur) throw new AlarmError(`no alarm is registered for trigger /${ns}/${name}`);
        return { success: true, result: { config: configOf(cur.doc), status: { active: cur.doc.active, dateChanged: cur.doc.updated, ...(cur.doc.lastFired ? { lastFired: cur.doc.lastFired } : {}) } } };
      case 'UPDATE': {
        if (!cur) throw new AlarmError(`no alarm is registered for trigger /${ns}/${name}`);
        const merged: Record<string, unknown> = { ...configOf(cur.doc), ...params };
        if (cur.doc.type === 'once' && params.date === undefined) merged.date = cur.doc.date;
        await put({ ...cur.doc, ...alarmFields(cur.doc.type, merged, cur.doc.type === 'once' ? Math.min(now, cur.doc.date! - 1) : now), updated: Math.max(now, cur.updated + 1) });
        return { success: true, result: {} };
      }
      case 'DELETE':
        await store.deleteEntity(ns, ALARM_KIND, name);
        return { success: true, result: {} };
      case 'PAUSE':
      case 'UNPAUSE':
        if (!cur) throw new AlarmError(`no alarm is registered for trigger /${ns}/${name}`);
        await put({ ...cur.doc, active: event === 'UNPAUSE', updated: Math.max(now, cur.updated + 1) });
        return { success: true, result: {} };
      default:
        throw new AlarmError(`unsupported lifecycleEvent '${params.lifecycleEvent ?? ''}': one of CREATE, READ, UPDATE, DELETE, PAUSE, UNPAUSE`);
    }
  } catch (err) {
    if (err instanceof AlarmError) return { success: false, result: { error: err.message } };
    throw err;
  }
}
