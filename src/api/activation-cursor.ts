// The activation list cursor (§4.11): an opaque, URL-safe token for the keyset (start, activationId) of the last
// record of a page. The next page is everything after it in list order, so records arriving meanwhile (newer,
// hence before it) never shift the page: nothing is shown twice or skipped.
import type { ActivationCursor } from '../types.js';
import { badRequest } from './errors.js';

const DECODED = /^(\d{1,16})\.([0-9A-Za-z]{1,64})$/;

export function encodeCursor(c: ActivationCursor): string {
  return Buffer.from(`${c.start}.${c.activationId}`, 'utf8').toString('base64url');
}

export function decodeCursor(raw: string): ActivationCursor {
  const m = /^[A-Za-z0-9_-]{1,120}$/.test(raw) ? DECODED.exec(Buffer.from(raw, 'base64url').toString('utf8')) : null;
  if (!m) throw badRequest(`The cursor '${raw}' is not valid.`);
  return { start: Number(m[1]), activationId: m[2]! };
}

/** `statusCode=0,1,2,3`: one or several status codes. */
export function parseStatusCodes(raw: string | undefined): number[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const codes = raw.split(',').map((s) => s.trim());
  if (!codes.every((c) => /^[0-3]$/.test(c))) {
    throw badRequest(`The value '${raw}' is not a list of status codes (0 success, 1 application error, 2 developer error, 3 internal error).`);
  }
  return [...new Set(codes.map(Number))];
}

/** The URL of the next page: the request's own path and query with `cursor` set (and no `skip`). */
export function nextPageUrl(requestUrl: string, cursor: string): string {
  const url = new URL(requestUrl, 'http://flare.invalid');
  url.searchParams.delete('skip');
  url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}
