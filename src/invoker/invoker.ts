// The invoker role: claims queued invocations as executor capacity allows, runs them, writes their records, keeps
// its leases alive, and resolves the work of dead nodes (expired leases) as interrupted.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { Runtime } from '../runtime/runtime.js';
import { LivePublisher } from '../live-logs/live-publisher.js';
import type { ActionDoc, ClaimedInvocation, Invocation } from '../types.js';
import { RecordWriter } from './record-writer.js';
import { buildRecord, cancelledRecord, expiredRecord, internalErrorRecord, interruptedRecord } from './build-record.js';
import { RunCancels } from '../cancel/run-cancels.js';
import { cancelGraceMs } from '../cancel/cancelled-record.js';
import { cancelActivation } from '../cancel/cancel-activation.js';
import { statusOnlyRecord } from '../tenants/unstored-record.js';
import { attemptCategory, decideRetry, retryPolicy, type RetryCategory, type RetryPolicy } from '../retries/retry-policy.js';
import { attemptEntry, attemptMarker, finalRecord, nextAttemptPayload } from '../retries/attempts.js';
import type { ActivationRecord } from '../types.js';
import { CompletionWaiters } from '../run-control/completion-waiters.js';
import { runSequence } from './sequence-runner.js';
import { isSequence, type SequenceExec } from './sequence-components.js';
import type { FlareMetrics, StartKind } from '../ops/metrics.js';

export interface InvokerOptions {
  store: Store;
  runtime: Runtime;
  logger: Logger;
  /** __OW_API_HOST for functions. */
  apiHost: () => string;
  leaseMs: number;
  /** Memory used to estimate free slots before the action is known (the default action memory). */
  defaultMemoryMb: number;
  /** Upper bound on concurrently running activations on this node. */
  maxConcurrent: number;
  /** Fallback poll for work when a notification is missed (ms). */
  pollMs?: number;
  /** This node's metrics (completions, start kinds, queue wait, record-write latency). */
  metrics?: FlareMetrics;
}

const MAX_CLAIM = 64;
const CLAIM_BATCH = 4;

export class Invoker {
  readonly owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly writer: RecordWriter;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Timers that wake this invoker when a retry it scheduled is due. */
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private renewTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running = 0;
  /** Sequences waiting for their components: they hold a lease but no executor memory or concurrency slot. */
  private sequences = 0;
  private readonly waiters: CompletionWaiters;
  /** Cancel signals of the activations running here (src/cancel/). */
  private readonly cancels: RunCancels;
  private readonly stopping = new AbortController();
  private pumping = false;
  private again = false;
  private scheduled = false;
  /** False after a claim came back short: nothing to claim until the next enqueue notification or poll. */
  private maybeQueued = true;
  private stopped = false;
  /** Set when stop's grace period ends: runs cut short by shutdown get no record here (lease expiry resolves them). */
  private abandoned = false;
  private readonly active = new Set<Promise<void>>();
  private readonly actionCache = new Map<string, ActionDoc>();
  /** Slots promised to the local API (fast path) whose invocations are being committed. */
  private reserved = 0;

  constructor(private readonly o: InvokerOptions) {
    // One line per record (activationId and namespace on each, like every line about an activation), at most 20 a batch.
    const writeFailed = (err: unknown, records: ActivationRecord[]) => {
      for (const r of records.slice(0, 20)) o.logger.error({ err, activationId: r.activationId, namespace: r.namespace, batch: records.length }, 'writing the activation record failed; retrying');
    };
    this.writer = new RecordWriter(o.store, writeFailed, 500, o.metrics ? () => o.metrics!.storeTimer('complete') : undefined);
    this.waiters = new CompletionWaiters(o.store);
    this.cancels = new RunCancels(o.store);
  }

  start(): void {
    const { store, runtime, leaseMs } = this.o;
    this.unsubscribe = store.onEnqueued(() => this.wake());
    runtime.onCapacity(() => this.schedule());
    this.timers.push(
      setInterval(() => {
        this.wake();
        void this.promoteDue();
      }, this.o.pollMs ?? 500),
    );
    this.renewTimer = setInterval(() => {
      if (this.running > 0 || this.sequences > 0) store.renewLeases(this.owner, leaseMs).catch((err) => this.o.logger.error({ err }, 'lease renewal failed'));
    }, Math.max(100, Math.floor(leaseMs / 3)));
    this.timers.push(setInterval(() => void this.resolveExpired(), Math.min(1_000, leaseMs)));
    void this.resolveExpired();
    this.schedule();
  }

  /** Activations running on this node now (metrics). */
  get runningCount(): number {
    return this.running + this.sequences;
  }

  /**
   * Stops claiming; waits up to graceMs for running activations. Their leases are renewed all the while (else a
   * run longer than the lease would be taken over as interrupted by another node while it is still finishing here).
   * Unfinished ones are resolved by lease expiry after the grace.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    for (const t of this.retryTimers) clearTimeout(t);
    const deadline = Date.now() + graceMs;
    // A fast-path invocation reserved just before stop may still join `active`: wait until the set stays empty.
    while (this.active.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([...this.active]), new Promise((r) => (timer = setTimeout(r, deadline - Date.now())))]);
      clearTimeout(timer);
    }
    this.abandoned = true;
    this.stopping.abort();
    this.waiters.close();
    this.cancels.close();
    await this.writer.drain();
    if (this.renewTimer) clearInterval(this.renewTimer);
  }

  /** New work may be queued. */
  private wake(): void {
    this.maybeQueued = true;
    this.schedule();
  }

  /** Coalesces wake-ups of one event-loop turn (many completions) into one claim. */
  private schedule(): void {
    if (this.stopped || !this.maybeQueued) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      void this.pump();
    };
    // With a backlog and most slots busy, slots free up one at a time: waiting a millisecond lets a few gather so
    // one claim transaction serves them together. An idle invoker claims at once.
    if (this.running > 0 && this.freeSlots() < CLAIM_BATCH) setTimeout(run, 1);
    else setImmediate(run);
  }

  private freeSlots(): number {
    const byRuntime = this.o.runtime.freeSlots(this.o.defaultMemoryMb);
    return Math.min(byRuntime, this.o.maxConcurrent - this.running, MAX_CLAIM) - this.reserved;
  }

  /**
   * Fast path for an API in the same process: when nothing is waiting in the queue and a slot is free, the new
   * invocation is committed already claimed by this invoker and handed over directly (no claim round trip).
   * Returns the claim to commit with, or undefined to queue normally (FIFO order is kept: never with a backlog).
   */
  reserve(): { owner: string; leaseMs: number } | undefined {
    if (this.stopped || this.maybeQueued || this.pumping || this.freeSlots() <= 0) return undefined;
    this.reserved++;
    return { owner: this.owner, leaseMs: this.o.leaseMs };
  }

  /** The reserved invocation is committed: run it. */
  runReserved(inv: Invocation): void {
    this.reserved--;
    this.track(this.execute({ ...inv, state: 'running', attempts: 1 }));
  }

  /** The reserved invocation was not committed. */
  release(): void {
    this.reserved--;
    this.schedule();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        const free = this.freeSlots();
        if (free <= 0) break;
        this.maybeQueued = false;
        const timed = this.o.metrics?.storeTimer('claim');
        const items = await this.o.store.claim(this.owner, free, this.o.leaseMs);
        timed?.();
        for (const inv of items) this.track(this.execute(inv));
        if (items.length === free) this.maybeQueued = this.again = true;
      } while (this.again && this.maybeQueued && !this.stopped);
    } catch (err) {
      this.maybeQueued = true;
      this.o.logger.error({ err }, 'claiming work failed');
    } finally {
      this.pumping = false;
    }
  }

  /**
   * The action revision the invocation was accepted for. Revisions are immutable, so a cache keyed by `updated`
   * spares the warm path a store read; a miss (or an old queue row) reads the current document.
   */
  private async loadAction(inv: ClaimedInvocation): Promise<ActionDoc | undefined> {
    const key = `${inv.actionNamespace}/${inv.actionName}@${inv.actionUpdated}`;
    const hit = inv.actionUpdated !== undefined ? this.actionCache.get(key) : undefined;
    if (hit) return hit;
    const doc = (await this.o.store.getEntity<ActionDoc>(inv.actionNamespace, 'action', inv.actionName, false))?.doc;
    if (doc && doc.updated === inv.actionUpdated) {
      if (this.actionCache.size >= 1_000) this.actionCache.clear();
      this.actionCache.set(key, doc);
    }
    return doc;
  }

  private track(p: Promise<void>): void {
    this.active.add(p);
    void p.finally(() => this.active.delete(p));
  }

  private async execute(inv: ClaimedInvocation): Promise<void> {
    this.running++;
    const { store, runtime } = this.o;
    let action: ActionDoc | undefined;
    // Registered before anything awaits, so a cancel arriving from now on reaches this run.
    const cancel = this.cancels.track(inv.activationId);
    try {
      action = await this.loadAction(inv);
      if (!action) {
        this.finish(internalErrorRecord(inv, 'Action could not be found or may have been deleted.'), inv);
        return;
      }
      // Queue TTL: an invocation claimed after received + ttl is resolved without starting.
      if (inv.ttlMs !== undefined && Date.now() > inv.received + inv.ttlMs) {
        this.finish(expiredRecord(inv, inv.ttlMs, action), inv);
        return;
      }
      if (isSequence(action.exec)) {
        // A waiting sequence runs no user code: it must not take a concurrency slot, or sequences could fill them all
        // and starve their own components.
        this.running--;
        this.sequences++;
        this.schedule();
        try {
          const record = await runSequence(
            {
              store,
              waiters: this.waiters,
              signal: this.stopping.signal,
              cancel: {
                signal: cancel.signal,
                request: () => cancel.cancel,
                component: (id, request) => cancelActivation(store, inv.namespace, id, request).then(() => undefined),
              },
              ...(store.supportsClaimOnEnqueue ? { local: this } : {}),
            },
            inv,
            action as ActionDoc & { exec: SequenceExec },
          );
          if (record) this.finish(record, inv);
        } finally {
          this.sequences--;
          this.running++;
        }
        return;
      }
      const policy = retryPolicy(action.annotations);
      const attempt = (inv.attemptHistory?.length ?? 0) + 1;
      const env: Record<string, string> = {};
      for (const p of action.parameters) {
        if (p.init) env[p.key] = typeof p.value === 'string' ? p.value : JSON.stringify(p.value);
      }
      // A namespace that stores no results has no live lines written either.
      const live =
        inv.storeActivations === false
          ? undefined
          : new LivePublisher({
              store,
              namespace: inv.namespace,
              activationId: inv.activationId,
              onError: (err) => this.o.logger.warn({ err, activationId: inv.activationId, namespace: inv.namespace }, 'live logs could not be written'),
            });
      // With a retry policy every attempt's lines follow a marker line, and live lines carry the positions they will
      // have in the final record (after the earlier attempts' lines).
      const marker = policy ? attemptMarker(attempt) : undefined;
      let observer: RunObserverShim | undefined = live;
      if (marker !== undefined && live) {
        const base = (inv.priorLogs?.length ?? 0) + 1;
        live.line(base, marker);
        observer = { line: (seq, l) => live.line(base + seq, l), truncated: () => live.truncated(), progress: (j) => live.progress(j) };
      }
      let outcome: Awaited<ReturnType<Runtime['run']>>;
      try {
        outcome = await runtime.run({
          activationId: inv.activationId,
          transactionId: inv.transactionId,
          namespace: inv.namespace,
          actionName: `/${inv.actionNamespace}/${inv.actionName}`,
          action,
          loadCode: async () => {
            const e = await store.getEntity<ActionDoc>(inv.actionNamespace, 'action', inv.actionName, true);
            if (e?.doc.exec.code === undefined) throw new Error('Action could not be found or may have been deleted.');
            return e.doc.exec.code;
          },
          params: inv.params,
          env,
          ...(inv.apiKey ? { apiKey: inv.apiKey } : {}),
          apiHost: this.o.apiHost(),
          ...(observer ? { observer } : {}),
          signal: cancel.signal,
          cancelGraceMs: cancelGraceMs(action.annotations),
          attempt,
          maxAttempts: policy?.maxAttempts ?? 1,
        });
      } catch (err) {
        // The code never got to run (spawn, code fetch): an internal error, retried when the policy says so.
        await live?.close();
        if (!policy || cancel.cancel) throw err;
        this.o.logger.error({ err, activationId: inv.activationId, namespace: inv.namespace, attempt }, 'attempt failed inside Flare');
        const rec = internalErrorRecord(inv, `The action could not be run: ${(err as Error)?.message ?? String(err)}`, action);
        await this.settle(inv, action, policy, attempt, rec, 'internal-error', [marker!]);
        return;
      }
      // A live write still in progress lands before the record, whose commit then deletes it.
      await live?.close();
      // A run killed by a cancel gets the cancelled record (written now that its sandbox is gone). A cancel that
      // lost the race to the end of the run still wins in the store: complete() stores the record cancelled.
      // Cancel never triggers a retry.
      if (outcome.cancelled && cancel.cancel) {
        const rec = cancelledRecord(inv, cancel.cancel, action, outcome);
        this.finish(policy ? finalRecord(inv, rec, attemptEntry(attempt, rec, 'failed'), [marker!, ...rec.logs], action.limits.logs * 1024 * 1024) : rec, inv, outcome.executor);
        return;
      }
      const rec = buildRecord(inv, action, outcome);
      if (!policy) {
        this.finish(rec, inv, outcome.executor);
        return;
      }
      await this.settle(inv, action, policy, attempt, rec, attemptCategory(rec.statusCode, outcome.timeout), [marker!, ...outcome.logs], outcome.executor);
    } catch (err) {
      this.o.logger.error({ err, activationId: inv.activationId, namespace: inv.namespace }, 'activation failed inside Flare');
      this.finish(internalErrorRecord(inv, `The action could not be run: ${(err as Error)?.message ?? String(err)}`, action), inv);
    } finally {
      cancel.done();
      this.running--;
      this.schedule();
    }
  }

  /**
   * An attempt of an activation with a retry policy ended: either the queue row waits for the next attempt (state
   * `retrying`, no record), or the one final record is written with every attempt's history and logs.
   */
  private async settle(
    inv: ClaimedInvocation,
    action: ActionDoc,
    policy: RetryPolicy,
    attempt: number,
    rec: ActivationRecord,
    category: RetryCategory | undefined,
    lines: string[],
    kind?: StartKind,
  ): Promise<void> {
    const limitBytes = action.limits.logs * 1024 * 1024;
    const entry = attemptEntry(attempt, rec, category ?? 'succeeded');
    const decision = decideRetry(policy, attempt, category, rec.response.result);
    const extra: ActivationRecord['annotations'] = [];
    if (decision.retry) {
      const notBefore = Date.now() + decision.delayMs;
      // Queue TTL counts retries too: an attempt that could only start too late is not scheduled (§4.8).
      if (inv.ttlMs !== undefined && notBefore > inv.received + inv.ttlMs) extra.push({ key: 'retriesExhausted', value: 'eventAge' });
      else if (await this.scheduleRetry(nextAttemptPayload(inv, policy.maxAttempts, entry, lines, limitBytes), notBefore)) return;
      // Otherwise the row is no longer ours (cancelled, or taken over after a lost lease): the final record is
      // offered to the store, whose complete() keeps whichever record came first.
    } else if (decision.exhausted) extra.push({ key: 'retriesExhausted', value: true });
    this.finish(finalRecord(inv, rec, entry, lines, limitBytes, extra), inv, kind);
  }

  /** Commits the retry (retried on store errors while this node runs); arms a timer so the attempt starts on time. */
  private async scheduleRetry(next: Invocation, notBefore: number): Promise<boolean> {
    for (let i = 0; ; i++) {
      try {
        const ok = await this.o.store.scheduleRetry(next, this.owner, notBefore);
        if (ok) this.armRetryTimer(notBefore);
        return ok;
      } catch (err) {
        if (this.stopping.signal.aborted) throw err;
        this.o.logger.error({ err, activationId: next.activationId, namespace: next.namespace }, 'scheduling a retry failed; trying again');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 50 * 2 ** i)));
      }
    }
  }

  /** Wakes this invoker when a retry it scheduled is due (the poll promotes due retries of other nodes too). */
  private armRetryTimer(notBefore: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      void this.promoteDue();
    }, Math.max(0, notBefore - Date.now()) + 1);
    this.retryTimers.add(t);
  }

  /** Queues again the retries whose time came (any node's): the store wakes the invokers. */
  private async promoteDue(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.o.store.promoteRetries(Date.now());
    } catch (err) {
      this.o.logger.error({ err }, 'queuing due retries failed');
    }
  }

  private finish(record: Parameters<RecordWriter['write']>[0], inv?: Invocation, kind?: StartKind): void {
    // After stop's grace period the records are left to lease expiry (→ interrupted) rather than half-written.
    if (this.abandoned) return;
    this.writer.write(inv?.storeActivations === false ? statusOnlyRecord(record) : record);
    this.o.metrics?.activationCompleted({
      namespace: record.namespace,
      fn: inv ? inv.actionName : record.name,
      status: record.response.status,
      ...(inv ? { received: inv.received } : {}),
      start: record.start,
      end: record.end ?? record.start,
      ...(kind ? { kind } : {}),
    });
  }

  /**
   * Work whose node died. It was claimed, and the claim is the `running` commit made before the code got anything, so
   * it may have started: it gets a statusCode 3 `interrupted` record and is never silently re-run, unless its retry
   * policy lists `interrupted` and attempts remain (then it waits for its next attempt like any retry). Work that was
   * never claimed stays queued and simply runs.
   */
  private async resolveExpired(): Promise<void> {
    if (this.stopped) return;
    try {
      const expired = await this.o.store.takeExpired(this.owner, this.o.leaseMs, 500);
      for (const inv of expired) {
        const action = (await this.o.store.getEntity<ActionDoc>(inv.actionNamespace, 'action', inv.actionName, false))?.doc;
        if (inv.cancel) {
          // Its node died while cancelling it (or its canceller died before writing the record): it ends cancelled,
          // with the lines its node had published live, and is never re-run.
          const logs = (await this.o.store.readLiveLogs(inv.namespace, inv.activationId, 0).catch(() => undefined))?.lines.map((l) => l.line) ?? [];
          const now = Date.now();
          this.writer.write(cancelledRecord(inv, inv.cancel, action, { start: now, end: now, logs }));
          this.o.logger.warn({ activationId: inv.activationId, namespace: inv.namespace }, 'cancel completed for a stopped node');
          continue;
        }
        const rec = interruptedRecord(inv, action);
        const policy = action && !isSequence(action.exec) ? retryPolicy(action.annotations) : undefined;
        if (!policy) {
          this.finish(rec, inv);
        } else {
          // The lines the attempt published live before its node died belong to the record too.
          const prior = inv.priorLogs?.length ?? 0;
          const live = await this.o.store.readLiveLogs(inv.namespace, inv.activationId, prior).catch(() => ({ lines: [] }));
          const attempt = (inv.attemptHistory?.length ?? 0) + 1;
          await this.settle(inv, action!, policy, attempt, rec, 'interrupted', live.lines.map((l) => l.line));
        }
        this.o.logger.warn({ activationId: inv.activationId, namespace: inv.namespace }, 'invocation interrupted: its node stopped before finishing it');
      }
      if (expired.length) this.o.logger.warn({ count: expired.length }, 'resolved interrupted invocations of a stopped node');
    } catch (err) {
      this.o.logger.error({ err }, 'resolving expired leases failed');
    }
  }
}

/** The observer shape the runtime takes (a LivePublisher, or a shim that shifts its line positions). */
type RunObserverShim = Pick<LivePublisher, 'line' | 'truncated' | 'progress'>;
