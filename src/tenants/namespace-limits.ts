// Per-namespace limits (`flare admin namespace limits`, like `wskadmin limits`): a namespace stores only the values
// it overrides; everything else follows the server defaults, so changing a default reaches every namespace.
import type { Limits } from '../config.js';
import type { NamespaceLimits } from '../types.js';

/** The server defaults as namespace limits. */
export function namespaceDefaults(l: Limits): NamespaceLimits {
  return {
    invocationsPerMinute: l.invocationsPerMinute,
    concurrentInvocations: l.concurrentInvocations,
    firesPerMinute: l.firesPerMinute,
    maxMemoryMb: l.memoryMax,
    maxTimeoutMs: l.timeoutMax,
    storeActivations: true,
  };
}

/** Effective limits: the overrides over the defaults (memory and time never above what the server allows). */
export function effectiveLimits(defaults: NamespaceLimits, overrides: Partial<NamespaceLimits> | undefined): NamespaceLimits {
  const out: NamespaceLimits = { ...defaults, ...(overrides ?? {}) };
  out.maxMemoryMb = Math.min(out.maxMemoryMb, defaults.maxMemoryMb);
  out.maxTimeoutMs = Math.min(out.maxTimeoutMs, defaults.maxTimeoutMs);
  return out;
}

/** The CLI flags that set a limit, with the field each sets. */
export const LIMIT_FLAGS = {
  invocationsPerMinute: '--invocations-per-minute',
  concurrentInvocations: '--concurrent',
  firesPerMinute: '--fires-per-minute',
  allowedKinds: '--allowed-kinds',
  maxMemoryMb: '--max-memory-mb',
  maxTimeoutMs: '--max-timeout-ms',
  storeActivations: '--store-activations',
} as const;

export type LimitFlagValues = { -readonly [K in keyof typeof LIMIT_FLAGS]?: string };

/**
 * Parses flag values (strings as typed) into overrides; throws an Error naming the flag on a bad value.
 * `server` bounds memory and time: a namespace cannot be allowed more than the server runs.
 */
export function parseLimitFlags(values: LimitFlagValues, server: Limits): Partial<NamespaceLimits> {
  const out: Partial<NamespaceLimits> = {};
  const int = (field: keyof typeof LIMIT_FLAGS, min: number, max: number): number | undefined => {
    const v = values[field];
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
      throw new Error(`${LIMIT_FLAGS[field]} must be an integer from ${min} to ${max}, got '${v}'`);
    }
    return Number(v);
  };
  const perMinute = int('invocationsPerMinute', 0, 1_000_000);
  if (perMinute !== undefined) out.invocationsPerMinute = perMinute;
  const concurrent = int('concurrentInvocations', 0, 1_000_000);
  if (concurrent !== undefined) out.concurrentInvocations = concurrent;
  const fires = int('firesPerMinute', 0, 1_000_000);
  if (fires !== undefined) out.firesPerMinute = fires;
  const memory = int('maxMemoryMb', server.memoryMin, server.memoryMax);
  if (memory !== undefined) out.maxMemoryMb = memory;
  const timeout = int('maxTimeoutMs', server.timeoutMin, server.timeoutMax);
  if (timeout !== undefined) out.maxTimeoutMs = timeout;
  if (values.allowedKinds !== undefined) {
    const kinds = values.allowedKinds.split(',').map((k) => k.trim()).filter(Boolean);
    if (!kinds.length) throw new Error(`${LIMIT_FLAGS.allowedKinds} needs at least one kind (use --reset for all kinds)`);
    out.allowedKinds = [...new Set(kinds)];
  }
  if (values.storeActivations !== undefined) {
    const v = values.storeActivations.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') throw new Error(`${LIMIT_FLAGS.storeActivations} must be true or false, got '${values.storeActivations}'`);
    out.storeActivations = v === 'true';
  }
  return out;
}
