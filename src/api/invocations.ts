// Accepting an invocation: throttle, merge parameters, durably enqueue, and (blocking) wait for the record.
import { checkActionPolicy } from '../tenants/action-policy.js';
import {
  IdempotencyKeyBusyError,
  type AdmissionOutcome,
  type AdmissionRefusal,
  type EnqueueClaim,
  type IdempotencyOutcome,
  type Store,
} from '../store/store.js';
import { IDEMPOTENCY_DOCS_LINK, IdempotencyMessages } from '../idempotency/idempotency-key.js';
import type { ActivationRecord, Identity, Invocation, KeyValue } from '../types.js';
import { newActivationId } from '../ids.js';
import { ApiError, Messages } from './errors.js';
import type { ResolvedAction } from './resolve-action.js';
import { annotation } from './action-doc.js';
import { callbackUrlFromAnnotations, callbackUrlProblem } from '../deliveries/callback-url.js';
import type { Throttle } from './throttle.js';
import type { CompletionWaiters } from '../run-control/completion-waiters.js';
import { SYSTEM_NAMESPACE } from '../catalog/install-catalog.js';
import { ALARM_TYPES, runAlarmFeed } from '../feeds/alarm-feed.js';
import type { AlarmType } from '../feeds/alarm-schedule.js';

/** Annotation of a whisk.system action that Flare runs itself (the alarms feed). */
export const NATIVE_FEED = 'flare-native-feed';
import type { FlareMetrics } from '../ops/metrics.js';
import { retryPolicy } from '../retries/retry-policy.js';

export interface InvokeOptions {
  blocking: boolean;
  /** How long a blocking caller waits before being answered 202 (D3). */
  waitMs: number;
  transactionId: string;
  received: number;
  annotations?: KeyValue[];
  /** Queue TTL from `?ttl=` (overrides the action's max-event-age-ms annotation). */
  ttlMs?: number;
  /** The activation this one is caused by (a replay's original). */
  cause?: string;
  /** Completion callback URL of this invoke (already checked); else the function's callback-url annotation applies. */
  callbackUrl?: string;
  /** An Idempotency-Key with the request's fingerprint: the key row is committed with the invocation. */
  idempotency?: { key: string; fingerprint: string };
}

export interface InvokeOutcome {
  activationId: string;
  /** Present when a blocking invoke finished within the wait. */
  record?: ActivationRecord;
  /** The Idempotency-Key was used before with the same request: this is that request's activation. */
  replayed?: boolean;
}

/** An invoker in the same process that can take a new invocation directly (see Invoker.reserve). */
export interface LocalInvoker {
  reserve(): EnqueueClaim | undefined;
  runReserved(inv: Invocation): void;
  release(): void;
}

/** The action's `max-event-age-ms` annotation, when it is a positive whole number. */
function maxEventAge(annotations: KeyValue[]): number | undefined {
  const v = annotation(annotations, 'max-event-age-ms');
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/** The function's callback-url annotation, if it holds a usable URL (checked when the function was saved). */
function annotatedCallbackUrl(annotations: KeyValue[]): string | undefined {
  const url = callbackUrlFromAnnotations(annotations);
  return url !== undefined && callbackUrlProblem(url) === undefined ? url : undefined;
}

export class InvocationService {
  /** Set by the node assembly when this process also runs an invoker. */
  local?: LocalInvoker;

  constructor(
    private readonly store: Store,
    private readonly throttle: Throttle,
    private readonly waiters: CompletionWaiters,
    /** How long an Idempotency-Key protects its first request (§4.9: 24 h by default). */
    private readonly idempotencyWindowMs = 24 * 3_600_000,
    private readonly metrics?: FlareMetrics,
  ) {}

  async invoke(identity: Identity, action: ResolvedAction, payload: Record<string, unknown>, opts: InvokeOptions): Promise<InvokeOutcome> {
    if (action.finalKeys) {
      for (const k of Object.keys(payload)) if (action.finalKeys.has(k)) throw new ApiError(400, Messages.finalParams);
    }
    // The namespace's limits may have tightened since its action was written.
    if (action.ownerNamespace === identity.namespace) checkActionPolicy(action.doc, identity.namespace, identity.limits);
    const activationId = newActivationId();
    const feed = action.ownerNamespace === SYSTEM_NAMESPACE ? annotation(action.doc.annotations, NATIVE_FEED) : undefined;
    if (ALARM_TYPES.includes(feed as AlarmType)) return this.runAlarmFeed(identity, action, feed as AlarmType, payload, activationId, opts);
    const annotations = [...(opts.annotations ?? []), ...(action.binding ? [{ key: 'binding', value: action.binding }] : [])];
    const inv: Invocation = {
      activationId,
      namespace: identity.namespace,
      subject: identity.subject,
      actionNamespace: action.ownerNamespace,
      actionName: action.actionName,
      actionUpdated: action.doc.updated,
      actionVersion: action.doc.version,
      // A sequence's first component gets the raw payload: its components merge their own parameters (§7).
      params: action.doc.exec.kind === 'sequence' ? { ...payload } : { ...action.defaults, ...payload },
      transactionId: opts.transactionId,
      received: opts.received,
      blocking: opts.blocking,
      ...(annotations.length ? { annotations } : {}),
      // The caller's key travels with the invocation only when the action asked for it (provide-api-key).
      ...(annotation(action.doc.annotations, 'provide-api-key') === true ? { apiKey: identity.authKey } : {}),
    };
    const ttlMs = opts.ttlMs ?? maxEventAge(action.doc.annotations);
    if (ttlMs !== undefined) inv.ttlMs = ttlMs;
    if (identity.limits.storeActivations === false) inv.storeActivations = false;
    if (opts.cause) inv.cause = opts.cause;
    // Status shows "attempt k of n" from the start; the invoker reads the policy itself for every attempt.
    const policy = retryPolicy(action.doc.annotations);
    if (policy) inv.maxAttempts = policy.maxAttempts;
    if (annotation(action.doc.annotations, 'store-params') === false) inv.storeParams = false;
    const callbackUrl = opts.callbackUrl ?? annotatedCallbackUrl(action.doc.annotations);
    if (callbackUrl !== undefined) inv.callbackUrl = callbackUrl;
    if (opts.idempotency) return this.invokeIdempotent(identity, inv, opts, opts.idempotency);
    const waiter = opts.blocking ? this.waiters.register(identity.namespace, activationId) : undefined;
    const claim = this.local?.reserve();
    const timed = this.metrics?.storeTimer('enqueue');
    let admitted: AdmissionOutcome;
    try {
      admitted = await this.store.enqueueWithinLimits(inv, this.throttle.admissionLimits(identity), claim);
      timed?.();
    } catch (err) {
      if (claim) this.local!.release();
      waiter?.cancel();
      throw err;
    }
    if (!admitted.admitted) {
      if (claim) this.local!.release();
      waiter?.cancel();
      throw this.refused(identity, admitted);
    }
    this.metrics?.invocationAccepted(identity.namespace, action.actionName);
    if (claim) this.local!.runReserved(inv);
    if (!waiter) return { activationId };
    const record = await waiter.wait(opts.waitMs);
    return record ? { activationId, record } : { activationId };
  }

  /**
   * Key row and queue row commit together. A live key with the same fingerprint answers with the first activation
   * (a blocking caller gets its record, or waits on it); another fingerprint is a 422. Keyed work is not claimed on
   * enqueue: the store wakes the invokers as for any queued work.
   */
  private async invokeIdempotent(
    identity: Identity,
    inv: Invocation,
    opts: InvokeOptions,
    idem: { key: string; fingerprint: string },
  ): Promise<InvokeOutcome> {
    const waiter = opts.blocking ? this.waiters.register(identity.namespace, inv.activationId) : undefined;
    let out: IdempotencyOutcome;
    try {
      const key = {
        namespace: identity.namespace,
        key: idem.key,
        fingerprint: idem.fingerprint,
        activationId: inv.activationId,
        expires: Date.now() + this.idempotencyWindowMs,
      };
      out = await this.store.enqueueWithIdempotencyKey(inv, key, this.throttle.admissionLimits(identity));
    } catch (err) {
      waiter?.cancel();
      if (err instanceof IdempotencyKeyBusyError) throw new ApiError(409, IdempotencyMessages.busy, { 'retry-after': '1' });
      throw err;
    }
    if ('refused' in out) {
      waiter?.cancel();
      throw this.refused(identity, out.refused);
    }
    if (out.stored) {
      this.metrics?.invocationAccepted(identity.namespace, inv.actionName);
      if (!waiter) return { activationId: inv.activationId };
      const record = await waiter.wait(opts.waitMs);
      return record ? { activationId: inv.activationId, record } : { activationId: inv.activationId };
    }
    waiter?.cancel();
    if (out.fingerprint !== idem.fingerprint) throw new ApiError(422, IdempotencyMessages.mismatch, IDEMPOTENCY_DOCS_LINK);
    const first = out.activationId;
    this.metrics?.idempotentReplay(identity.namespace, 'action');
    if (!opts.blocking) return { activationId: first, replayed: true };
    // Listen before looking, so a completion between the two is not missed.
    const firstWaiter = this.waiters.register(identity.namespace, first);
    const done = await this.store.getActivation(identity.namespace, first).catch((err) => {
      firstWaiter.cancel();
      throw err;
    });
    if (done) {
      firstWaiter.cancel();
      return { activationId: first, record: done, replayed: true };
    }
    const record = await firstWaiter.wait(opts.waitMs);
    return record ? { activationId: first, record, replayed: true } : { activationId: first, replayed: true };
  }

  private refused(identity: Identity, r: AdmissionRefusal): ApiError {
    this.metrics?.invocationThrottled(identity.namespace, r.limit === 'perMinute' ? 'per-minute' : 'concurrent');
    return this.throttle.refused(r);
  }

  /** The alarms feed runs here, not in a sandbox; its record is written before the caller is answered. */
  private async runAlarmFeed(identity: Identity, action: ResolvedAction, type: AlarmType, payload: Record<string, unknown>, activationId: string, opts: InvokeOptions): Promise<InvokeOutcome> {
    const start = Date.now();
    const out = await runAlarmFeed(this.store, identity, type, { ...action.defaults, ...payload });
    const end = Date.now();
    const statusCode = out.success ? 0 : 1;
    const record: ActivationRecord = {
      namespace: identity.namespace,
      name: action.actionName.split('/').pop()!,
      version: action.doc.version,
      subject: identity.subject,
      activationId,
      start,
      end,
      duration: end - start,
      statusCode,
      response: { status: out.success ? 'success' : 'application error', statusCode, success: out.success, result: out.result },
      logs: [],
      annotations: [
        { key: 'path', value: `${action.ownerNamespace}/${action.actionName}` },
        { key: 'waitTime', value: Math.max(0, start - opts.received) },
        { key: 'kind', value: action.doc.exec.kind },
        ...(opts.annotations ?? []),
      ],
      publish: false,
    };
    await this.store.complete([record]);
    return opts.blocking ? { activationId, record } : { activationId };
  }
}
