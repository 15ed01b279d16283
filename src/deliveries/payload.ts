// What a callback says (run-control §4.6): `{"type":"activation.<event>","timestamp":"<end ISO>","data":<record
// without logs>}`, signed per Standard Webhooks with every signing secret of the namespace.
import { Webhook } from 'standardwebhooks';
import type { DeliveryEvent } from '../store/store.js';
import type { ActivationRecord } from '../types.js';

/** Above this the result is left out (`{"truncated":true}`); the record stays readable through the API. */
export const BODY_MAX = 256 * 1024;

/** The webhook id: stable across retries and redeliveries of one activation's callback, no `.` (spec). */
export function webhookId(activationId: string, event: DeliveryEvent): string {
  return `act_${activationId}_${event}`;
}

export function callbackBody(record: ActivationRecord, event: DeliveryEvent): string {
  const { logs: _logs, ...data } = record;
  const envelope = { type: `activation.${event}`, timestamp: new Date(record.end ?? record.start).toISOString(), data };
  const text = JSON.stringify(envelope);
  if (Buffer.byteLength(text) <= BODY_MAX) return text;
  return JSON.stringify({ ...envelope, data: { ...data, response: { ...data.response, result: { truncated: true } } } });
}

/** The Standard Webhooks headers; several secrets (rotation) give space-separated signatures. */
export function signedHeaders(id: string, body: string, secrets: string[], now = new Date()): Record<string, string> {
  const ts = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts.getTime() / 1000),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(id, ts, body)).join(' '),
  };
}
