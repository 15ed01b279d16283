// What a namespace's limits allow its actions: kinds, memory and time. Checked when an action is written and again
// when one is invoked (limits may have tightened since it was written).
import { resolveKind } from '../kinds.js';
import { ApiError, badRequest } from '../api/errors.js';
import type { ActionDoc, NamespaceLimits } from '../types.js';

/** Whether `kind` (as stored: "nodejs:20") is among the allowed ones ("nodejs:20", "nodejs:default" or "nodejs"). */
export function kindAllowed(kind: string, allowed: string[] | undefined): boolean {
  if (!allowed || kind === 'sequence') return true;
  const family = kind.includes(':') ? kind.slice(0, kind.indexOf(':')) : kind;
  return allowed.some((a) => a === kind || a === family || (a.endsWith(':default') && resolveKind(a) === kind));
}

/**
 * A new action that does not ask for memory or time gets the server default, capped to the namespace's maximum
 * (an explicit value above it is refused by checkActionPolicy).
 */
export function capDefaultLimits(doc: Pick<ActionDoc, 'limits'>, body: unknown, limits: NamespaceLimits): void {
  const asked = (body as { limits?: Record<string, unknown> } | undefined)?.limits ?? {};
  if (asked.memory === undefined && doc.limits.memory > limits.maxMemoryMb) doc.limits.memory = limits.maxMemoryMb;
  if (asked.timeout === undefined && doc.limits.timeout > limits.maxTimeoutMs) doc.limits.timeout = limits.maxTimeoutMs;
}

/** Throws the OpenWhisk-shaped error when the action breaks the namespace's limits. */
export function checkActionPolicy(doc: Pick<ActionDoc, 'exec' | 'limits'>, namespace: string, limits: NamespaceLimits): void {
  const kind = doc.exec.kind;
  if (!kindAllowed(kind, limits.allowedKinds)) {
    throw new ApiError(403, `The kind '${kind}' is not allowed in namespace '${namespace}'. Allowed kinds: ${limits.allowedKinds!.map((k) => `'${k}'`).join(', ')}.`);
  }
  if (kind === 'sequence') return;
  if (doc.limits.memory > limits.maxMemoryMb) {
    throw badRequest(`memory size ${doc.limits.memory} MB exceeds allowed threshold of ${limits.maxMemoryMb} MB`);
  }
  if (doc.limits.timeout > limits.maxTimeoutMs) {
    throw badRequest(`timeout ${doc.limits.timeout} milliseconds exceeds allowed threshold of ${limits.maxTimeoutMs} milliseconds`);
  }
}
