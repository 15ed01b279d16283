// Runs DigitalOcean-style scheduled triggers (doctl-cli.md §5.5) on nodes with role all|invoker. Each tick it reads
// the enabled triggers, asks croner whether a scheduled minute fell in (previous tick, now], and fires it through
// the same InvocationService as the REST API (durable, throttled, an ordinary activation). Nodes sharing one store
// agree through putSettingIfAbsent so a scheduled minute fires once cluster-wide.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { NamespaceLimits, NamespaceRow, ScheduledTriggerDoc, TriggerDoc } from '../types.js';
import { identityOf } from '../api/auth.js';
import { InvocationService } from '../api/invocations.js';
import type { FlareMetrics } from '../ops/metrics.js';
import { Throttle } from '../api/throttle.js';
import { CompletionWaiters } from '../run-control/completion-waiters.js';
import { resolveAction } from '../api/resolve-action.js';
import { newTransactionId } from '../ids.js';
import { Schedule } from './cron.js';
import { newActivationId } from '../ids.js';
import { ALARM_KIND, isLastFire, nextFire, type AlarmDoc } from '../feeds/alarm-schedule.js';
import { fireTrigger, hasActiveRule } from '../triggers/fire-trigger.js';

export const SCHEDULED_KIND = 'scheduled-trigger' as const;

export interface SchedulerOptions {
  store: Store;
  logger: Pick<Logger, 'warn' | 'info' | 'error'>;
  limits: NamespaceLimits;
  /** Real ms between evaluations (default 1000). */
  tickMs?: number;
  /**
   * The scheduler's clock. Defaults to Date.now; tests pass `Date.now() + offset` (FLARE_SCHEDULER_CLOCK_OFFSET_MS)
   * so a minute boundary comes soon while croner still evaluates the real expression.
   */
  now?: () => number;
  /** Identifies this node in the dedupe keys. */
  ownerId?: string;
  /** This node's metrics: firings (flare_scheduled_runs_total) and the invocations they make. */
  metrics?: FlareMetrics;
}

/**
 * TEST-ONLY hook: FLARE_SCHEDULER_CLOCK_OFFSET_MS shifts the scheduler's clock (not the server's) so a test can put
 * a minute boundary a few seconds ahead. Croner still evaluates the real expression against that clock.
 */
export function schedulerClock(env: NodeJS.ProcessEnv): () => number {
  const offset = Number(env.FLARE_SCHEDULER_CLOCK_OFFSET_MS ?? 0);
  if (!Number.isFinite(offset) || offset === 0) return Date.now;
  return () => Date.now() + offset;
}

/** The dedupe key of one scheduled minute of one trigger. */
export function fireKey(namespace: string, name: string, scheduledMs: number): string {
  return `trigger-fire:${namespace}/${name}:${Math.floor(scheduledMs / 60_000)}`;
}

/** Every scheduled trigger in the store (all namespaces). */
export async function listAllScheduled(store: Store): Promise<ScheduledTriggerDoc[]> {
  const out: ScheduledTriggerDoc[] = [];
  for (const ns of await store.listNamespaces()) {
    out.push(...(await store.listEntities<ScheduledTriggerDoc>({ namespace: ns.name, kind: SCHEDULED_KIND, limit: 100_000, skip: 0 })));
  }
  return out;
}

export class Scheduler {
  private readonly store: Store;
  private readonly now: () => number;
  private readonly tickMs: number;
  readonly ownerId: string;
  private readonly waiters: CompletionWaiters;
  private readonly invocations: InvocationService;
  private readonly schedules = new Map<string, Schedule>();
  private lastTick: number;
  private firstTick = true;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.tickMs = opts.tickMs ?? 1000;
    this.ownerId = opts.ownerId ?? randomUUID();
    this.waiters = new CompletionWaiters(opts.store);
    this.invocations = new InvocationService(opts.store, new Throttle(opts.store), this.waiters, undefined, opts.metrics);
    this.lastTick = this.now();
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((err) => this.opts.logger.error({ err }, 'scheduler tick failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, this.tickMs);
        });
    };
    this.timer = setTimeout(loop, this.tickMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.waiters.close();
    for (const s of this.schedules.values()) s.stop();
    this.schedules.clear();
  }

  /** One evaluation: fires every enabled trigger with a scheduled minute in (last tick, now]. Returns what fired. */
  async tick(): Promise<string[]> {
    const now = this.now();
    // After a long stall, look back at most one minute: a missed minute fires once, late, not a backlog.
    const from = Math.max(this.lastTick, now - 60_000);
    this.lastTick = now;
    // Alarms look back a minute after a start too: a fire due while no node ran is fired once, late. The moment's
    // cluster-wide key and lastFired keep it from firing twice.
    const fired: string[] = await this.tickAlarms(this.firstTick ? now - 60_000 : from, now);
    this.firstTick = false;
    // Cron times are whole minutes: unless a minute boundary fell in (from, now], nothing can be due and the
    // store is not read at all (one read of the triggers per minute per node).
    if (Math.floor(now / 60_000) * 60_000 <= from) return fired;
    const seen = new Set<string>();
    for (const t of await listAllScheduled(this.store)) {
      const id = `${t.namespace}/${t.name}`;
      seen.add(id);
      if (!t.isEnabled) continue;
      let s = this.schedules.get(id);
      if (!s || s.expr !== t.cron) {
        s?.stop();
        s = new Schedule(t.cron);
        this.schedules.set(id, s);
      }
      const due = s.nextAfter(from);
      if (due === undefined || due > now) continue;
      const owner = await this.store.putSettingIfAbsent(fireKey(t.namespace, t.name, due), this.ownerId);
      if (owner !== this.ownerId) continue; // another node fires this minute
      if (await this.fire(t, due)) fired.push(id);
    }
    for (const [id, s] of this.schedules) {
      if (!seen.has(id)) {
        s.stop();
        this.schedules.delete(id);
      }
    }
    return fired;
  }

  /**
   * Alarms (the /whisk.system/alarms feed) can be due at any second: they are read every tick. A due fire is claimed
   * cluster-wide through putSettingIfAbsent, then fires the OpenWhisk trigger like POST …/triggers/{name}.
   */
  private async tickAlarms(from: number, now: number): Promise<string[]> {
    const fired: string[] = [];
    for (const ns of await this.store.listNamespaces()) {
      for (const a of await this.store.listEntities<AlarmDoc>({ namespace: ns.name, kind: ALARM_KIND, limit: 100_000, skip: 0 })) {
        if (!a.active) continue;
        const due = nextFire(a, Math.max(from, a.lastFired ?? -Infinity));
        if (due === undefined || due > now) continue;
        const key = `alarm-fire:${a.namespace}/${a.name}:${due}`;
        if ((await this.store.putSettingIfAbsent(key, this.ownerId)) !== this.ownerId) continue;
        try {
          if (await this.fireAlarm(ns, a, due)) fired.push(`${a.namespace}/${a.name}`);
        } catch (err) {
          this.opts.logger.warn({ trigger: `${a.namespace}/${a.name}`, err: (err as Error).message }, 'alarm could not fire its trigger');
        }
      }
    }
    return fired;
  }

  private async fireAlarm(row: NamespaceRow, a: AlarmDoc, due: number): Promise<boolean> {
    const trigger = await this.store.getEntity<TriggerDoc>(a.namespace, 'trigger', a.name, false);
    const identity = identityOf(row, '', this.opts.limits);
    if (trigger && hasActiveRule(trigger.doc)) {
      await fireTrigger({ store: this.store, invocations: this.invocations }, identity, trigger.doc, { ...a.payload }, newActivationId(), newTransactionId(), Date.now());
    }
    const last = !trigger || isLastFire(a, due);
    if (last) {
      await this.store.deleteEntity(a.namespace, ALARM_KIND, a.name);
      if (trigger && a.deleteAfterFire) {
        if (a.deleteAfterFire === 'rules') {
          for (const fq of Object.keys(trigger.doc.rules ?? {})) {
            const [rns, ...rest] = fq.split('/');
            if (rns === a.namespace) await this.store.deleteEntity(a.namespace, 'rule', rest.join('/'));
          }
        }
        await this.store.deleteEntity(a.namespace, 'trigger', a.name);
      }
    } else {
      const cur = await this.store.getEntity<AlarmDoc>(a.namespace, ALARM_KIND, a.name, false);
      if (cur) await this.store.putEntity(a.namespace, ALARM_KIND, a.name, { ...cur.doc, lastFired: due }, undefined, { expectUpdated: cur.updated });
    }
    // The previous fire's dedupe key can no longer be contended.
    if (a.lastFired !== undefined) await this.store.deleteSetting(`alarm-fire:${a.namespace}/${a.name}:${a.lastFired}`).catch(() => undefined);
    return !!trigger;
  }

  /** Invokes the trigger's function non-blocking with the body as params; records the run on the trigger. */
  private async fire(t: ScheduledTriggerDoc, due: number): Promise<boolean> {
    const row = await this.store.getNamespace(t.namespace);
    if (!row) return false;
    // The scheduler holds no key: actions asking for provide-api-key get none from a scheduled run.
    const identity = identityOf(row, '', this.opts.limits);
    let ok = true;
    try {
      const action = await resolveAction(this.store, identity, t.namespace, t.function);
      await this.invocations.invoke(identity, action, { ...t.body }, {
        blocking: false,
        waitMs: 0,
        transactionId: newTransactionId(),
        received: Date.now(),
        annotations: [{ key: 'trigger', value: t.name }],
      });
    } catch (err) {
      ok = false;
      this.opts.logger.warn({ trigger: `${t.namespace}/${t.name}`, err: (err as Error).message }, 'scheduled trigger could not invoke its function');
    }
    this.opts.metrics?.scheduledRun(t.namespace, ok ? 'fired' : 'failed');
    await this.recordRun(t, due);
    return ok;
  }

  /** Last run time is kept on the trigger; `updated` is unchanged so lists keep their order. */
  private async recordRun(t: ScheduledTriggerDoc, due: number): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const cur = await this.store.getEntity<ScheduledTriggerDoc>(t.namespace, SCHEDULED_KIND, t.name, false);
      if (!cur) return;
      const doc: ScheduledTriggerDoc = { ...cur.doc, lastRunAt: due, ...(cur.doc.lastRunAt !== undefined ? { prevRunAt: cur.doc.lastRunAt } : {}) };
      const r = await this.store.putEntity(t.namespace, SCHEDULED_KIND, t.name, doc, undefined, { expectUpdated: cur.updated });
      if (r === 'ok') {
        // Dedupe keys of runs before the last can no longer be contended (a node looks back at most one minute,
        // and runs are at least a minute apart): delete them so the settings do not grow with every run.
        if (cur.doc.prevRunAt !== undefined) await this.store.deleteSetting(fireKey(t.namespace, t.name, cur.doc.prevRunAt)).catch(() => undefined);
        return;
      }
    }
  }
}
