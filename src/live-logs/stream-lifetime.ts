// How long one live-log stream may stay open (§4.5): the followed action's timeout plus a margin (queue wait, log
// flush, record commit), then `event: timeout` and the client reconnects with Last-Event-ID. Sequences and actions
// that cannot be read (deleted since the invoke) get the longest timeout allowed.
import type { Store } from '../store/store.js';
import type { ActionDoc } from '../types.js';

export function streamLifetime(store: Store, timeoutMax: number, marginMs: number) {
  return async (namespace: string, activationId: string): Promise<number> => {
    const entry = await store.getInFlight(namespace, activationId).catch(() => undefined);
    if (!entry) return timeoutMax + marginMs;
    const action = await store.getEntity<ActionDoc>(entry.action.namespace, 'action', entry.action.name, false).catch(() => undefined);
    const doc = action?.doc;
    // A sequence's own timeout does not bound its components' runs.
    const timeout = doc && doc.exec.kind !== 'sequence' && Number.isFinite(doc.limits?.timeout) ? doc.limits.timeout : timeoutMax;
    return timeout + marginMs;
  };
}
