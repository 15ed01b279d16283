// Reads a server-sent events body (fetch Response) event by event: used by the CLI's --follow and the tests.
export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
  retry?: number;
}

/** Yields each event of the stream until it ends; comment lines (`: ping`) are skipped. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const e = parseBlock(block);
        if (e) yield e;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function parseBlock(block: string): SseEvent | undefined {
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
  return any ? e : undefined;
}
