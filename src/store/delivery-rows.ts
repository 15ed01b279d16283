// Row shapes of the completion-callback tables (snake_case columns, same in both adapters) → the Store's types.
import type { DeliveryAttempt, DeliveryView, WebhookSecrets } from './store.js';

type Row = Record<string, any>;

export function attemptOf(r: Row): DeliveryAttempt {
  return {
    attempt: Number(r.attempt),
    at: Number(r.at),
    ...(r.status != null ? { status: Number(r.status) } : {}),
    ...(r.error != null ? { error: String(r.error) } : {}),
    latencyMs: Number(r.latency_ms),
    ...(r.next_at != null ? { nextAttemptAt: Number(r.next_at) } : {}),
  };
}

/** Shared by both adapters' row shapes (snake_case columns). */
export function deliveryView(d: Row, attempts: DeliveryAttempt[]): DeliveryView {
  return {
    activationId: String(d.activation_id),
    namespace: String(d.namespace),
    url: String(d.url),
    event: d.event_type,
    state: d.state,
    ...(d.state === 'pending' && d.next_at != null ? { nextAttemptAt: Number(d.next_at) } : {}),
    created: Number(d.created),
    attempts,
  };
}

export function secretsOf(r: Row | undefined): WebhookSecrets | undefined {
  if (!r) return undefined;
  return {
    current: String(r.secret),
    ...(r.previous != null ? { previous: String(r.previous) } : {}),
    ...(r.previous_until != null ? { previousUntil: Number(r.previous_until) } : {}),
  };
}
