// The record of a cancelled activation (run-control spec §4.4): statusCode 2 "action developer error", result
// {"error": "The activation was cancelled."}, annotations `cancelled`, `cancelledBy`, `cancelReason` (extensions of
// a record go into annotations only, §4.0). Shared by the API (queued work), the invoker (killed runs, takeovers) and
// both store adapters (a completion that lost the compare-and-set to a cancel).
import type { ActivationRecord, ActivationResponse, CancelRequest, KeyValue } from '../types.js';
import { STATUS_TEXT } from '../types.js';

export const CANCELLED_MESSAGE = 'The activation was cancelled.';
/** Default and maximum of the `cancel-grace-ms` annotation: SIGTERM, then this long before SIGKILL. */
export const DEFAULT_CANCEL_GRACE_MS = 2_000;
export const MAX_CANCEL_GRACE_MS = 30_000;
/** A cancel reason is kept to this many characters (it travels in a NOTIFY payload and in the record). */
export const MAX_REASON_CHARS = 1_000;

export function cancelledResponse(): ActivationResponse {
  const result = { error: CANCELLED_MESSAGE };
  return { status: STATUS_TEXT[2], statusCode: 2, success: false, result, size: Buffer.byteLength(JSON.stringify(result)) };
}

export function cancelAnnotations(cancel: CancelRequest): KeyValue[] {
  return [
    { key: 'cancelled', value: true },
    { key: 'cancelledBy', value: cancel.by },
    ...(cancel.reason !== undefined ? [{ key: 'cancelReason', value: cancel.reason }] : []),
  ];
}

/** Whether a record is the cancelled one (the only kind a `cancelling` queue row accepts). */
export function isCancelledRecord(rec: Pick<ActivationRecord, 'annotations'>): boolean {
  return rec.annotations.some((a) => a.key === 'cancelled' && a.value === true);
}

/**
 * The cancelled form of a record: same identity, timings and logs (up to the kill), the cancelled response and
 * annotations. Used for every cancelled record, so they all look alike whatever path wrote them.
 */
export function asCancelled(rec: ActivationRecord, cancel: CancelRequest): ActivationRecord {
  if (isCancelledRecord(rec)) return rec;
  const response = cancelledResponse();
  // A record that never ran (internal error, interrupted) keeps its identity but not its error annotations' meaning.
  const annotations = rec.annotations.filter((a) => a.key !== 'cancelled' && a.key !== 'cancelledBy' && a.key !== 'cancelReason');
  return { ...rec, statusCode: 2, response, annotations: [...annotations, ...cancelAnnotations(cancel)] };
}

/** Parses the cancel JSON stored on a queue row (both adapters). */
export function parseCancel(text: unknown): CancelRequest | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const c = JSON.parse(text) as CancelRequest;
    return typeof c.requestedAt === 'number' && typeof c.by === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

/** The action's grace between SIGTERM and SIGKILL (annotation `cancel-grace-ms`, clamped to 0 … 30 000). */
export function cancelGraceMs(annotations: KeyValue[] | undefined): number {
  const v = annotations?.find((a) => a.key === 'cancel-grace-ms')?.value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) return DEFAULT_CANCEL_GRACE_MS;
  return Math.min(MAX_CANCEL_GRACE_MS, Math.max(0, Math.floor(n)));
}
