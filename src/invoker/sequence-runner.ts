// Runs a claimed sequence invocation (§7): each component is a normal durable invocation (queue row, own record with
// cause + causedBy) invoked "blocking" one after another; output i is the params of i+1. The sequence itself runs no
// user code, so it holds no executor memory while it waits for its components.
import type { Store } from '../store/store.js';
import type { CompletionWaiters } from '../run-control/completion-waiters.js';
import type { LocalInvoker } from '../api/invocations.js';
import type { ActionDoc, ActivationRecord, CancelRequest, ClaimedInvocation, Invocation, KeyValue } from '../types.js';
import { STATUS_TEXT } from '../types.js';
import { newActivationId } from '../ids.js';
import { annotation } from '../api/action-doc.js';
import { ApiError } from '../api/errors.js';
import { buildSequenceRecord } from './build-record.js';
import { asCancelled, cancelledResponse } from '../cancel/cancelled-record.js';
import { lookup, queueIdentity, SequenceMessages, type SequenceExec } from './sequence-components.js';

export interface SequenceRunnerOptions {
  store: Store;
  waiters: CompletionWaiters;
  /** Added to a component's timeout to bound the wait for its record (OpenWhisk: 1 minute). */
  retrieveGraceMs?: number;
  /** Aborted when the invoker stops: the run ends without a record (lease expiry resolves it as interrupted). */
  signal?: AbortSignal;
  /** This node's invoker, when the store can commit an invocation already claimed: components skip the claim trip. */
  local?: LocalInvoker;
  /**
   * The sequence's own cancel (src/cancel/): when `signal` aborts, the running component is cancelled, no further
   * component starts, and the sequence's record is the cancelled one.
   */
  cancel?: {
    signal: AbortSignal;
    request: () => CancelRequest | undefined;
    component: (activationId: string, request: CancelRequest) => Promise<void>;
  };
}

const RETRIEVE_GRACE_MS = 60_000;

type Response = ActivationRecord['response'];

function errorResponse(statusCode: 1 | 3, message: string): Response {
  const result = { error: message };
  return { status: STATUS_TEXT[statusCode], statusCode, success: false, result, size: Buffer.byteLength(JSON.stringify(result)) };
}

function isErrorResult(result: unknown): boolean {
  return !!result && typeof result === 'object' && !Array.isArray(result) && 'error' in result;
}

function limitsMemory(record: ActivationRecord): number | undefined {
  const l = record.annotations.find((a) => a.key === 'limits')?.value as { memory?: unknown } | undefined;
  return typeof l?.memory === 'number' ? l.memory : undefined;
}

/** The next component's params: its own defaults under an object result; an array passes through unmerged. */
function componentParams(incoming: unknown, defaults: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(incoming)) return incoming as unknown as Record<string, unknown>;
  if (incoming && typeof incoming === 'object') return { ...defaults, ...(incoming as Record<string, unknown>) };
  return { ...defaults };
}

/** Resolves to the sequence's record, or undefined when the invoker stopped before it finished. */
export async function runSequence(
  o: SequenceRunnerOptions,
  inv: ClaimedInvocation,
  action: ActionDoc & { exec: SequenceExec },
): Promise<ActivationRecord | undefined> {
  const start = Date.now();
  const identity = queueIdentity(inv.namespace, inv.subject);
  // The first component gets the raw payload; `_actions` may ride along from callers that merged the action's params.
  let incoming: unknown = Array.isArray(inv.params) ? inv.params : { ...inv.params };
  if (incoming && typeof incoming === 'object' && !Array.isArray(incoming)) delete (incoming as Record<string, unknown>)._actions;
  const componentIds: string[] = [];
  let duration = 0;
  let memory: number | undefined;
  let response: Response | undefined;

  for (const component of action.exec.components) {
    if (o.signal?.aborted) return undefined;
    if (o.cancel?.signal.aborted) break;
    // Gone, or no longer shared with this namespace: "does not exist". A store failure is thrown (internal error).
    const target = await lookup(o.store, identity, component).catch((err) => {
      if (err instanceof ApiError) return undefined;
      throw err;
    });
    if (!target) {
      response = errorResponse(1, SequenceMessages.componentMissing);
      break;
    }
    const activationId = newActivationId();
    const annotations: KeyValue[] = [{ key: 'causedBy', value: 'sequence' }];
    if (target.binding) annotations.push({ key: 'binding', value: target.binding });
    const child: Invocation = {
      activationId,
      namespace: inv.namespace,
      subject: inv.subject,
      actionNamespace: target.ownerNamespace,
      actionName: target.actionName,
      actionUpdated: target.doc.updated,
      actionVersion: target.doc.version,
      params: componentParams(incoming, target.defaults),
      transactionId: inv.transactionId,
      received: Date.now(),
      blocking: true,
      annotations,
      cause: inv.activationId,
      ...(inv.apiKey && annotation(target.doc.annotations, 'provide-api-key') === true ? { apiKey: inv.apiKey } : {}),
    };
    // Registered before the enqueue so a fast completion cannot be missed.
    const waiter = o.waiters.register(inv.namespace, activationId);
    const claim = o.local?.reserve();
    try {
      await o.store.enqueue(child, claim);
    } catch (err) {
      if (claim) o.local!.release();
      waiter.cancel();
      throw err;
    }
    if (claim) o.local!.runReserved(child);
    componentIds.push(activationId);
    const record = await waitOrAbort(waiter, target.doc.limits.timeout + (o.retrieveGraceMs ?? RETRIEVE_GRACE_MS), o.signal, o.cancel, activationId);
    if (o.signal?.aborted) return undefined;
    if (o.cancel?.signal.aborted) {
      if (record) duration += record.duration ?? 0;
      break;
    }
    if (!record) {
      response = errorResponse(3, SequenceMessages.retrieveTimeout(activationId));
      break;
    }
    duration += record.duration ?? 0;
    const m = limitsMemory(record);
    if (m !== undefined) memory = Math.max(memory ?? 0, m);
    response = record.response;
    incoming = record.response.result;
    if (record.statusCode !== 0 || isErrorResult(record.response.result)) break;
  }

  const cancel = o.cancel?.signal.aborted ? o.cancel.request() : undefined;
  const record = buildSequenceRecord(inv, action, {
    start,
    end: Date.now(),
    duration,
    response: cancel ? cancelledResponse() : (response ?? errorResponse(1, SequenceMessages.componentMissing)),
    componentIds,
    memory: memory ?? action.limits.memory,
  });
  return cancel ? asCancelled(record, cancel) : record;
}

/**
 * Waits for the component's record; an abort (invoker stopping) cancels the wait and its timers. A cancel of the
 * sequence cancels the component and goes on waiting for its (cancelled) record: the sequence ends only once the
 * component's processes are gone.
 */
async function waitOrAbort(
  waiter: ReturnType<CompletionWaiters['register']>,
  ms: number,
  signal: AbortSignal | undefined,
  cancel: SequenceRunnerOptions['cancel'],
  activationId?: string,
): Promise<ActivationRecord | undefined> {
  const onAbort = () => waiter.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  const onCancel = () => {
    const request = cancel!.request();
    if (request && activationId) void cancel!.component(activationId, request).catch(() => undefined);
  };
  if (cancel) {
    if (cancel.signal.aborted) onCancel();
    else cancel.signal.addEventListener('abort', onCancel, { once: true });
  }
  try {
    return await waiter.wait(ms);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    cancel?.signal.removeEventListener('abort', onCancel);
  }
}
