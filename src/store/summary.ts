// The activation list summary (§4.5): exactly these fields, no subject/response/logs.
import type { ActivationRecord } from '../types.js';
import type { ActivationSummary } from './store.js';

export function toSummary(r: ActivationRecord): ActivationSummary {
  const s: Record<string, unknown> = {
    namespace: r.namespace,
    name: r.name,
    version: r.version,
    publish: r.publish,
    annotations: r.annotations,
    activationId: r.activationId,
    start: r.start,
  };
  if (r.end !== undefined) {
    s.end = r.end;
    s.duration = r.duration;
  }
  if (r.cause !== undefined) s.cause = r.cause;
  s.statusCode = r.statusCode;
  return s as ActivationSummary;
}
