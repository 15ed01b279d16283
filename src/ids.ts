// Identifiers: activation ids (UUID v4 as 32 lowercase hex, as OpenWhisk) and transaction ids (32 alphanumerics).
import { randomBytes, randomUUID } from 'node:crypto';

export function newActivationId(): string {
  return randomUUID().replace(/-/g, '');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// Transaction ids are drawn from a pooled random buffer: one CSPRNG call per 128 ids instead of one per request.
const POOL_IDS = 128;
let pool = Buffer.alloc(0);
let offset = 0;

export function newTransactionId(): string {
  if (offset >= pool.length) {
    pool = randomBytes(32 * POOL_IDS);
    offset = 0;
  }
  let s = '';
  // 62 symbols: a modulo bias of <2% per character is harmless for a correlation id.
  for (let i = 0; i < 32; i++) s += ALNUM[pool[offset + i]! % 62];
  offset += 32;
  return s;
}

/** A new namespace key: "uuid:64 alphanumerics", as wskadmin makes them. */
export function newAuthKey(): string {
  const bytes = randomBytes(64);
  let key = '';
  for (let i = 0; i < 64; i++) key += ALNUM[bytes[i]! % 62];
  return `${randomUUID()}:${key}`;
}
