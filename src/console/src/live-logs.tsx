// The live logs of a running activation (GET …/logs?follow=true as server-sent events, read with fetch so the
// Authorization header goes along): its lines as they are written and its latest progress value.
import { useEffect, useState } from 'preact/hooks';
import { basicToken, storedKey } from './api';
import { sseEvents } from '../../live-logs/sse-reader';

export function LiveLogs(props: { id: string }) {
  const [lines, setLines] = useState<string[]>([]);
  const [progress, setProgress] = useState<string | undefined>();
  useEffect(() => {
    const ac = new AbortController();
    const key = storedKey();
    void (async () => {
      try {
        const res = await fetch(`/api/v1/namespaces/_/activations/${props.id}/logs?follow=true`, {
          headers: { accept: 'text/event-stream', ...(key ? { authorization: `Basic ${basicToken(key)}` } : {}) },
          credentials: 'omit',
          cache: 'no-store',
          signal: ac.signal,
        });
        if (!res.ok || !res.body) return;
        for await (const e of sseEvents(res.body)) {
          if (e.event === 'log') setLines((l) => [...l, e.data]);
          else if (e.event === 'progress') setProgress(e.data);
          else if (e.event === 'end') break;
        }
      } catch {
        // aborted, or the stream dropped: the record shows every line once it lands
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
      <pre class="logs-pane live-logs-pane" aria-label="Live logs">{lines.length ? lines.join('\n') : 'Waiting for log lines…'}</pre>
    </div>
  );
}
