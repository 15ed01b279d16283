// Cancelling one activation (run-control spec §4.4), shared by the API routes and the sequence runner: the store's
// compare-and-set decides; queued work gets its cancelled record here at once and never runs; running work is
// killed by the invoker holding it (told by the store), which writes the record once the sandbox is gone.
import type { Store } from '../store/store.js';
import type { ActionDoc, ActivationRecord, CancelRequest } from '../types.js';
import { cancelledRecord } from '../invoker/build-record.js';
import { isCancelledRecord } from './cancelled-record.js';
import { withEarlierAttempts } from '../retries/attempts.js';

/** How long a queued row cancelled here stays unowned before an invoker may write its record (this caller died). */
const HOLD_MS = 30_000;

export type CancelResult =
  /** The record is the cancelled one (written now for queued work, or found: cancel is idempotent). */
  | { kind: 'cancelled'; record: ActivationRecord }
  /** Running work is being killed (`previous` = `running`: by this call; `cancelling`: by an earlier one). */
  | { kind: 'cancelling'; previous: 'running' | 'cancelling' }
  /** It completed before the cancel (→ 409). */
  | { kind: 'finished'; record: ActivationRecord }
  /** Unknown, swept, or another namespace's. */
  | { kind: 'unknown' };

export async function cancelActivation(store: Store, namespace: string, activationId: string, cancel: CancelRequest): Promise<CancelResult> {
  const out = await store.cancelInFlight(namespace, activationId, cancel, HOLD_MS);
  if (!out) {
    const rec = await store.getActivation(namespace, activationId);
    if (!rec) return { kind: 'unknown' };
    return isCancelledRecord(rec) ? { kind: 'cancelled', record: rec } : { kind: 'finished', record: rec };
  }
  if (out.previous === 'running' || out.previous === 'cancelling') return { kind: 'cancelling', previous: out.previous };
  // Queued (or waiting for a retry): it never runs; its record is written now, through the same Store.complete as
  // every terminal record.
  const inv = out.invocation;
  const action = (await store.getEntity<ActionDoc>(inv.actionNamespace, 'action', inv.actionName, false).catch(() => undefined))?.doc;
  // Cancelled between attempts: the earlier attempts' history and logs stay on the record.
  const record = withEarlierAttempts(inv, cancelledRecord({ ...inv, state: 'cancelling', attempts: 0 }, out.cancel, action), (action?.limits.logs ?? 10) * 1024 * 1024);
  await store.complete([record]);
  return { kind: 'cancelled', record: (await store.getActivation(namespace, activationId)) ?? record };
}
