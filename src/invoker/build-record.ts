// Turns a run outcome (or a failure to run) into the activation record (§4, D1, D13).
import type { ActionDoc, ActivationRecord, ActivationResponse, CancelRequest, ClaimedInvocation, KeyValue } from '../types.js';
import { STATUS_TEXT } from '../types.js';
import type { RunOutcome } from '../runtime/runtime.js';
import { asCancelled, CANCELLED_MESSAGE } from '../cancel/cancelled-record.js';

function resultSize(result: unknown): number {
  return Buffer.byteLength(JSON.stringify(result ?? {}));
}

function limitsAnnotation(action: ActionDoc, memory = action.limits.memory): KeyValue {
  const l = action.limits;
  return { key: 'limits', value: { concurrency: l.concurrency, logs: l.logs, memory, timeout: l.timeout } };
}

function pathAnnotation(inv: ClaimedInvocation): KeyValue {
  return { key: 'path', value: `${inv.actionNamespace}/${inv.actionName}` };
}

function response(statusCode: ActivationRecord['statusCode'], result: unknown, size?: number): ActivationResponse {
  return { status: STATUS_TEXT[statusCode], statusCode, success: statusCode === 0, result, size: size ?? resultSize(result) };
}

/** The parts every record shares, in wire field order; the invocation's own annotations (binding, cause…) go last. */
function record(
  inv: ClaimedInvocation,
  version: string,
  timing: { start: number; end: number; duration: number },
  resp: ActivationResponse,
  logs: string[],
  annotations: KeyValue[],
): ActivationRecord {
  return {
    namespace: inv.namespace,
    name: inv.actionName,
    version,
    subject: inv.subject,
    activationId: inv.activationId,
    ...(inv.cause ? { cause: inv.cause } : {}),
    start: timing.start,
    end: timing.end,
    duration: timing.duration,
    statusCode: resp.statusCode,
    response: resp,
    logs,
    annotations: [...annotations, ...(inv.annotations ?? [])],
    publish: false,
  };
}

export function buildRecord(inv: ClaimedInvocation, action: ActionDoc, outcome: RunOutcome): ActivationRecord {
  const annotations: KeyValue[] = [
    pathAnnotation(inv),
    { key: 'waitTime', value: Math.max(0, outcome.start - inv.received) },
    { key: 'kind', value: action.exec.kind },
    { key: 'timeout', value: outcome.timeout },
    limitsAnnotation(action),
  ];
  if (outcome.initTime !== undefined) annotations.push({ key: 'initTime', value: outcome.initTime });
  const timing = { start: outcome.start, end: outcome.end, duration: Math.max(0, outcome.end - outcome.start) };
  return record(inv, action.version, timing, response(outcome.statusCode, outcome.result, outcome.size), outcome.logs, annotations);
}

/** A record for an invocation Flare could not run or finish (statusCode 3, "whisk internal error"). */
export function internalErrorRecord(inv: ClaimedInvocation, message: string, action?: ActionDoc): ActivationRecord {
  const now = Date.now();
  const annotations = action ? [pathAnnotation(inv), { key: 'kind', value: action.exec.kind }, limitsAnnotation(action)] : [pathAnnotation(inv)];
  const timing = { start: inv.received, end: now, duration: Math.max(0, now - inv.received) };
  return record(inv, action?.version ?? '0.0.0', timing, response(3, { error: message }), [], annotations);
}

/** An invocation that waited in the queue past its TTL: statusCode 3, annotated `expired`, never started. */
export function expiredRecord(inv: ClaimedInvocation, ttlMs: number, action?: ActionDoc): ActivationRecord {
  const r = internalErrorRecord(inv, `The activation expired in the queue after ${ttlMs} ms.`, action);
  const own = r.annotations.length - (inv.annotations?.length ?? 0);
  r.annotations.splice(own, 0, { key: 'expired', value: true });
  return r;
}

/**
 * A cancelled activation's record (§4.4): `run` is what ran until the kill (timings, logs up to it); without it the
 * work never started (start = end = now, duration 0, no logs).
 */
export function cancelledRecord(
  inv: ClaimedInvocation,
  cancel: CancelRequest,
  action: ActionDoc | undefined,
  run?: Pick<RunOutcome, 'start' | 'end' | 'logs' | 'initTime'>,
): ActivationRecord {
  const now = Date.now();
  const outcome: RunOutcome = {
    statusCode: 2,
    result: { error: CANCELLED_MESSAGE },
    logs: run?.logs ?? [],
    start: run?.start ?? now,
    end: run?.end ?? now,
    timeout: false,
    ...(run?.initTime !== undefined ? { initTime: run.initTime } : {}),
  };
  return asCancelled(action ? buildRecord(inv, action, outcome) : internalErrorRecord(inv, CANCELLED_MESSAGE), cancel);
}

export const INTERRUPTED_MESSAGE = 'The activation was interrupted: its node stopped while it ran.';

/**
 * A claimed (running) invocation whose node died (run-control spec §4.7): statusCode 3, annotated `interrupted`. The
 * function may already have had side effects, so it is not re-run unless its retry policy lists `interrupted`.
 */
export function interruptedRecord(inv: ClaimedInvocation, action?: ActionDoc): ActivationRecord {
  const r = internalErrorRecord(inv, INTERRUPTED_MESSAGE, action);
  const own = r.annotations.length - (inv.annotations?.length ?? 0);
  r.annotations.splice(own, 0, { key: 'interrupted', value: true });
  return r;
}

/** What a sequence run produced (§7): the last component's response and the component activation ids. */
export interface SequenceOutcome {
  start: number;
  end: number;
  /** Sum of the component durations. */
  duration: number;
  response: ActivationRecord['response'];
  /** Component activation ids in execution order. */
  componentIds: string[];
  /** Max memory limit over the components that ran (the sequence's own when none did). */
  memory: number;
}

/** A sequence's record: no initTime/timeout annotations; topmost unless it is itself a component (causedBy). */
export function buildSequenceRecord(inv: ClaimedInvocation, action: ActionDoc, o: SequenceOutcome): ActivationRecord {
  const nested = (inv.annotations ?? []).some((a) => a.key === 'causedBy' && a.value === 'sequence');
  const annotations: KeyValue[] = [
    { key: 'topmost', value: !nested },
    pathAnnotation(inv),
    { key: 'waitTime', value: Math.max(0, o.start - inv.received) },
    { key: 'kind', value: 'sequence' },
    limitsAnnotation(action, o.memory),
  ];
  const statusCode = o.response.statusCode;
  const resp = { ...o.response, status: STATUS_TEXT[statusCode], success: statusCode === 0 };
  return record(inv, action.version, { start: o.start, end: o.end, duration: o.duration }, resp, o.componentIds, annotations);
}
