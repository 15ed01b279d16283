// Accepting an invocation: throttle, merge parameters, durably enqueue, and (blocking) wait for the record.
import type { EnqueueClaim, Store } from '../store/store.js';
import type { ActivationRecord, Identity, Invocation, KeyValue } from '../types.js';
import { newActivationId } from '../ids.js';
import { ApiError, Messages } from './errors.js';
import type { ResolvedAction } from './resolve-action.js';
import { annotation } from './action-doc.js';
import type { Throttle } from './throttle.js';
import type { CompletionWaiters } from './completion-waiters.js';

export interface InvokeOptions {
  blocking: boolean;
  /** How long a blocking caller waits before being answered 202 (D3). */
  waitMs: number;
  transactionId: string;
  received: number;
  annotations?: KeyValue[];
}

export interface InvokeOutcome {
  activationId: string;
  /** Present when a blocking invoke finished within the wait. */
  record?: ActivationRecord;
}

/** An invoker in the same process that can take a new invocation directly (see Invoker.reserve). */
export interface LocalInvoker {
  reserve(): EnqueueClaim | undefined;
  runReserved(inv: Invocation): void;
  release(): void;
}

export class InvocationService {
  /** Set by the node assembly when this process also runs an invoker. */
  local?: LocalInvoker;

  constructor(
    private readonly store: Store,
    private readonly throttle: Throttle,
    private readonly waiters: CompletionWaiters,
  ) {}

  async invoke(identity: Identity, action: ResolvedAction, payload: Record<string, unknown>, opts: InvokeOptions): Promise<InvokeOutcome> {
    if (action.finalKeys) {
      for (const k of Object.keys(payload)) if (action.finalKeys.has(k)) throw new ApiError(400, Messages.finalParams);
    }
    await this.throttle.check(identity);
    const activationId = newActivationId();
    const annotations = [...(opts.annotations ?? []), ...(action.binding ? [{ key: 'binding', value: action.binding }] : [])];
    const inv: Invocation = {
      activationId,
      namespace: identity.namespace,
      subject: identity.subject,
      actionNamespace: action.ownerNamespace,
      actionName: action.actionName,
      actionUpdated: action.doc.updated,
      // A sequence's first component gets the raw payload: its components merge their own parameters (§7).
      params: action.doc.exec.kind === 'sequence' ? { ...payload } : { ...action.defaults, ...payload },
      transactionId: opts.transactionId,
      received: opts.received,
      blocking: opts.blocking,
      ...(annotations.length ? { annotations } : {}),
      // The caller's key travels with the invocation only when the action asked for it (provide-api-key).
      ...(annotation(action.doc.annotations, 'provide-api-key') === true ? { apiKey: identity.authKey } : {}),
    };
    const waiter = opts.blocking ? this.waiters.register(identity.namespace, activationId) : undefined;
    const claim = this.local?.reserve();
    try {
      await this.store.enqueue(inv, claim);
    } catch (err) {
      if (claim) this.local!.release();
      waiter?.cancel();
      throw err;
    }
    if (claim) this.local!.runReserved(inv);
    if (!waiter) return { activationId };
    const record = await waiter.wait(opts.waitMs);
    return record ? { activationId, record } : { activationId };
  }
}
