// Per-namespace throttles (D5): concurrent invocations (queued or running) and invocations per minute.
//
// Admission is exact on every store and across API nodes: the check and the enqueue of one invocation are one Store
// operation (enqueueWithinLimits), so two requests can never both pass a check that only one of them fits. This class
// only says which limits apply (limitsOf, the one lookup per-namespace limits plug into) and turns a refusal into
// OpenWhisk's 429.
import type { AdmissionLimits, AdmissionRefusal, Store } from '../store/store.js';
import type { Identity } from '../types.js';
import { ApiError, Messages } from './errors.js';

export interface ThrottleLimits {
  invocationsPerMinute: number;
  concurrentInvocations: number;
}

export class Throttle {
  constructor(readonly store: Store) {}

  /** The one place limits are looked up (per-namespace values plug in here). */
  limitsOf(identity: Identity): ThrottleLimits {
    return identity.limits;
  }

  /** The limits the store enforces for one invocation of `identity`. */
  admissionLimits(identity: Identity): AdmissionLimits {
    const l = this.limitsOf(identity);
    return { concurrent: l.concurrentInvocations, perMinute: l.invocationsPerMinute };
  }

  /** OpenWhisk's 429 for a refusal; `count` is what the count would have been with the refused invocation. */
  refused(r: AdmissionRefusal): ApiError {
    return new ApiError(429, r.limit === 'perMinute' ? Messages.perMinute(r.count, r.allowed) : Messages.concurrent(r.count, r.allowed));
  }
}
