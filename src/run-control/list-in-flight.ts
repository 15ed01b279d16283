// `GET …/activations?state=…` (run-control spec §4.11): in-flight entries (from the queue) appear only when an
// in-flight state is asked for, newest first, above the finished records of the asked terminal states. Terminal
// states are read through the store's statusCode index: succeeded = 0, failed = 1/2/3, cancelled = 2 with the
// `cancelled` annotation; only when exactly one of failed/cancelled is asked must code-2 records be told apart.
import type { Store } from '../store/store.js';
import { toSummary } from '../store/summary.js';
import type { ActivationCursor, ActivationListFilter, ActivationRecord, QueueState } from '../types.js';
import { inFlightListItem, isInFlightState, recordState, type ActivationState } from './activation-state.js';

/** Records read per store call while telling failed from cancelled among developer errors. */
const SCAN_PAGE = 200;
/** Bound on code-2 records examined for one such page (cancelled records are rare among developer errors). */
const SCAN_MAX = 5_000;

const CODES: Record<'succeeded' | 'failed' | 'cancelled', number[]> = { succeeded: [0], failed: [1, 2, 3], cancelled: [2] };

export interface StateListing {
  body: unknown;
  /** Keyset of the last finished record of a full page: the next page's cursor. */
  next?: ActivationCursor;
}

export async function listByState(
  store: Store,
  filter: ActivationListFilter,
  states: ActivationState[],
  docs: boolean,
  count: boolean,
  /** A further condition on finished records (the dead-letter view's `retriesExhausted`). */
  also?: (rec: ActivationRecord) => boolean,
): Promise<StateListing> {
  const inFlightStates = states.filter(isInFlightState) as QueueState[];
  const finished = states.filter((s) => !isInFlightState(s)) as Array<keyof typeof CODES>;
  // A cursor pages the finished records only: in-flight entries belong to the first page. They have no statusCode
  // yet, so a statusCode filter leaves them out.
  const inFlight = inFlightStates.length && !filter.after && !filter.statusCodes
    ? await store.listInFlight({ ...filter, states: inFlightStates, skip: 0, limit: count ? Number.MAX_SAFE_INTEGER : filter.skip + filter.limit })
    : [];
  if (!finished.length) {
    if (count) return { body: { activations: inFlight.length } };
    return { body: inFlight.slice(filter.skip, filter.skip + filter.limit).map(inFlightListItem) };
  }

  let codes = [...new Set(finished.flatMap((s) => CODES[s]))];
  if (filter.statusCodes) codes = codes.filter((c) => filter.statusCodes!.includes(c));
  // Code 2 is ambiguous only when failed or cancelled is asked without the other.
  const byState = codes.includes(2) && finished.includes('failed') !== finished.includes('cancelled')
    ? (rec: ActivationRecord) => rec.statusCode !== 2 || finished.includes(recordState(rec) as keyof typeof CODES)
    : undefined;
  const keep = byState && also ? (rec: ActivationRecord) => byState(rec) && also(rec) : (byState ?? also);
  const byCode = { ...filter, statusCodes: codes };
  if (count) {
    const n = !codes.length ? 0 : keep ? (await scan(store, { ...byCode, skip: 0, limit: Number.MAX_SAFE_INTEGER }, keep)).length : await store.countActivations(byCode);
    return { body: { activations: inFlight.length + n } };
  }

  // The page [skip, skip + limit) of: in-flight entries, then finished records.
  const head = inFlight.slice(filter.skip, filter.skip + filter.limit).map(inFlightListItem);
  const room = filter.limit - head.length;
  if (room <= 0 || !codes.length) return { body: head };
  const finishedFilter = { ...byCode, skip: Math.max(0, filter.skip - inFlight.length), limit: room };
  const recs = keep
    ? (await scan(store, finishedFilter, keep)).map((r) => (docs ? r : toSummary(r)))
    : await store.listActivations(finishedFilter, docs);
  const last = recs[recs.length - 1];
  return {
    body: [...head, ...recs],
    ...(last && recs.length === room ? { next: { start: last.start, activationId: last.activationId } } : {}),
  };
}

/** Reads records in keyset pages and keeps the matching ones until `skip + limit` are found (bounded). */
async function scan(store: Store, f: ActivationListFilter, keep: (r: ActivationRecord) => boolean): Promise<ActivationRecord[]> {
  const want = f.skip + f.limit;
  const out: ActivationRecord[] = [];
  let after = f.after;
  for (let examined = 0; out.length < want && examined < SCAN_MAX; examined += SCAN_PAGE) {
    const page = (await store.listActivations({ ...f, ...(after ? { after } : {}), skip: 0, limit: SCAN_PAGE }, true)) as ActivationRecord[];
    for (const rec of page) if (keep(rec) && out.length < want) out.push(rec);
    const last = page[page.length - 1];
    if (!last || page.length < SCAN_PAGE) break;
    after = { start: last.start, activationId: last.activationId };
  }
  return out.slice(f.skip, f.skip + f.limit);
}
