// `GET …/activations?state=…` (run-control spec §4.11): in-flight entries (from the queue) appear only when an
// in-flight state is asked for, newest first, above the finished records of the asked terminal states.
import type { Store } from '../store/store.js';
import { toSummary } from '../store/summary.js';
import type { ActivationListFilter, ActivationRecord, QueueState } from '../types.js';
import { inFlightListItem, isInFlightState, recordMatches, type ActivationState } from './activation-state.js';

/** Finished records are read in pages of this size while filling a page filtered by terminal state. */
const SCAN_PAGE = 200;
/** Bound on records examined for one page of a terminal-state filter (the store has no state index yet). */
const SCAN_MAX = 5_000;

export async function listByState(
  store: Store,
  filter: ActivationListFilter,
  states: ActivationState[],
  docs: boolean,
  count: boolean,
): Promise<unknown> {
  const inFlightStates = states.filter(isInFlightState) as QueueState[];
  const finishedStates = states.filter((s) => !isInFlightState(s));
  const inFlight = inFlightStates.length
    ? await store.listInFlight({ ...filter, states: inFlightStates, skip: 0, limit: count ? Number.MAX_SAFE_INTEGER : filter.skip + filter.limit })
    : [];
  if (count && !finishedStates.length) return { activations: inFlight.length };
  const out: unknown[] = inFlight.map(inFlightListItem);
  if (finishedStates.length) {
    // Terminal states are decided by statusCode and the `cancelled` annotation: read records and keep the matching
    // ones until the page is full (bounded scan).
    const want = count ? Number.MAX_SAFE_INTEGER : filter.skip + filter.limit;
    for (let skip = 0; out.length < want && skip < SCAN_MAX; skip += SCAN_PAGE) {
      const page = (await store.listActivations({ ...filter, skip, limit: SCAN_PAGE }, true)) as ActivationRecord[];
      for (const rec of page) if (recordMatches(rec, finishedStates) && out.length < want) out.push(docs ? rec : toSummary(rec));
      if (page.length < SCAN_PAGE) break;
    }
  }
  if (count) return { activations: out.length };
  return out.slice(filter.skip, filter.skip + filter.limit);
}
