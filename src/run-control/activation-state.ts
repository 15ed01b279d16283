// The lifecycle of an activation as run control shows it (run-control spec §4.1). In-flight states come from the
// queue row, terminal ones from the record; the table below is the one place a new state (e.g. `retrying`) is added.
import type { ActivationRecord, InFlightEntry, QueueState } from '../types.js';
import { badRequest } from '../api/errors.js';

export type ActivationState = 'queued' | 'running' | 'retrying' | 'cancelling' | 'succeeded' | 'failed' | 'cancelled';

const STATES: Record<ActivationState, { inFlight: boolean }> = {
  queued: { inFlight: true },
  running: { inFlight: true },
  retrying: { inFlight: true },
  cancelling: { inFlight: true },
  succeeded: { inFlight: false },
  failed: { inFlight: false },
  cancelled: { inFlight: false },
};

export function isInFlightState(s: ActivationState): boolean {
  return STATES[s].inFlight;
}

/** Parses `state=a,b`; unknown names are a 400 naming the accepted ones. */
export function parseStates(raw: string | undefined): ActivationState[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const out: ActivationState[] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(part in STATES)) throw badRequest(`The parameter 'state' must be a comma-separated list of: ${Object.keys(STATES).join(', ')}.`);
    if (!out.includes(part as ActivationState)) out.push(part as ActivationState);
  }
  return out.length ? out : undefined;
}

function annotationOf(rec: ActivationRecord, key: string): unknown {
  return rec.annotations.find((a) => a.key === key)?.value;
}

/** The terminal state a record stands for: cancelled records carry the `cancelled` annotation. */
export function recordState(rec: ActivationRecord): 'succeeded' | 'failed' | 'cancelled' {
  if (annotationOf(rec, 'cancelled') === true) return 'cancelled';
  return rec.statusCode === 0 ? 'succeeded' : 'failed';
}

/** Whether a finished record matches any of the asked terminal states. */
export function recordMatches(rec: ActivationRecord, states: ActivationState[]): boolean {
  return states.includes(recordState(rec));
}

/** Extra fields of the in-flight 404 (after `error` and `code`, which clients key on). */
export function inFlightFields(e: InFlightEntry, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    activationId: e.activationId,
    state: e.state as QueueState,
    name: e.name,
    ...(e.version !== undefined ? { version: e.version } : {}),
    queuedAt: e.queuedAt,
    ...(e.start !== undefined ? { start: e.start } : {}),
    ...attemptFields(e),
    ...extra,
  };
}

/** Attempt fields of an activation with a retry policy (src/retries/): which attempt, of how many, next when. */
function attemptFields(e: InFlightEntry): Record<string, unknown> {
  return {
    ...(e.attempt !== undefined ? { attempt: e.attempt, maxAttempts: e.maxAttempts } : {}),
    ...(e.nextAttemptAt !== undefined ? { nextAttemptAt: e.nextAttemptAt } : {}),
  };
}

/** An entry of `GET …/activations?state=…` for an in-flight activation: no end, duration or statusCode yet. */
export function inFlightListItem(e: InFlightEntry): Record<string, unknown> {
  return {
    namespace: e.namespace,
    name: e.name,
    ...(e.version !== undefined ? { version: e.version } : {}),
    activationId: e.activationId,
    ...(e.cause ? { cause: e.cause } : {}),
    state: e.state,
    queuedAt: e.queuedAt,
    ...(e.start !== undefined ? { start: e.start } : {}),
    ...attemptFields(e),
  };
}

/**
 * `GET …/activations/{id}/status`: state and timings, never params, result or logs. `extra` carries fields other
 * parts add (e.g. live `progress`).
 */
export function statusOfEntry(e: InFlightEntry, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    activationId: e.activationId,
    name: e.name,
    ...(e.version !== undefined ? { version: e.version } : {}),
    state: e.state,
    queuedAt: e.queuedAt,
    ...(e.start !== undefined ? { start: e.start, elapsed: Math.max(0, Date.now() - e.start) } : {}),
    ...(e.cancel ? { cancel: e.cancel } : {}),
    ...attemptFields(e),
    ...extra,
  };
}

export function statusOfRecord(rec: ActivationRecord): Record<string, unknown> {
  const waitTime = annotationOf(rec, 'waitTime');
  const state = recordState(rec);
  const cancelledBy = annotationOf(rec, 'cancelledBy');
  const cancelReason = annotationOf(rec, 'cancelReason');
  return {
    activationId: rec.activationId,
    name: rec.name,
    version: rec.version,
    state,
    statusCode: rec.statusCode,
    ...(typeof waitTime === 'number' ? { queuedAt: rec.start - waitTime } : {}),
    start: rec.start,
    end: rec.end,
    duration: rec.duration,
    ...(state === 'cancelled'
      ? { cancel: { ...(cancelledBy !== undefined ? { by: cancelledBy } : {}), ...(cancelReason !== undefined ? { reason: cancelReason } : {}) } }
      : {}),
  };
}
