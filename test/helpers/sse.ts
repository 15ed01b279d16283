// Collects server-sent events from a fetch Response for tests (parser: src/live-logs/sse-reader.ts).
import { sseEvents, type SseEvent } from '../../src/live-logs/sse-reader.js';

export type StampedEvent = SseEvent & { at?: number };

export async function readEvents(
  res: Response,
  opts: { until?: (e: SseEvent) => boolean; stamp?: boolean; timeoutMs?: number } = {},
): Promise<StampedEvent[]> {
  const out: StampedEvent[] = [];
  const ac = setTimeout(() => void res.body?.cancel().catch(() => undefined), opts.timeoutMs ?? 60_000);
  try {
    for await (const e of sseEvents(res.body!)) {
      out.push(opts.stamp ? { ...e, at: Date.now() } : e);
      if (opts.until?.(e)) break;
    }
  } catch {
    // cancelled by the timeout: return what arrived
  } finally {
    clearTimeout(ac);
  }
  return out;
}
