// The `retry` action annotation (run-control spec §4.7): which failed attempts are tried again, and when. Parsed and
// validated on action PUT (→ 400), read again by the invoker for every attempt. Off by default (maxAttempts 1).
import type { KeyValue } from '../types.js';

export const RETRY_CATEGORIES = ['developer-error', 'timeout', 'application-error', 'internal-error', 'interrupted'] as const;
export type RetryCategory = (typeof RETRY_CATEGORIES)[number];

export interface RetryPolicy {
  /** 1–20; 1 = off. */
  maxAttempts: number;
  on: RetryCategory[];
  initialMs: number;
  factor: number;
  maxMs: number;
}

export const MAX_ATTEMPTS_LIMIT = 20;
const DEFAULT_ON: RetryCategory[] = ['developer-error', 'timeout', 'internal-error'];
const DEFAULTS = { initialMs: 1_000, factor: 2, maxMs: 300_000 };
/** Upper bound on any delay (policy or `retryAfterMs`): a day. */
export const MAX_DELAY_MS = 86_400_000;

/** Why a policy is malformed (the message of the 400), or undefined when it is fine. */
export function retryPolicyProblem(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) return "The annotation 'retry' must be an object: {\"maxAttempts\", \"on\", \"initialMs\", \"factor\", \"maxMs\"}.";
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!['maxAttempts', 'on', 'initialMs', 'factor', 'maxMs'].includes(k)) return `The annotation 'retry' has an unknown field '${k}'.`;
  }
  const int = (k: string, min: number, max: number) =>
    r[k] === undefined || (typeof r[k] === 'number' && Number.isInteger(r[k]) && (r[k] as number) >= min && (r[k] as number) <= max)
      ? undefined
      : `The annotation 'retry' field '${k}' must be a whole number from ${min} to ${max}.`;
  const bad =
    int('maxAttempts', 1, MAX_ATTEMPTS_LIMIT) ?? int('initialMs', 0, MAX_DELAY_MS) ?? int('maxMs', 0, MAX_DELAY_MS);
  if (bad) return bad;
  if (r.factor !== undefined && !(typeof r.factor === 'number' && Number.isFinite(r.factor) && r.factor >= 1 && r.factor <= 10)) {
    return "The annotation 'retry' field 'factor' must be a number from 1 to 10.";
  }
  if (r.on !== undefined) {
    if (!Array.isArray(r.on) || r.on.some((c) => !RETRY_CATEGORIES.includes(c as RetryCategory))) {
      return `The annotation 'retry' field 'on' must be a list of: ${RETRY_CATEGORIES.join(', ')}.`;
    }
  }
  return undefined;
}

/** The action's policy, or undefined when retries are off (no annotation, maxAttempts 1, or malformed). */
export function retryPolicy(annotations: KeyValue[] | undefined): RetryPolicy | undefined {
  const raw = annotations?.find((a) => a.key === 'retry')?.value;
  if (raw === undefined || raw === null || retryPolicyProblem(raw) !== undefined) return undefined;
  const r = raw as Partial<RetryPolicy>;
  const maxAttempts = r.maxAttempts ?? 1;
  if (maxAttempts <= 1) return undefined;
  return {
    maxAttempts,
    on: r.on ? [...new Set(r.on)] : DEFAULT_ON,
    initialMs: r.initialMs ?? DEFAULTS.initialMs,
    factor: r.factor ?? DEFAULTS.factor,
    maxMs: r.maxMs ?? DEFAULTS.maxMs,
  };
}

/** Full jitter (AWS "Exponential Backoff And Jitter"): uniform in [0, min(maxMs, initialMs · factor^(attempt-1))]. */
export function backoffMs(p: RetryPolicy, attempt: number, random = Math.random): number {
  const cap = Math.min(p.maxMs, p.initialMs * p.factor ** Math.max(0, attempt - 1));
  return Math.floor(random() * (cap + 1));
}

/** What one failed attempt was, for the policy's `on` list. */
export function attemptCategory(statusCode: 0 | 1 | 2 | 3, timedOut: boolean): RetryCategory | undefined {
  if (statusCode === 0) return undefined;
  if (statusCode === 1) return 'application-error';
  if (statusCode === 2) return timedOut ? 'timeout' : 'developer-error';
  return 'internal-error';
}

/** The function's own say in an error result: `"retryable": false` stops, `"retryAfterMs": n` sets the next delay. */
export function resultSteering(result: unknown): { retryable?: false; retryAfterMs?: number } {
  if (!result || typeof result !== 'object' || Array.isArray(result)) return {};
  const r = result as Record<string, unknown>;
  const out: { retryable?: false; retryAfterMs?: number } = {};
  if (r.retryable === false) out.retryable = false;
  if (typeof r.retryAfterMs === 'number' && Number.isFinite(r.retryAfterMs) && r.retryAfterMs >= 0) {
    out.retryAfterMs = Math.min(MAX_DELAY_MS, Math.floor(r.retryAfterMs));
  }
  return out;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; exhausted: boolean };

/**
 * Whether attempt `attempt` (1-based) that ended in `category` is tried again. `exhausted` marks a failure the policy
 * would have retried but had no attempt left (the dead-letter view lists those).
 */
export function decideRetry(p: RetryPolicy | undefined, attempt: number, category: RetryCategory | undefined, result: unknown): RetryDecision {
  if (!p || !category || !p.on.includes(category)) return { retry: false, exhausted: false };
  const steer = category === 'interrupted' ? {} : resultSteering(result);
  if (steer.retryable === false) return { retry: false, exhausted: false };
  if (attempt >= p.maxAttempts) return { retry: false, exhausted: true };
  return { retry: true, delayMs: steer.retryAfterMs ?? backoffMs(p, attempt) };
}
