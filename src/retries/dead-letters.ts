// The dead-letter view (issue 11 point 5, run-control §4.10): no separate queue, just the failed records whose retry
// policy ran out of attempts (or of event age), listed with `GET …/activations?state=failed&retriesExhausted=true`.
import type { ActivationRecord } from '../types.js';

export function retriesExhausted(rec: ActivationRecord): boolean {
  const v = rec.annotations.find((a) => a.key === 'retriesExhausted')?.value;
  return rec.statusCode !== 0 && (v === true || v === 'eventAge');
}
