// Firing an OpenWhisk trigger (§8.1), shared by POST …/triggers/{name} and the alarms feed: every active rule's
// action is invoked non-blocking through InvocationService (durable, throttled), and the trigger's own activation
// record lists every rule, an inactive one in OpenWhisk's words.
import type { Store } from '../store/store.js';
import type { ActivationRecord, Identity, TriggerDoc } from '../types.js';
import type { InvocationService } from '../api/invocations.js';
import { ApiError, Messages } from '../api/errors.js';
import { resolveAction } from '../api/resolve-action.js';
import type { EntityReader } from '../entity-cache/entity-cache.js';

export interface FireDeps {
  store: Store;
  invocations: InvocationService;
  /** The API's entity cache, when firing from the API. */
  entities?: EntityReader;
}

/** Whether a fire produces anything: with no active rule OpenWhisk answers 204 and writes no record. */
export const hasActiveRule = (t: TriggerDoc) => Object.values(t.rules ?? {}).some((l) => l.status === 'active');

const statusCodeOf = (status: number) => (status >= 500 ? 3 : 1);

export async function fireTrigger(
  deps: FireDeps,
  identity: Identity,
  trigger: TriggerDoc,
  payload: Record<string, unknown>,
  activationId: string,
  transactionId: string,
  received: number,
): Promise<void> {
  const args: Record<string, unknown> = {};
  for (const p of trigger.parameters) args[p.key] = p.value;
  Object.assign(args, payload);
  const logs = await Promise.all(
    Object.entries(trigger.rules ?? {}).map(async ([rule, link]) => {
      const action = `${link.action.path}/${link.action.name}`;
      if (link.status !== 'active') return JSON.stringify({ statusCode: 1, success: false, error: Messages.inactiveRule(rule, action) });
      try {
        const [actNs, ...rest] = action.split('/');
        const resolved = await resolveAction(deps.entities ?? deps.store, identity, actNs!, rest.join('/'));
        const out = await deps.invocations.invoke(identity, resolved, args, { blocking: false, waitMs: 0, transactionId, received });
        return JSON.stringify({ statusCode: 0, success: true, activationId: out.activationId, rule, action });
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 500;
        const msg = err instanceof ApiError ? err.message : Messages.internal;
        return JSON.stringify({ statusCode: statusCodeOf(status), success: false, error: msg, rule, action });
      }
    }),
  );
  const record: ActivationRecord = {
    namespace: trigger.namespace,
    name: trigger.name,
    version: trigger.version,
    subject: identity.subject,
    activationId,
    start: received,
    statusCode: 0,
    response: { status: 'success', statusCode: 0, success: true, result: payload },
    logs,
    annotations: [],
    publish: false,
  };
  await deps.store.complete([record]);
}
