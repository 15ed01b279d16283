// The client side of live logs for the CLI: follows one activation's stream, reconnecting with Last-Event-ID after a
// dropped connection or the server's `timeout` event, until `end`.
import { ApiError, basicAuth, type ApiClient } from '../cli/api-client.js';
import { sseEvents } from './sse-reader.js';

export interface FollowEnd {
  state: string;
  statusCode?: number;
  status?: string;
}

export interface FollowHandlers {
  line(line: string): void;
  progress?(json: string): void;
}

export async function followActivation(client: ApiClient, id: string, h: FollowHandlers): Promise<FollowEnd> {
  let last = 0;
  let failures = 0;
  for (;;) {
    let res: Response;
    try {
      res = await fetch(client.url(`activations/${encodeURIComponent(id)}/logs`, { follow: true, ...(last ? { from: last } : {}) }), {
        headers: { Authorization: basicAuth(client.conn.auth), Accept: 'text/event-stream' },
      });
    } catch (err) {
      if (++failures > 5) throw new Error(`cannot reach the API host ${client.conn.apihost} (${(err as Error).message})`);
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    if (res.status >= 400) {
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      throw new ApiError(res.status, body);
    }
    try {
      for await (const e of sseEvents(res.body!)) {
        failures = 0;
        if (e.event === 'log') {
          last = Number(e.id ?? last);
          h.line(e.data);
        } else if (e.event === 'progress') h.progress?.(e.data);
        else if (e.event === 'end') return JSON.parse(e.data) as FollowEnd;
      }
    } catch {
      // the connection dropped: resume after the last line seen
    }
    if (++failures > 5) throw new Error('the log stream ended before the activation did');
    await new Promise((r) => setTimeout(r, 500));
  }
}
