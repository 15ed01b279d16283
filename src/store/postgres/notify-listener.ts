// The dedicated LISTEN connection (never from the pool: a pooled client would be handed back and lose its LISTENs).
// Reconnects with backoff when the connection drops; after a reconnect it reports `onReconnect` so callers can
// re-check anything they may have missed while it was down.
import pg from 'pg';

export interface NotifyListenerOptions {
  connectionString: string;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  channels: string[];
  onNotification: (msg: pg.Notification) => void;
  onReconnect: () => void;
  onError?: (err: Error) => void;
}

export class NotifyListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 50;
  private timer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(private readonly opts: NotifyListenerOptions) {}

  /** Connects and LISTENs; rejects if the first connection fails (a bad URL should fail fast at start). */
  async start(): Promise<void> {
    await this.connect();
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = (async () => {
      const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: this.opts.applicationName });
      // An error before connect() settles is reported through connect's rejection; afterwards it means a drop.
      client.on('error', (err) => this.dropped(client, err));
      client.on('end', () => this.dropped(client));
      client.on('notification', (msg) => this.opts.onNotification(msg));
      try {
        await client.connect();
        for (const ch of this.opts.channels) await client.query(`LISTEN "${ch}"`);
      } catch (err) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        throw err;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      this.retryMs = 50;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private dropped(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (err) this.opts.onError?.(err);
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 2000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().then(
        () => {
          if (!this.closed) this.opts.onReconnect();
        },
        (e: Error) => {
          this.opts.onError?.(e);
          this.scheduleReconnect();
        },
      );
    }, wait);
    this.timer.unref();
  }

  /** The backend pid of the LISTEN session (tests use it to simulate a dropped connection). */
  get backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID ?? undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
    }
  }
}
