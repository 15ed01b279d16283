// Turns a run outcome (or a failure to run) into the activation record (§4, D1, D13).
import type { ActionDoc, ActivationRecord, ClaimedInvocation, KeyValue } from '../types.js';
import { STATUS_TEXT } from '../types.js';
import type { RunOutcome } from '../runtime/runtime.js';

function resultSize(result: unknown): number {
  return Buffer.byteLength(JSON.stringify(result ?? {}));
}

export function buildRecord(inv: ClaimedInvocation, action: ActionDoc, outcome: RunOutcome): ActivationRecord {
  const annotations: KeyValue[] = [
    { key: 'path', value: `${inv.actionNamespace}/${inv.actionName}` },
    { key: 'waitTime', value: Math.max(0, outcome.start - inv.received) },
    { key: 'kind', value: action.exec.kind },
    { key: 'timeout', value: outcome.timeout },
    { key: 'limits', value: { concurrency: action.limits.concurrency, logs: action.limits.logs, memory: action.limits.memory, timeout: action.limits.timeout } },
  ];
  if (outcome.initTime !== undefined) annotations.push({ key: 'initTime', value: outcome.initTime });
  for (const a of inv.annotations ?? []) annotations.push(a);
  const statusCode = outcome.statusCode;
  return {
    namespace: inv.namespace,
    name: inv.actionName,
    version: action.version,
    subject: inv.subject,
    activationId: inv.activationId,
    ...(inv.cause ? { cause: inv.cause } : {}),
    start: outcome.start,
    end: outcome.end,
    duration: Math.max(0, outcome.end - outcome.start),
    statusCode,
    response: {
      status: STATUS_TEXT[statusCode],
      statusCode,
      success: statusCode === 0,
      result: outcome.result,
      size: outcome.size ?? resultSize(outcome.result),
    },
    logs: outcome.logs,
    annotations,
    publish: false,
  };
}

/** A record for an invocation Flare could not run or finish (statusCode 3, "whisk internal error"). */
export function internalErrorRecord(inv: ClaimedInvocation, message: string, action?: ActionDoc): ActivationRecord {
  const now = Date.now();
  const annotations: KeyValue[] = [{ key: 'path', value: `${inv.actionNamespace}/${inv.actionName}` }];
  if (action) {
    annotations.push({ key: 'kind', value: action.exec.kind });
    annotations.push({ key: 'limits', value: { concurrency: action.limits.concurrency, logs: action.limits.logs, memory: action.limits.memory, timeout: action.limits.timeout } });
  }
  for (const a of inv.annotations ?? []) annotations.push(a);
  const result = { error: message };
  return {
    namespace: inv.namespace,
    name: inv.actionName,
    version: action?.version ?? '0.0.0',
    subject: inv.subject,
    activationId: inv.activationId,
    ...(inv.cause ? { cause: inv.cause } : {}),
    start: inv.received,
    end: now,
    duration: Math.max(0, now - inv.received),
    statusCode: 3,
    response: { status: STATUS_TEXT[3], statusCode: 3, success: false, result, size: resultSize(result) },
    logs: [],
    annotations,
    publish: false,
  };
}

export const INTERRUPTED_MESSAGE =
  'The invocation was interrupted: the invoker running it stopped before the activation completed. It was not re-run because the function may already have had side effects.';

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
    { key: 'path', value: `${inv.actionNamespace}/${inv.actionName}` },
    { key: 'waitTime', value: Math.max(0, o.start - inv.received) },
    { key: 'kind', value: 'sequence' },
    { key: 'limits', value: { concurrency: action.limits.concurrency, logs: action.limits.logs, memory: o.memory, timeout: action.limits.timeout } },
  ];
  for (const a of inv.annotations ?? []) annotations.push(a);
  const statusCode = o.response.statusCode;
  return {
    namespace: inv.namespace,
    name: inv.actionName,
    version: action.version,
    subject: inv.subject,
    activationId: inv.activationId,
    ...(inv.cause ? { cause: inv.cause } : {}),
    start: o.start,
    end: o.end,
    duration: o.duration,
    statusCode,
    response: { ...o.response, status: STATUS_TEXT[statusCode], success: statusCode === 0 },
    logs: o.componentIds,
    annotations,
    publish: false,
  };
}
