// One activation, several attempts (run-control spec §4.7): what a failed attempt leaves in the queue row for the next
// one (history and logs), and how the one final record carries them (annotations `attempts`, `attemptHistory`, logs
// of every attempt in order, each after a `--- attempt k ---` marker line, within the action's log limit).
import type { ActivationRecord, AttemptEntry, Invocation, KeyValue } from '../types.js';
import { formatLogLine, nowNanos } from '../runtime/log-collector.js';
import type { RetryCategory } from './retry-policy.js';

export function attemptMarker(attempt: number): string {
  return formatLogLine(nowNanos(), 'stderr', `--- attempt ${attempt} ---`);
}

/** The history entry of an attempt that ended as `record` describes. */
export function attemptEntry(attempt: number, record: ActivationRecord, reason: RetryCategory | 'succeeded' | 'interrupted' | 'failed'): AttemptEntry {
  const end = record.end ?? record.start;
  const entry: AttemptEntry = { attempt, start: record.start, end, duration: Math.max(0, end - record.start), statusCode: record.statusCode, reason };
  const err = (record.response.result as { error?: unknown } | undefined)?.error;
  if (record.statusCode !== 0 && err !== undefined) {
    const text = typeof err === 'string' ? err : JSON.stringify(err);
    entry.error = text.length > 200 ? `${text.slice(0, 199)}…` : text;
  }
  return entry;
}

/** Keeps whole lines up to `limitBytes` (the action's log limit); a cut is said in a last line. */
export function capLogs(lines: string[], limitBytes: number): string[] {
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    bytes += Buffer.byteLength(lines[i]!);
    if (bytes > limitBytes) {
      return [...lines.slice(0, i), formatLogLine(nowNanos(), 'stderr', `Logs were truncated because the total bytes size exceeds the limit of ${limitBytes} bytes.`)];
    }
  }
  return lines;
}

/** The queue row's payload for the next attempt: this attempt's entry and lines (marker + logs) appended. */
export function nextAttemptPayload(inv: Invocation, maxAttempts: number, entry: AttemptEntry, lines: string[], limitBytes: number): Invocation {
  const { state: _s, attempts: _a, ...plain } = inv as Invocation & { state?: unknown; attempts?: unknown };
  return {
    ...plain,
    maxAttempts,
    attemptHistory: [...(inv.attemptHistory ?? []), entry],
    priorLogs: capLogs([...(inv.priorLogs ?? []), ...lines], limitBytes),
  };
}

/**
 * The final record of an activation with a retry policy: the last attempt's record with every attempt's logs and the
 * attempt annotations (placed before the invocation's own annotations, like the other platform annotations).
 */
export function finalRecord(
  inv: Invocation,
  record: ActivationRecord,
  last: AttemptEntry,
  /** The last attempt's lines as the record shows them: its marker, then its logs. */
  lines: string[],
  limitBytes: number,
  extra: KeyValue[] = [],
): ActivationRecord {
  const history = [...(inv.attemptHistory ?? []), last];
  const own = record.annotations.length - (inv.annotations?.length ?? 0);
  const annotations = [...record.annotations];
  annotations.splice(own, 0, { key: 'attempts', value: history.length }, { key: 'attemptHistory', value: history }, ...extra);
  return {
    ...record,
    logs: capLogs([...(inv.priorLogs ?? []), ...lines], limitBytes),
    annotations,
  };
}

/**
 * A record that ends an activation between attempts (cancelled while `retrying`): the earlier attempts' history and
 * logs are kept on it; the record's own logs (none) follow them.
 */
export function withEarlierAttempts(inv: Invocation, record: ActivationRecord, limitBytes: number): ActivationRecord {
  if (!inv.attemptHistory?.length) return record;
  const own = record.annotations.length - (inv.annotations?.length ?? 0);
  const annotations = [...record.annotations];
  annotations.splice(own, 0, { key: 'attempts', value: inv.attemptHistory.length }, { key: 'attemptHistory', value: inv.attemptHistory });
  return { ...record, logs: capLogs([...(inv.priorLogs ?? []), ...record.logs], limitBytes), annotations };
}
