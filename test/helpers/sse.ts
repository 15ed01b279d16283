// A small server-sent events reader for tests: parses a fetch Response body into events.
export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
  retry?: number;
  /** Epoch ms the event was parsed (with `stamp`). */
  at?: number;
}

export async function readEvents(
  res: Response,
  opts: { until?: (e: SseEvent) => boolean; stamp?: boolean; timeoutMs?: number } = {},
): Promise<SseEvent[]> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const out: SseEvent[] = [];
  let buf = '';
  const timer = setTimeout(() => void reader.cancel(), opts.timeoutMs ?? 60_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      buf += dec.decode(value, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const e: SseEvent = { data: '' };
        let any = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const c = line.indexOf(':');
          const k = c < 0 ? line : line.slice(0, c);
          const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
          any = true;
          if (k === 'event') e.event = v;
          else if (k === 'id') e.id = v;
          else if (k === 'data') e.data = e.data ? `${e.data}\n${v}` : v;
          else if (k === 'retry') e.retry = Number(v);
        }
        if (!any) continue;
        if (opts.stamp) e.at = Date.now();
        out.push(e);
        if (opts.until?.(e)) {
          await reader.cancel();
          return out;
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
