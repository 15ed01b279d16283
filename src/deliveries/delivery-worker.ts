// The delivery worker (one per invoker/all node): claims due outbox rows under a lease (SKIP LOCKED on PostgreSQL,
// so nodes share the work without sending one twice at once), POSTs each signed callback, and records the attempt
// with its outcome — delivered (2xx), stopped (410), or the next attempt per the schedule — in one store call.
// At least once: a node that dies mid-attempt leaves its lease to expire, and another worker sends again with the
// same webhook-id (receivers dedupe on it).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { DeliveryJob, DeliveryOutcome, Store } from '../store/store.js';
import type { AddressPolicy } from './address-policy.js';
import { callbackBody, signedHeaders, webhookId } from './payload.js';
import type { RetrySchedule } from './schedule.js';
import { sendCallback, type SendResult } from './sender.js';
import { signingSecrets, webhookSecrets } from './webhook-secrets.js';

export interface DeliveryWorkerOptions {
  store: Store;
  logger: Logger;
  policy: AddressPolicy;
  schedule: RetrySchedule;
  /** Per attempt (15 s by the spec). */
  timeoutMs: number;
  /** Concurrent POSTs on this node. */
  concurrency?: number;
  /** Fallback poll: work made due on another node (an API node's cancel or redelivery) is seen within this. */
  pollMs?: number;
  /** Sent as User-Agent. */
  version: string;
}

export class DeliveryWorker {
  readonly owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}-cb`;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private running = 0;
  private pumping = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly active = new Set<Promise<void>>();

  constructor(private readonly o: DeliveryWorkerOptions) {
    this.concurrency = o.concurrency ?? 16;
    // Longer than any attempt can take, so a live worker never loses its claim mid-POST.
    this.leaseMs = o.timeoutMs + 10_000;
  }

  start(): void {
    this.unsubscribe = this.o.store.onDeliveriesDue(() => this.kick());
    this.kick();
  }

  /** Stops claiming; POSTs in progress get up to graceMs, then their leases expire and another worker resends. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    await Promise.race([Promise.all([...this.active]), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  /** Deliveries being sent by this node now. */
  get sending(): number {
    return this.running;
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    let wait = this.o.pollMs ?? 1_000;
    try {
      do {
        this.again = false;
        const free = this.concurrency - this.running;
        if (free <= 0) return; // a finishing send kicks again
        const jobs = await this.o.store.claimDeliveries(this.owner, free, this.leaseMs);
        for (const job of jobs) this.track(this.deliver(job));
        if (jobs.length === free) this.again = true;
      } while (this.again && !this.stopped);
      const due = await this.o.store.nextDeliveryDueIn();
      if (due !== undefined) wait = Math.min(wait, Math.max(due, 5));
    } catch (err) {
      this.o.logger.error({ err }, 'claiming callback deliveries failed');
    } finally {
      this.pumping = false;
      if (!this.stopped) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.kick(), wait);
        this.timer.unref();
      }
    }
  }

  private track(p: Promise<void>): void {
    this.active.add(p);
    void p.finally(() => {
      this.active.delete(p);
      this.kick();
    });
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    this.running++;
    const at = Date.now();
    try {
      const result = await this.attempt(job);
      const outcome = this.outcomeOf(job, result);
      const stored = await this.o.store.finishDeliveryAttempt(
        this.owner,
        job.activationId,
        { at, ...(result.status !== undefined ? { status: result.status } : {}), ...(result.error ? { error: result.error } : {}), latencyMs: result.latencyMs },
        outcome,
      );
      if (result.error) {
        this.o.logger.info({ activationId: job.activationId, attempt: stored?.attempt, error: result.error, next: outcome.state }, 'callback attempt failed');
      }
    } catch (err) {
      // The lease runs out and the delivery is claimed again: nothing is lost.
      this.o.logger.error({ err, activationId: job.activationId }, 'callback delivery could not be recorded');
    } finally {
      this.running--;
    }
  }

  private async attempt(job: DeliveryJob): Promise<SendResult> {
    const { store } = this.o;
    const record = await store.getActivation(job.namespace, job.activationId);
    if (!record) return { error: 'the activation record no longer exists (retention)', notSent: true, latencyMs: 0 };
    const body = callbackBody(record, job.event);
    const secrets = signingSecrets(await webhookSecrets(store, job.namespace));
    const headers = {
      ...signedHeaders(webhookId(job.activationId, job.event), body, secrets),
      'user-agent': `Flare-Webhooks/${this.o.version}`,
      'flare-activation-id': job.activationId,
      'flare-delivery-attempt': String(job.attempts + 1),
    };
    return sendCallback(job.url, headers, body, { policy: this.o.policy, timeoutMs: this.o.timeoutMs });
  }

  private outcomeOf(job: DeliveryJob, r: SendResult): DeliveryOutcome {
    if (!r.error) return { state: 'delivered' };
    if (r.status === 410) return { state: 'stopped' };
    // Never sent (refused address, unknown host, record gone): retrying would change nothing until someone does —
    // then `POST …/deliveries` sends it again.
    if (r.notSent) return { state: 'failed' };
    const delayMs = this.o.schedule.delayAfter(job.step, r.retryAfterMs);
    return delayMs === undefined ? { state: 'failed' } : { state: 'pending', delayMs };
  }
}
