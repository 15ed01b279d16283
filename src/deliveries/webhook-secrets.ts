// A namespace's Standard Webhooks signing secret (`whsec_` + base64 of 32 random bytes), made on first use. After a
// rotation the previous secret keeps signing for 24 h, so receivers can switch over: the webhook-signature header
// then carries two signatures.
import { randomBytes } from 'node:crypto';
import type { Store, WebhookSecrets } from '../store/store.js';

export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The namespace's secrets, creating the first one if it has none (concurrent callers agree on one). */
export async function webhookSecrets(store: Store, namespace: string): Promise<WebhookSecrets> {
  return (await store.getWebhookSecrets(namespace)) ?? store.ensureWebhookSecret(namespace, newWebhookSecret());
}

export function rotateWebhookSecret(store: Store, namespace: string, now = Date.now()): Promise<WebhookSecrets> {
  return store.rotateWebhookSecret(namespace, newWebhookSecret(), now + ROTATION_OVERLAP_MS);
}

/** The secrets that sign now: the current one, and the previous one within its overlap. */
export function signingSecrets(s: WebhookSecrets, now = Date.now()): string[] {
  return s.previous && (s.previousUntil ?? 0) > now ? [s.current, s.previous] : [s.current];
}
