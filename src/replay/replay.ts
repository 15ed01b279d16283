// Replay (issue 11 point 5, run-control §4.10): a finished activation is invoked again — same function version, same
// parameters (kept with the record by Store.complete) — as a new activation linked to it by `cause` and the
// `replayOf` annotation, so `?cause=<id>` lists the replays of an activation.
import type { Store } from '../store/store.js';
import type { ActionDoc, Identity, Invocation, KeyValue } from '../types.js';
import type { InvocationService } from '../api/invocations.js';
import type { ResolvedAction } from '../api/resolve-action.js';
import { ApiError, Messages } from '../api/errors.js';

export const ReplayMessages = {
  inFlight: 'The activation has not finished yet; only a finished activation can be replayed.',
  noParams:
    "The activation cannot be replayed: its parameters were not kept (the function has the annotation 'store-params: false', or the activation was not invoked through the queue).",
  gone: (name: string) => `The activation cannot be replayed: the function '${name}' no longer exists.`,
  updated: (name: string, then: string, now: string) =>
    `The function '${name}' was updated since this activation (version ${then}, now ${now}); replay with ?version=latest to run the current version.`,
} as const;

/** Annotations the original got from its invocation, carried over; its own links are replaced. */
function carriedAnnotations(inv: Invocation): KeyValue[] {
  return (inv.annotations ?? []).filter((a) => a.key !== 'replayOf' && a.key !== 'binding');
}

/**
 * Accepts a replay of `activationId` (of namespace `ns`) and returns the new activation's id. `latest` runs the
 * function's current version when it changed since; otherwise a changed function is a 409.
 */
export async function replayActivation(
  store: Store,
  invocations: InvocationService,
  identity: Identity,
  ns: string,
  activationId: string,
  opts: { latest: boolean; transactionId: string },
): Promise<string> {
  const [record, inv] = await Promise.all([store.getActivation(ns, activationId), store.getActivationParams(ns, activationId)]);
  if (!record) {
    if (await store.getInFlight(ns, activationId)) throw new ApiError(409, ReplayMessages.inFlight);
    throw new ApiError(404, Messages.activationNotFound);
  }
  if (!inv) throw new ApiError(409, ReplayMessages.noParams);
  const fq = `/${inv.actionNamespace}/${inv.actionName}`;
  const action = (await store.getEntity<ActionDoc>(inv.actionNamespace, 'action', inv.actionName, false))?.doc;
  if (!action) throw new ApiError(409, ReplayMessages.gone(fq));
  if (!opts.latest && inv.actionUpdated !== undefined && action.updated !== inv.actionUpdated) {
    throw new ApiError(409, ReplayMessages.updated(fq, inv.actionVersion ?? record.version, action.version), {}, { version: inv.actionVersion ?? record.version, currentVersion: action.version });
  }
  const binding = inv.annotations?.find((a) => a.key === 'binding')?.value;
  const resolved: ResolvedAction = {
    ownerNamespace: inv.actionNamespace,
    actionName: inv.actionName,
    doc: action,
    // The stored params are already merged (package < binding < action < payload): they are the payload now.
    defaults: {},
    ...(typeof binding === 'string' ? { binding } : {}),
  };
  const out = await invocations.invoke(identity, resolved, inv.params, {
    blocking: false,
    waitMs: 0,
    transactionId: opts.transactionId,
    received: Date.now(),
    annotations: [...carriedAnnotations(inv), { key: 'replayOf', value: activationId }],
    cause: activationId,
    ...(inv.ttlMs !== undefined ? { ttlMs: inv.ttlMs } : {}),
  });
  return out.activationId;
}
