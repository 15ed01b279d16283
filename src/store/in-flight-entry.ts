// What run control shows of a queue row: decoded from the row's payload and state, without params or keys. Both
// adapters use these so an in-flight entry looks the same on SQLite and PostgreSQL.
import type { InFlightEntry, InFlightListFilter, Invocation, QueueState } from '../types.js';
import { activationFilterKey } from './store.js';
import { parseCancel } from '../cancel/cancelled-record.js';

export function inFlightEntry(
  inv: Invocation,
  state: QueueState,
  started: number | string | null | undefined,
  cancelText?: unknown,
  notBefore?: number | string | null,
): InFlightEntry {
  const cancel = state === 'cancelling' ? parseCancel(cancelText) : undefined;
  return {
    activationId: inv.activationId,
    namespace: inv.namespace,
    state,
    name: inv.actionName,
    ...(inv.actionVersion !== undefined ? { version: inv.actionVersion } : {}),
    queuedAt: inv.received,
    ...(state !== 'queued' && state !== 'retrying' && started !== null && started !== undefined ? { start: Number(started) } : {}),
    filterKey: activationFilterKey({ name: inv.actionName, annotations: inv.annotations ?? [] }),
    ...(inv.cause ? { cause: inv.cause } : {}),
    action: { namespace: inv.actionNamespace, name: inv.actionName },
    ...(cancel ? { cancel } : {}),
    // Attempts are shown for invocations with a retry policy (src/retries/): the one running, or the next one.
    ...(inv.maxAttempts !== undefined ? { attempt: (inv.attemptHistory?.length ?? 0) + 1, maxAttempts: inv.maxAttempts } : {}),
    ...(state === 'retrying' && notBefore !== null && notBefore !== undefined ? { nextAttemptAt: Number(notBefore) } : {}),
  };
}

/** The time lists order and filter in-flight entries by: start once running, else the acceptance time. */
export function inFlightTime(e: InFlightEntry): number {
  return e.start ?? e.queuedAt;
}

/**
 * Applies the activation list filters (name, since/upto, skip/limit, newest first) to the in-flight entries of a
 * namespace. The queue holds only what is in flight, so filtering its rows in memory stays small.
 */
export function filterInFlight(entries: InFlightEntry[], f: InFlightListFilter): InFlightEntry[] {
  const name = f.name;
  return entries
    .filter((e) => f.states.includes(e.state))
    .filter((e) => !name || (name.includes('/') ? e.filterKey === name : e.filterKey === name || e.filterKey.startsWith(`${name}/`)))
    .filter((e) => (f.since === undefined || inFlightTime(e) >= f.since) && (f.upto === undefined || inFlightTime(e) <= f.upto))
    .sort((a, b) => inFlightTime(b) - inFlightTime(a) || (a.activationId < b.activationId ? 1 : -1))
    .slice(f.skip, f.skip + f.limit);
}
