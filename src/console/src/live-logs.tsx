// The live logs of a running activation (GET …/logs?follow=true as server-sent events, read with fetch so the
// Authorization header goes along): its lines as they are written and its latest progress value. A stream the server
// ends with `timeout` (its lifetime is the action's timeout plus a margin) is resumed after the last line seen.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { basicToken, storedKey } from './api';
import { sseEvents } from '../../live-logs/sse-reader';

export interface LiveEnd {
  state: string;
  statusCode?: number;
}

export function LiveLogs(props: { id: string; onEnd?: (end: LiveEnd) => void }) {
  const [lines, setLines] = useState<string[]>([]);
  const [progress, setProgress] = useState<string | undefined>();
  const pane = useRef<HTMLPreElement>(null);
  // Keeps the newest line in view while the reader is at the bottom (scrolling up stops the follow).
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = pane.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  useEffect(() => {
    const ac = new AbortController();
    const key = storedKey();
    let last = 0;
    void (async () => {
      for (let attempt = 0; attempt < 20 && !ac.signal.aborted; attempt++) {
        try {
          const res = await fetch(`/api/v1/namespaces/_/activations/${props.id}/logs?follow=true${last ? `&from=${last}` : ''}`, {
            headers: { accept: 'text/event-stream', ...(key ? { authorization: `Basic ${basicToken(key)}` } : {}) },
            credentials: 'omit',
            cache: 'no-store',
            signal: ac.signal,
          });
          if (!res.ok || !res.body) return;
          for await (const e of sseEvents(res.body)) {
            if (e.event === 'log') {
              last = Number(e.id ?? last);
              setLines((l) => [...l, e.data]);
            } else if (e.event === 'progress') setProgress(e.data);
            else if (e.event === 'end') {
              props.onEnd?.(JSON.parse(e.data) as LiveEnd);
              return;
            }
          }
        } catch {
          if (ac.signal.aborted) return;
          // the stream dropped: resume after the last line seen
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return () => ac.abort();
  }, [props.id]);
  return (
    <div class="live-logs">
      {progress !== undefined && (
        <p class="small">
          Progress: <code class="live-progress">{progress}</code>
        </p>
      )}
      <pre
        ref={pane}
        class="logs-pane live-logs-pane"
        aria-label="Live logs"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLPreElement;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >{lines.length ? lines.join('\n') : 'Waiting for log lines…'}</pre>
    </div>
  );
}
