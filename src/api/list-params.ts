// List query parameters shared by every collection (§2.1, D7): limit, skip, count, and the activation filters.
import { badRequest } from './errors.js';

export const LIST_MAX = 200;
export const LIST_DEFAULT = 30;
/** Larger skips are the same empty page; clamped so every store can bind the value. */
export const SKIP_MAX = 2_147_483_647;

export interface ListParams {
  limit: number;
  skip: number;
  count: boolean;
}

function intParam(raw: unknown, collection: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = String(raw);
  if (!/^-?\d+$/.test(s)) throw badRequest(`The value '${s}' is not an integer for ${collection}.`);
  return Number(s);
}

export function parseBool(raw: unknown, name: string): boolean {
  if (raw === undefined || raw === '') return false;
  const s = String(raw).toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw badRequest(`The query parameter '${name}' was malformed:\n'${String(raw)}' is not a valid Boolean value`);
}

export function parseListParams(q: Record<string, unknown>, collection: string): ListParams {
  const limit = intParam(q.limit, collection);
  if (limit !== undefined && (limit < 0 || limit > LIST_MAX)) {
    throw badRequest(`The value '${limit}' is not in the range of 0 to ${LIST_MAX} for ${collection}.`);
  }
  const skip = intParam(q.skip, collection);
  if (skip !== undefined && skip < 0) throw badRequest(`The value '${skip}' is not greater than or equal to 0 for ${collection}.`);
  return {
    limit: limit === undefined ? LIST_DEFAULT : limit === 0 ? LIST_MAX : limit,
    skip: Math.min(skip ?? 0, SKIP_MAX),
    count: parseBool(q.count, 'count'),
  };
}

/** since/upto are epoch milliseconds (OpenWhisk's message wrongly says seconds; kept byte-exact). */
export function parseEpoch(raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = String(raw);
  if (!/^\d+$/.test(s)) throw badRequest(`Parameter is not a valid value for epoch seconds: ${s}`);
  // Beyond any real time; clamped so every store can bind the value.
  return Math.min(Number(s), Number.MAX_SAFE_INTEGER);
}
