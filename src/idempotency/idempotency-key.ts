// The Idempotency-Key request header (IETF httpapi idempotency-key draft, run-control §4.9): parsing, and the
// fingerprint of what a key protects.
import { createHash } from 'node:crypto';
import { ApiError } from '../api/errors.js';

export const IdempotencyMessages = {
  malformed: 'The Idempotency-Key header must be one sf-string or bare value of 1 to 255 visible ASCII characters.',
  mismatch: 'The Idempotency-Key was already used with a different request.',
  busy: 'A request with this Idempotency-Key is still being processed.',
};

/**
 * The IETF draft (§2.7) points a mismatch answer at documentation with `Link: <…>; rel="describedby"`: this server's
 * API description, which documents the header, its fingerprint and its 24 h window.
 */
export const IDEMPOTENCY_DOCS_LINK = { link: '</api-docs>; rel="describedby"' };

/** The header value for `key`: bare when it can be, else an sf-string. */
export function formatIdempotencyKey(key: string): string {
  return /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(key) ? key : `"${key.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * The key from the request headers, or undefined when there is none. An sf-string ("…", with \" and \\ escapes)
 * or a bare value; one header only; 1–255 visible ASCII characters once unquoted.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  // Node joins repeated headers with ", ": a list fails the patterns below (a bare value has no space).
  if (Array.isArray(header)) throw new ApiError(400, IdempotencyMessages.malformed);
  const raw = header.trim();
  let key: string;
  if (raw.startsWith('"')) {
    const m = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(raw);
    if (!m) throw new ApiError(400, IdempotencyMessages.malformed);
    key = m[1]!.replace(/\\(["\\])/g, '$1');
  } else {
    // A bare value: the draft asks for an sf-string, but clients commonly send bare UUIDs (not valid sf-tokens when
    // they start with a digit), so any visible ASCII without quote or backslash is taken as is.
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(raw)) throw new ApiError(400, IdempotencyMessages.malformed);
    key = raw;
  }
  if (key.length < 1 || key.length > 255 || !/^[\x20-\x7e]+$/.test(key)) throw new ApiError(400, IdempotencyMessages.malformed);
  return key;
}

/**
 * SHA-256 over the method, the function's fully qualified path and the canonical JSON body (keys sorted at every
 * depth). Query parameters (blocking, result, timeout) shape the answer, not the run, so they are not part of it.
 */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method}\n${path}\n${canonicalJson(body ?? {})}`).digest('hex');
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
