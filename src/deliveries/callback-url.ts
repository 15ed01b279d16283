// Which URL a completion callback goes to (issue 11, run-control §4.6): the invoke's `Flare-Callback-Url` header (or
// OpenFaaS's `X-Callback-Url`), else the function's `callback-url` annotation. Checked before anything is accepted;
// addresses are vetted only when sending (they resolve then), see address-policy.ts.
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../api/errors.js';
import type { KeyValue } from '../types.js';

export const CALLBACK_URL_MAX = 2048;
export const CALLBACK_ANNOTATION = 'callback-url';

/** The 400 for a URL that may not be used (the reason ends the sentence). */
export function callbackUrlError(reason: string): ApiError {
  return new ApiError(400, `The callback URL is not allowed: ${reason}.`);
}

/** Returns the reason a callback URL is refused, or undefined when it may be used. */
export function callbackUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'it must be a non-empty string';
  if (value.length > CALLBACK_URL_MAX) return `it is longer than ${CALLBACK_URL_MAX} characters`;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'it is not an absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the scheme must be http or https, not ${u.protocol.slice(0, -1)}`;
  if (u.username !== '' || u.password !== '') return 'it must not carry a user name or password';
  if (u.hostname === '') return 'it has no host';
  return undefined;
}

/** Throws the 400 unless the URL may be used; returns it as given. */
export function checkCallbackUrl(value: unknown): string {
  const problem = callbackUrlProblem(value);
  if (problem) throw callbackUrlError(problem);
  return value as string;
}

/** The per-invoke URL from the headers: one value, both names agreeing when both are sent. */
export function callbackUrlFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  const values: string[] = [];
  for (const name of ['flare-callback-url', 'x-callback-url']) {
    const h = headers[name];
    if (h === undefined) continue;
    if (Array.isArray(h)) {
      if (h.length !== 1) throw callbackUrlError('send one callback URL header');
      values.push(h[0]!);
    } else values.push(h);
  }
  if (values.length === 0) return undefined;
  if (values.length === 2 && values[0] !== values[1]) throw callbackUrlError('Flare-Callback-Url and X-Callback-Url differ');
  return checkCallbackUrl(values[0]!.trim());
}

/** The function's `callback-url` annotation; an invalid one is refused when the function is saved. */
export function callbackUrlFromAnnotations(annotations: KeyValue[]): string | undefined {
  const v = annotations.find((a) => a.key === CALLBACK_ANNOTATION)?.value;
  return v === undefined || v === null || v === '' ? undefined : (v as string);
}

/** For PUT …/actions: the annotation, when present, must be a usable URL (or empty / null to turn it off). */
export function checkCallbackAnnotation(annotations: KeyValue[]): void {
  const v = annotations.find((a) => a.key === CALLBACK_ANNOTATION)?.value;
  if (v === undefined || v === null || v === '') return;
  checkCallbackUrl(v);
}

/** The URL as shown back (deliveries list, console): the query string may hold a token, so it is redacted. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.search) u.search = '?redacted';
    return u.toString();
  } catch {
    return url;
  }
}
