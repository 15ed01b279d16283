// The PostgreSQL Store: several Flare nodes share one database. The queue is claimed with FOR UPDATE SKIP LOCKED,
// leases use the database clock (nodes' clocks may differ), wake-ups and completions travel by LISTEN/NOTIFY.
// Every hot statement is a named (prepared) query and costs one round trip.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { durationBucket, durationOf, isColdStart } from '../../insights/rollup.js';
import type {
  ActivationRecord,
  CancelRequest,
  ClaimedInvocation,
  EntityKind,
  EntityListFilter,
  InFlightEntry,
  InFlightListFilter,
  Invocation,
  NamespaceKey,
  NamespaceLimits,
  NamespaceRow,
  ActivationListFilter,
  QueueState,
} from '../../types.js';
import { filterInFlight, inFlightEntry } from '../in-flight-entry.js';
import {
  activationFilterKey,
  terminalEvent,
  type DeliveryAttempt,
  type DeliveryJob,
  type DeliveryOutcome,
  type DeliveryView,
  type WebhookSecrets,
  IdempotencyKeyBusyError,
  type ActivationSummary,
  type AdmissionLimits,
  type AdmissionOutcome,
  type AdmissionRefusal,
  type CancelOutcome,
  type EnqueueClaim,
  type IdempotencyKeyRow,
  type IdempotencyOutcome,
  type InsightsQuery,
  type InsightsRows,
  type IdempotencyKeyOutcome,
  type LiveLogs,
  type LiveLogsAppend,
  type PutEntityOptions,
  type Store,
  type StoredEntity,
} from '../store.js';
import { toSummary } from '../summary.js';
import { attemptOf, deliveryView, secretsOf } from '../delivery-rows.js';
import { listByStatuses } from '../activation-pages.js';
import { bucketOf, planCount, type CountFilter } from '../activation-counts.js';
import { parsePgUrl, type PgTarget } from './connection-url.js';
import { migrate } from './migrations.js';
import { NotifyListener } from './notify-listener.js';
import { WriteCoalescer } from './write-coalescer.js';
import { asCancelled, isCancelledRecord, parseCancel } from '../../cancel/cancelled-record.js';

export const CHANNEL_ENQUEUED = 'flare_enqueued';
export const CHANNEL_COMPLETED = 'flare_completed';
export const CHANNEL_LIVE = 'flare_live';
export const CHANNEL_CANCEL = 'flare_cancel';
export const CHANNEL_TENANTS = 'flare_tenants';

type Channels = { enqueued: string; completed: string; live: string; cancel: string; tenants: string };

/**
 * NOTIFY channels are database-wide, not per schema: installations sharing a database in different schemas get
 * their own channels (`flare_enqueued_<schema>`), or they would wake each other. The default schema keeps the bare
 * names. Channel names are identifiers (at most 63 bytes): a long schema name is replaced by a hash.
 */
export function channelNames(schema: string): Channels {
  if (schema === 'public') return { enqueued: CHANNEL_ENQUEUED, completed: CHANNEL_COMPLETED, live: CHANNEL_LIVE, cancel: CHANNEL_CANCEL, tenants: CHANNEL_TENANTS };
  const suffix = schema.length <= 40 ? schema : createHash('sha256').update(schema).digest('hex').slice(0, 32);
  return {
    enqueued: `${CHANNEL_ENQUEUED}_${suffix}`,
    completed: `${CHANNEL_COMPLETED}_${suffix}`,
    live: `${CHANNEL_LIVE}_${suffix}`,
    cancel: `${CHANNEL_CANCEL}_${suffix}`,
    tenants: `${CHANNEL_TENANTS}_${suffix}`,
  };
}

/** Opens (and migrates) the store described by a postgres:// URL; `?schema=name` selects the schema. */
export async function openPostgresStore(url: string): Promise<Store> {
  const store = new PostgresStore(parsePgUrl(url));
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

// Epoch milliseconds from the database clock.
/** How long a duplicate waits for an uncommitted request holding its Idempotency-Key before a 409. */
const IDEMPOTENCY_WAIT_MS = 5_000;
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

type Row = Record<string, unknown>;

interface EnqueueItem {
  inv: Invocation;
  claim?: EnqueueClaim;
  limits?: AdmissionLimits;
}

/** Limits travel as int4; anything larger (or Infinity) means "no limit" in practice. */
const INT4_MAX = 2 ** 31 - 1;
const asInt4 = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.min(INT4_MAX, Math.floor(n))) : INT4_MAX);

/** The enqueue statement's parameters for a batch (also used inside the idempotency transaction). */
function enqueueValues(items: EnqueueItem[]): unknown[] {
  return [
    items.map((i) => i.inv.activationId),
    items.map((i) => i.inv.namespace),
    items.map((i) => JSON.stringify(i.inv)),
    items.map((i) => i.claim?.owner ?? null),
    items.map((i) => (i.claim ? Math.round(i.claim.leaseMs) : null)),
    items.map((i) => (i.limits ? asInt4(i.limits.concurrent) : null)),
    items.map((i) => (i.limits ? asInt4(i.limits.perMinute) : null)),
    items.map((i) => i.inv.callbackUrl ?? null),
  ];
}

/** Each item's outcome from the enqueue statement's row: admitted, refused by a limit, or an Error (a duplicate id). */
function enqueueOutcomes(items: EnqueueItem[], row: Row): (AdmissionOutcome | Error)[] {
  const inserted = new Set((row.ids as string[] | null) ?? []);
  const refused = new Map(((row.refused as Array<AdmissionRefusal & { a: string }> | null) ?? []).map(({ a, ...r }) => [a, r]));
  return items.map((i) => {
    const id = i.inv.activationId;
    if (inserted.delete(id)) return { admitted: true };
    const r = refused.get(id);
    if (r) return { admitted: false, limit: r.limit, count: r.count, allowed: r.allowed };
    return new Error(`activation ${id} is already queued`);
  });
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly supportsClaimOnEnqueue = true;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly listener: NotifyListener;
  private readonly s: string; // quoted schema name for SQL text
  private readonly sql: ReturnType<typeof statements>;
  private readonly channels: Channels;
  private readonly liveListeners = new Set<(id: string, ended: boolean) => void>();
  /** Backend pids of this store's pool: their NOTIFY echoes are skipped because listeners already fired locally. */
  private readonly ownPids = new Set<number>();
  private readonly enqueuedListeners = new Set<() => void>();
  private readonly tenantListeners = new Set<(namespace: string) => void>();
  private readonly deliveryListeners = new Set<() => void>();
  private readonly completedListeners = new Set<(id: string, record?: ActivationRecord) => void>();
  private readonly cancelListeners = new Set<(id: string, cancel: CancelRequest) => void>();
  private initialized = false;
  // Concurrent enqueues and completes are sent as one statement each (see write-coalescer.ts).
  private readonly enqueues = new WriteCoalescer<EnqueueItem, AdmissionOutcome>((items) => this.enqueueBatch(items));
  private readonly completes = new WriteCoalescer<ActivationRecord[], Map<string, ActivationRecord>>(async (items) => {
    const inserted = await this.completeBatch(items.flat());
    return items.map(() => inserted);
  });

  constructor(private readonly target: PgTarget) {
    this.schema = target.schema;
    this.s = `"${target.schema}"`;
    this.channels = channelNames(target.schema);
    this.sql = statements(this.s, this.channels);
    // pg_stat_activity shows which schema (installation) each connection serves.
    this.pool = new pg.Pool({ connectionString: target.connectionString, max: target.poolMax, application_name: `flare:${target.schema}` });
    // An idle client's error (e.g. the server restarted) must not crash the process; the pool drops that client.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => {
      const pid = (client as unknown as { processID?: number }).processID;
      if (pid) this.ownPids.add(pid);
    });
    this.pool.on('remove', (client) => {
      const pid = (client as unknown as { processID?: number }).processID;
      if (pid) this.ownPids.delete(pid);
    });
    this.listener = new NotifyListener({
      connectionString: target.connectionString,
      applicationName: `flare-listen:${target.schema}`,
      channels: [this.channels.enqueued, this.channels.completed, this.channels.live, this.channels.cancel, this.channels.tenants],
      onNotification: (msg) => this.notified(msg),
      // Wake-ups may have been missed while the connection was down: work may be waiting, keys may have changed.
      onReconnect: () => {
        this.fireEnqueued();
        this.fireTenant('*');
      },
    });
  }

  async init(): Promise<void> {
    if (this.initialized) return;
    const client = await this.pool.connect();
    try {
      await migrate(client, this.schema, this.s);
    } finally {
      client.release();
    }
    await this.listener.start();
    this.initialized = true;
  }

  async close(): Promise<void> {
    await this.listener.close();
    await this.pool.end();
  }

  /** For tests: the LISTEN session's backend pid (terminate it to exercise the reconnect). */
  get listenerPid(): number | undefined {
    return this.listener.backendPid;
  }

  private q(name: keyof ReturnType<typeof statements>, values: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.pool.query<Row>({ name: `flare_${name}`, text: this.sql[name], values });
  }

  // ---- settings ----
  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    const r = await this.q('putSetting', [key, value]);
    if (r.rows.length > 0) return String(r.rows[0]!.value);
    // A concurrent insert committed after this statement's snapshot: read it now.
    const v = await this.getSetting(key);
    if (v === undefined) throw new Error(`setting ${key} vanished`);
    return v;
  }

  async deleteSetting(key: string): Promise<void> {
    await this.q('deleteSetting', [key]);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const r = await this.q('getSetting', [key]);
    return r.rows.length ? String(r.rows[0]!.value) : undefined;
  }

  // ---- namespaces ----
  async createNamespace(row: NamespaceRow): Promise<boolean> {
    const r = await this.q('createNamespace', [
      row.name,
      row.uuid,
      row.keyHash,
      row.subject,
      row.created,
      row.limits === undefined ? null : JSON.stringify(row.limits),
    ]);
    return r.rowCount === 1;
  }

  async getNamespace(name: string): Promise<NamespaceRow | undefined> {
    const r = await this.q('getNamespace', [name]);
    return r.rows.length ? toNamespace(r.rows[0]!) : undefined;
  }

  async setNamespaceLimits(name: string, limits: Partial<NamespaceLimits> | undefined): Promise<boolean> {
    const r = await this.q('setNamespaceLimits', [name, limits && Object.keys(limits).length ? JSON.stringify(limits) : null]);
    const ok = r.rows.length > 0;
    if (ok) this.fireTenant(name);
    return ok;
  }

  // ---- keys ----
  async createKey(namespace: string, key: { uuid: string; keyHash: string; created: number }): Promise<boolean> {
    const r = await this.q('createKey', [key.uuid, namespace, key.keyHash, key.created]);
    const ok = r.rows.length > 0;
    if (ok) this.fireTenant(namespace);
    return ok;
  }

  async listKeys(namespace: string): Promise<NamespaceKey[]> {
    const r = await this.q('listKeys', [namespace]);
    return r.rows.map((row) => ({ uuid: String(row.uuid), created: Number(row.created), first: row.first === true }));
  }

  async revokeKey(namespace: string, uuid: string): Promise<boolean> {
    const r = await this.q('revokeKey', [namespace, uuid]);
    const ok = Number(r.rows[0]!.n) > 0;
    if (ok) this.fireTenant(namespace);
    return ok;
  }

  async getNamespaceByKey(uuid: string): Promise<NamespaceRow | undefined> {
    const r = await this.q('getNamespaceByKey', [uuid]);
    return r.rows.length ? toNamespace(r.rows[0]!) : undefined;
  }

  async readInsights(q: InsightsQuery): Promise<InsightsRows> {
    const args = [q.namespace, q.fn, q.res, q.from, q.to, q.step];
    const [rows, hist] = await Promise.all([this.q('readRollup', args), this.q('readHist', args)]);
    return {
      rows: rows.rows.map((r) => ({ t: Number(r.i), s: [Number(r.s0), Number(r.s1), Number(r.s2), Number(r.s3)], cold: Number(r.cold), durSum: Number(r.dur) })),
      hist: hist.rows.map((r) => ({ t: Number(r.i), b: Number(r.b), n: Number(r.n) })),
    };
  }

  onTenantChanged(listener: (namespace: string) => void): () => void {
    this.tenantListeners.add(listener);
    return () => this.tenantListeners.delete(listener);
  }

  async getNamespaceByUuid(uuid: string): Promise<NamespaceRow | undefined> {
    const r = await this.q('getNamespaceByUuid', [uuid]);
    return r.rows.length ? toNamespace(r.rows[0]!) : undefined;
  }

  async listNamespaces(): Promise<NamespaceRow[]> {
    const r = await this.q('listNamespaces', []);
    return r.rows.map(toNamespace);
  }

  async deleteNamespace(name: string): Promise<boolean> {
    const r = await this.q('deleteNamespace', [name]);
    const deleted = Number(r.rows[0]!.n) === 1;
    if (deleted) this.fireTenant(name);
    return deleted;
  }

  // ---- entities ----
  async getEntity<T>(namespace: string, kind: EntityKind, name: string, withCode: boolean): Promise<StoredEntity<T> | undefined> {
    const r = await this.q(withCode ? 'getEntityCode' : 'getEntity', [namespace, kind, name]);
    if (!r.rows.length) return undefined;
    const row = r.rows[0]!;
    const doc = JSON.parse(String(row.doc)) as T;
    if (withCode && row.code !== null && row.code !== undefined) {
      const exec = (doc as { exec?: Record<string, unknown> }).exec;
      if (exec) (doc as { exec: Record<string, unknown> }).exec = withCodeField(exec, String(row.code));
    }
    return { doc, updated: Number(row.updated), epoch: Number(row.epoch) };
  }

  async entityEpoch(): Promise<number> {
    return Number((await this.q('entityEpoch', [])).rows[0]!.v);
  }

  async putEntity<T extends { updated: number }>(
    namespace: string,
    kind: EntityKind,
    name: string,
    doc: T,
    code: string | undefined,
    opts: PutEntityOptions = {},
  ): Promise<'ok' | 'conflict'> {
    // Code is kept apart from the doc; a doc that carries exec.code has it moved out.
    let stored: unknown = doc;
    let storedCode: string | null = code ?? null;
    const exec = (doc as { exec?: { code?: unknown } }).exec;
    if (exec && typeof exec === 'object' && 'code' in exec) {
      const { code: inline, ...rest } = exec;
      if (storedCode === null && typeof inline === 'string') storedCode = inline;
      stored = { ...doc, exec: rest };
    }
    const slash = name.indexOf('/');
    const pkg = kind === 'action' && slash > 0 ? name.slice(0, slash) : '';
    const values = [namespace, kind, name, pkg, doc.updated, JSON.stringify(stored), storedCode];
    const expect = opts.expectUpdated;
    let r: pg.QueryResult<Row>;
    if (expect === undefined) r = await this.q('upsertEntity', values);
    else if (expect === null) r = await this.q('insertEntity', values);
    else r = await this.q('updateEntity', [...values, expect]);
    return Number(r.rows[0]!.n) === 1 ? 'ok' : 'conflict';
  }

  async deleteEntity(namespace: string, kind: EntityKind, name: string): Promise<boolean> {
    const r = await this.q('deleteEntity', [namespace, kind, name]);
    return Number(r.rows[0]!.n) === 1;
  }

  async listEntities<T>(filter: EntityListFilter): Promise<T[]> {
    const limit = filter.limit > 0 ? filter.limit : null; // LIMIT NULL = no limit
    const r =
      filter.pkg === undefined
        ? await this.q('listEntities', [filter.namespace, filter.kind, limit, filter.skip])
        : await this.q('listEntitiesPkg', [filter.namespace, filter.kind, filter.pkg, limit, filter.skip]);
    return r.rows.map((row) => JSON.parse(String(row.doc)) as T);
  }

  async countEntities(filter: Omit<EntityListFilter, 'limit' | 'skip'>): Promise<number> {
    const r =
      filter.pkg === undefined
        ? await this.q('countEntities', [filter.namespace, filter.kind])
        : await this.q('countEntitiesPkg', [filter.namespace, filter.kind, filter.pkg]);
    return Number(r.rows[0]!.n);
  }

  // ---- queue ----
  async enqueue(inv: Invocation, claim?: EnqueueClaim): Promise<void> {
    await this.enqueues.push(claim ? { inv, claim } : { inv });
    // Work committed already claimed by a local invoker wakes no one.
    if (!claim) this.fireEnqueued();
  }

  async enqueueWithinLimits(inv: Invocation, limits: AdmissionLimits, claim?: EnqueueClaim): Promise<AdmissionOutcome> {
    const out = (await this.enqueues.push(claim ? { inv, claim, limits } : { inv, limits }))!;
    if (out.admitted && !claim) this.fireEnqueued();
    return out;
  }

  /**
   * Insert and NOTIFY in one statement: one round trip, and the NOTIFY is delivered only if the insert commits.
   * Items with a claim are committed running, owned and leased (attempts 1), and need no NOTIFY.
   */
  private async enqueueBatch(items: EnqueueItem[]): Promise<(Error | AdmissionOutcome)[]> {
    const r = await this.q('enqueue', enqueueValues(items));
    return enqueueOutcomes(items, r.rows[0]!);
  }

  // ---- idempotency keys ----
  async enqueueWithIdempotencyKey(inv: Invocation, key: IdempotencyKeyRow, limits?: AdmissionLimits): Promise<IdempotencyOutcome> {
    const out = await this.idempotent(key, limits ? { inv, limits } : { inv });
    if (out.stored) this.fireEnqueued();
    return out;
  }

  putIdempotencyKey(key: IdempotencyKeyRow): Promise<IdempotencyKeyOutcome> {
    // Without an invocation there is nothing to refuse.
    return this.idempotent(key, undefined) as Promise<IdempotencyKeyOutcome>;
  }

  async sweepIdempotencyKeys(now: number, batch: number): Promise<number> {
    return (await this.q('sweepKeys', [now, batch])).rowCount ?? 0;
  }

  async sweepInsights(minuteBefore: number, hourBefore: number, batch: number): Promise<number> {
    const r = await this.q('sweepInsights', [minuteBefore, hourBefore, batch]);
    return Number(r.rows[0]!.n);
  }

  /**
   * Key row and queue row in one transaction. The key's primary key serialises racing duplicates: a second insert
   * waits on the first's uncommitted row (bounded by lock_timeout), then sees it committed (or rolled back).
   */
  private async idempotent(key: IdempotencyKeyRow, item: EnqueueItem | undefined): Promise<IdempotencyOutcome> {
    const client = await this.pool.connect();
    try {
      await client.query(`BEGIN; SET LOCAL lock_timeout = '${IDEMPOTENCY_WAIT_MS}ms'`);
      try {
        const r = await client.query<Row>(this.sql.putKey, [key.namespace, key.key, key.fingerprint, key.activationId, key.expires]);
        if (r.rows.length) {
          if (item) {
            const e = await client.query<Row>(this.sql.enqueue, enqueueValues([item]));
            const [out] = enqueueOutcomes([item], e.rows[0]!);
            if (out instanceof Error) throw out;
            if (!out!.admitted) {
              await client.query('ROLLBACK');
              const { admitted: _, ...refused } = out!;
              return { stored: false, refused };
            }
          }
          await client.query('COMMIT');
          return { stored: true };
        }
        const found = await client.query<Row>(this.sql.getKey, [key.namespace, key.key]);
        await client.query('COMMIT');
        const row = found.rows[0]!;
        return { stored: false, activationId: String(row.activation_id), fingerprint: String(row.fingerprint) };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if ((err as { code?: string }).code === '55P03') throw new IdempotencyKeyBusyError();
        throw err;
      }
    } finally {
      client.release();
    }
  }

  async claim(owner: string, max: number, leaseMs: number): Promise<ClaimedInvocation[]> {
    if (max <= 0) return [];
    const r = await this.q('claim', [owner, max, Math.round(leaseMs)]);
    return toClaimed(r.rows);
  }

  async renewLeases(owner: string, leaseMs: number): Promise<void> {
    await this.q('renewLeases', [owner, Math.round(leaseMs)]);
  }

  async takeExpired(owner: string, leaseMs: number, max: number): Promise<ClaimedInvocation[]> {
    if (max <= 0) return [];
    const r = await this.q('takeExpired', [owner, Math.round(leaseMs), max]);
    return toClaimed(r.rows);
  }

  /**
   * `atMost` (an addition to the Store contract, optional): the caller only needs to know whether the count reaches
   * it (the concurrency throttle), so counting stops there; a backlog of 100,000 costs ~0.7 ms instead of ~14 ms.
   */
  async countInFlight(namespace: string, atMost?: number): Promise<number> {
    const r =
      atMost === undefined
        ? await this.q('countInFlight', [namespace])
        : await this.q('countInFlightUpTo', [namespace, Math.max(0, Math.floor(atMost))]);
    return Number(r.rows[0]!.n);
  }

  // ---- retries and replay (issue 11) ----
  async scheduleRetry(inv: Invocation, owner: string, notBefore: number): Promise<boolean> {
    const r = await this.q('scheduleRetry', [inv.activationId, owner, Math.round(notBefore), JSON.stringify(inv)]);
    return r.rowCount === 1;
  }

  async promoteRetries(now: number): Promise<number> {
    const n = Number((await this.q('promoteRetries', [Math.round(now)])).rows[0]!.promoted);
    if (n > 0) this.fireEnqueued();
    return n;
  }

  async getActivationParams(namespace: string, activationId: string): Promise<Invocation | undefined> {
    const row = (await this.q('getParams', [namespace, activationId])).rows[0];
    return row ? (JSON.parse(String(row.payload)) as Invocation) : undefined;
  }

  async countQueued(): Promise<number> {
    return Number((await this.q('countQueued', [])).rows[0]!.n);
  }

  // ---- run control ----
  async getInFlight(namespace: string, activationId: string): Promise<InFlightEntry | undefined> {
    const row = (await this.q('getInFlight', [namespace, activationId])).rows[0];
    return row ? inFlightEntry(JSON.parse(String(row.payload)), row.state as QueueState, row.started as string | null, row.cancel, row.not_before as string | null) : undefined;
  }

  /** The row lock orders this against the completing DELETE: either it sees watched, or this finds no row. */
  async watchInFlight(namespace: string, activationId: string): Promise<InFlightEntry | undefined> {
    const row = (await this.q('watchInFlight', [namespace, activationId])).rows[0];
    return row ? inFlightEntry(JSON.parse(String(row.payload)), row.state as QueueState, row.started as string | null, row.cancel, row.not_before as string | null) : undefined;
  }

  async listInFlight(f: InFlightListFilter): Promise<InFlightEntry[]> {
    const rows = (await this.q('listInFlight', [f.namespace, f.states])).rows;
    return filterInFlight(rows.map((r) => inFlightEntry(JSON.parse(String(r.payload)), r.state as QueueState, r.started as string | null, r.cancel, r.not_before as string | null)), f);
  }

  // ---- cancel ----
  async cancelInFlight(namespace: string, activationId: string, cancel: CancelRequest, holdMs: number): Promise<CancelOutcome | undefined> {
    const text = JSON.stringify(cancel);
    const r = await this.q('cancelInFlight', [namespace, activationId, text, Math.round(holdMs), JSON.stringify({ id: activationId, ...cancel })]);
    const row = r.rows[0];
    if (!row) return undefined;
    const previous = String(row.previous) as CancelOutcome['previous'];
    const invocation = JSON.parse(String(row.payload)) as Invocation;
    if (previous === 'cancelling') return { previous, invocation, cancel: parseCancel(row.cancel) ?? cancel };
    // The NOTIFY echo from our own connection is skipped: an invoker in this process hears it here.
    if (previous === 'running') this.fireCancel(activationId, cancel);
    return { previous, invocation, cancel };
  }

  onCancelRequested(listener: (activationId: string, cancel: CancelRequest) => void): () => void {
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  private fireCancel(id: string, cancel: CancelRequest): void {
    for (const l of [...this.cancelListeners]) {
      try {
        l(id, cancel);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  async complete(records: ActivationRecord[]): Promise<void> {
    if (records.length === 0) return;
    const stored = (await this.completes.push(records)) ?? new Map<string, ActivationRecord>();
    // A record that lost to an earlier one (e.g. a slow node after a takeover) is not handed to listeners as if it
    // were the stored one: they read the stored record instead.
    for (const rec of records) this.fireCompleted(rec.activationId, stored.get(rec.activationId) === rec ? rec : undefined);
  }

  /** Delete, insert and NOTIFY in one statement: atomic, one round trip. */
  /** Returns the records that were stored (by id); the others lost to a record already there or earlier in the batch. */
  private async completeBatch(records: ActivationRecord[]): Promise<Map<string, ActivationRecord>> {
    // Several records for one id: the first wins, like a second complete() would.
    const first = new Map<string, ActivationRecord>();
    const ids: string[] = [];
    const namespaces: string[] = [];
    const keys: string[] = [];
    const pkgKeys: string[] = [];
    const starts: number[] = [];
    const ends: (number | null)[] = [];
    const codes: number[] = [];
    const texts: string[] = [];
    const causes: (string | null)[] = [];
    const events: string[] = [];
    for (const rec of records) {
      if (first.has(rec.activationId)) continue;
      first.set(rec.activationId, rec);
      ids.push(rec.activationId);
      namespaces.push(rec.namespace);
      const key = activationFilterKey(rec);
      keys.push(key);
      pkgKeys.push(key.includes('/') ? key.slice(0, key.indexOf('/')) : '');
      starts.push(rec.start);
      ends.push(rec.end ?? null);
      codes.push(rec.statusCode);
      texts.push(JSON.stringify(rec));
      causes.push(rec.cause ?? null);
      events.push(terminalEvent(rec));
    }
    const cancelledIds = ids.filter((id) => isCancelledRecord(first.get(id)!));
    const recs = ids.map((id) => first.get(id)!);
    const colds = recs.map((rec) => (isColdStart(rec) ? 1 : 0));
    const durs = recs.map((rec) => durationOf(rec));
    const buckets = durs.map((d) => durationBucket(d));
    const r = await this.q('complete', [ids, namespaces, keys, pkgKeys, starts, ends, codes, texts, causes, cancelledIds, colds, durs, buckets, events]);
    if (Number(r.rows[0]!.outboxed) > 0) this.fireDeliveries();
    const stored = new Map<string, ActivationRecord>();
    for (const id of (r.rows[0]!.inserted as string[] | null) ?? []) stored.set(id, first.get(id)!);
    // Refused: the row is cancelling (the cancel won the compare-and-set) or another record won. A cancelling row
    // gets this record in its cancelled form; the conversion is a cancelled record, which the row accepts.
    const refused = (r.rows[0]!.refused as string[] | null) ?? [];
    if (refused.length) {
      const rows = (await this.q('cancellingRows', [refused])).rows;
      const converted: ActivationRecord[] = [];
      for (const row of rows) {
        const cancel = parseCancel(row.cancel);
        const rec = first.get(String(row.activation_id));
        if (cancel && rec) converted.push(asCancelled(rec, cancel));
      }
      if (converted.length) for (const [id, rec] of await this.completeBatch(converted)) stored.set(id, rec);
    }
    return stored;
  }

  // ---- completion callbacks ----
  async claimDeliveries(owner: string, max: number, leaseMs: number): Promise<DeliveryJob[]> {
    if (max <= 0) return [];
    const r = await this.q('claimDeliveries', [owner, max, Math.round(leaseMs)]);
    return r.rows.map((row) => ({
      activationId: String(row.activation_id),
      namespace: String(row.namespace),
      url: String(row.url),
      event: row.event_type as DeliveryJob['event'],
      attempts: Number(row.attempts),
      step: Number(row.step),
    }));
  }

  async finishDeliveryAttempt(
    owner: string,
    activationId: string,
    a: Omit<DeliveryAttempt, 'attempt' | 'nextAttemptAt'>,
    outcome: DeliveryOutcome,
  ): Promise<DeliveryAttempt | undefined> {
    const pending = outcome.state === 'pending';
    const r = await this.q('finishDelivery', [
      activationId,
      owner,
      outcome.state,
      pending ? Math.max(0, Math.round(outcome.delayMs)) : null,
      pending ? 1 : 0,
      a.at,
      a.status ?? null,
      a.error ?? null,
      Math.round(a.latencyMs),
    ]);
    const row = r.rows[0];
    if (!row) return undefined;
    return attemptOf({ attempt: row.attempts, at: a.at, status: a.status ?? null, error: a.error ?? null, latency_ms: Math.round(a.latencyMs), next_at: row.next_at });
  }

  async getDeliveries(namespace: string, activationId: string): Promise<DeliveryView | undefined> {
    const d = (await this.q('getDelivery', [namespace, activationId])).rows[0];
    if (!d) return undefined;
    const attempts = (await this.q('getAttempts', [activationId])).rows.map(attemptOf);
    return deliveryView(d, attempts);
  }

  async redeliver(namespace: string, activationId: string): Promise<boolean> {
    const ok = (await this.q('redeliver', [namespace, activationId])).rowCount === 1;
    if (ok) this.fireDeliveries();
    return ok;
  }

  async nextDeliveryDueIn(): Promise<number | undefined> {
    const w = (await this.q('nextDeliveryDue', [])).rows[0]?.wait;
    return w === null || w === undefined ? undefined : Number(w);
  }

  async sweepDeliveries(before: number, batch: number): Promise<number> {
    if (batch <= 0) return 0;
    return Number((await this.q('sweepDeliveries', [before, batch])).rows[0]!.n);
  }

  onDeliveriesDue(listener: () => void): () => void {
    this.deliveryListeners.add(listener);
    return () => this.deliveryListeners.delete(listener);
  }

  private fireDeliveries(): void {
    for (const l of [...this.deliveryListeners]) {
      try {
        l();
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  async getWebhookSecrets(namespace: string): Promise<WebhookSecrets | undefined> {
    return secretsOf((await this.q('getSecrets', [namespace])).rows[0]);
  }

  async ensureWebhookSecret(namespace: string, secret: string): Promise<WebhookSecrets> {
    const row = (await this.q('ensureSecret', [namespace, secret])).rows[0];
    // A concurrent insert committed after this statement's snapshot: read it now.
    return secretsOf(row ?? (await this.q('getSecrets', [namespace])).rows[0])!;
  }

  async rotateWebhookSecret(namespace: string, secret: string, previousUntil: number): Promise<WebhookSecrets> {
    return secretsOf((await this.q('rotateSecret', [namespace, secret, previousUntil])).rows[0])!;
  }

  // ---- live logs ----
  async appendLiveLogs(namespace: string, activationId: string, b: LiveLogsAppend): Promise<void> {
    const seqs = b.lines.map((_, i) => b.firstSeq + i);
    const r = await this.q('liveAppend', [activationId, namespace, seqs, b.lines, b.progress ?? null, b.truncated ?? false]);
    if (r.rows[0]?.ok) this.fireLive(activationId, false);
  }

  async readLiveLogs(namespace: string, activationId: string, afterSeq: number): Promise<LiveLogs> {
    const r = await this.q('liveRead', [activationId, namespace, afterSeq]);
    const row = r.rows[0];
    if (!row?.state) return { lines: [] };
    const out: LiveLogs = { state: row.state as QueueState, lines: (row.lines as LiveLogs['lines'] | null) ?? [] };
    if (row.progress != null) out.progress = String(row.progress);
    if (row.truncated) out.truncated = true;
    return out;
  }

  onLiveLogs(listener: (activationId: string, ended: boolean) => void): () => void {
    this.liveListeners.add(listener);
    return () => this.liveListeners.delete(listener);
  }

  // ---- activations ----
  async getActivation(namespace: string, activationId: string): Promise<ActivationRecord | undefined> {
    const r = await this.q('getActivation', [namespace, activationId]);
    return r.rows.length ? (JSON.parse(String(r.rows[0]!.record)) as ActivationRecord) : undefined;
  }

  async listActivations(filter: ActivationListFilter, docs: boolean): Promise<(ActivationRecord | ActivationSummary)[]> {
    if ((filter.statusCodes?.length ?? 0) > 1) return listByStatuses(filter, (one) => this.listActivations(one, docs));
    const limit = filter.limit > 0 ? filter.limit : null; // LIMIT NULL = no limit
    const w = activationWhere(filter);
    const n = w.values.length;
    const order = 'ORDER BY start DESC, activation_id DESC';
    const page = `LIMIT $${n + 1} OFFSET $${n + 2}`;
    // A package name matches the function of that name and every function of the package: two ordered index scans,
    // each cut at limit+skip, merged.
    const text = w.either
      ? `SELECT record FROM (
          (SELECT record, start, activation_id FROM ${this.s}.activations WHERE ${w.sql} AND filter_key = $2 ${order} LIMIT $${n + 1}::bigint + $${n + 2}::bigint)
          UNION ALL
          (SELECT record, start, activation_id FROM ${this.s}.activations WHERE ${w.sql} AND pkg_key = $2 AND pkg_key <> '' ${order} LIMIT $${n + 1}::bigint + $${n + 2}::bigint)
        ) AS m ${order} ${page}`
      : `SELECT record FROM ${this.s}.activations WHERE ${w.sql} ${order} ${page}`;
    const r = await this.pool.query<Row>({ name: `flare_listActivations_${w.shape}`, text, values: [...w.values, limit, filter.skip] });
    return r.rows.map((row) => {
      const rec = JSON.parse(String(row.record)) as ActivationRecord;
      return docs ? rec : toSummary(rec);
    });
  }

  /** Whole hours from the counters, partial edge hours (and `cause` filters) from the records (activation-counts.ts). */
  async countActivations(filter: CountFilter): Promise<number> {
    if (filter.cause !== undefined) return this.countRecords(filter);
    const plan = planCount(filter);
    const { since: _s, upto: _u, ...rest } = filter;
    const parts = plan.exact.map((e) => this.countRecords({ ...rest, ...e }));
    if (plan.buckets) parts.push(this.countCounters(filter, plan.buckets));
    return (await Promise.all(parts)).reduce((a, b) => a + b, 0);
  }

  private async countCounters(f: CountFilter, hours: { from?: number; to?: number }): Promise<number> {
    const values: unknown[] = [f.namespace];
    const parts = ['namespace = $1'];
    let shape = '';
    if (f.name) {
      values.push(f.name);
      shape += f.name.includes('/') ? 'k' : 'p';
      parts.push(f.name.includes('/') ? 'filter_key = $2' : "(filter_key = $2 OR (pkg_key = $2 AND pkg_key <> ''))");
    }
    if (f.statusCodes?.length) {
      values.push(f.statusCodes);
      shape += 'C';
      parts.push(`status_code = ANY($${values.length}::smallint[])`);
    }
    if (hours.from !== undefined) {
      values.push(hours.from);
      shape += 'f';
      parts.push(`hour >= $${values.length}`);
    }
    if (hours.to !== undefined) {
      values.push(hours.to);
      shape += 't';
      parts.push(`hour < $${values.length}`);
    }
    const text = `SELECT coalesce(sum(n), 0) AS n FROM ${this.s}.activation_counts WHERE ${parts.join(' AND ')}`;
    const r = await this.pool.query<Row>({ name: `flare_countCounters_${shape || 'all'}`, text, values });
    return Number(r.rows[0]!.n);
  }

  private async countRecords(filter: CountFilter): Promise<number> {
    const w = activationWhere(filter);
    const text = `SELECT count(*) AS n FROM ${this.s}.activations WHERE ${w.sql}${w.either ? ` AND (filter_key = $2 OR (pkg_key = $2 AND pkg_key <> ''))` : ''}`;
    const r = await this.pool.query<Row>({ name: `flare_countActivations_${w.shape}`, text, values: w.values });
    return Number(r.rows[0]!.n);
  }

  async sweepActivations(before: number, batch: number): Promise<number> {
    if (batch <= 0) return 0;
    // Live rows of a run whose record never came the usual way (node died) go with the retention too.
    await this.q('liveSweepLines', [before]);
    await this.q('liveSweepState', [before]);
    await this.q('sweepParams', [before, batch]);
    const r = await this.q('sweep', [before, batch]);
    const n = Number(r.rows[0]!.n);
    // Emptied hours are dropped once the sweep is through them (a counter at 0 may still be taken by a late record).
    if (n < batch) await this.q('pruneCounts', [bucketOf(before)]);
    return n;
  }

  // ---- notifications ----
  onEnqueued(listener: () => void): () => void {
    this.enqueuedListeners.add(listener);
    return () => this.enqueuedListeners.delete(listener);
  }

  onCompleted(listener: (activationId: string, record?: ActivationRecord) => void): () => void {
    this.completedListeners.add(listener);
    return () => this.completedListeners.delete(listener);
  }

  private notified(msg: pg.Notification): void {
    // Our own statements' notifications were already delivered in-process (with the record at hand).
    if (this.ownPids.has(msg.processId)) return;
    if (msg.channel === this.channels.enqueued) this.fireEnqueued();
    else if (msg.channel === this.channels.tenants) this.fireTenant(msg.payload || '*');
    else if (msg.channel === this.channels.completed && msg.payload) this.fireCompleted(msg.payload);
    else if (msg.channel === this.channels.cancel && msg.payload) {
      try {
        const { id, ...cancel } = JSON.parse(msg.payload) as CancelRequest & { id: string };
        this.fireCancel(id, cancel);
      } catch {
        // not ours
      }
    } else if (msg.channel === this.channels.live && msg.payload) {
      const [id, what] = msg.payload.split(' ');
      this.fireLive(id!, what === 'end');
    }
  }

  private fireLive(id: string, ended: boolean): void {
    for (const l of [...this.liveListeners]) {
      try {
        l(id, ended);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  private fireTenant(namespace: string): void {
    for (const l of [...this.tenantListeners]) {
      try {
        l(namespace);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  private fireEnqueued(): void {
    for (const l of [...this.enqueuedListeners]) {
      try {
        l();
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  private fireCompleted(id: string, record?: ActivationRecord): void {
    for (const l of [...this.completedListeners]) {
      try {
        l(id, record);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }
}

/** An entity write ($2 = kind) that bumps the entity epoch when it changed an action or package; returns n = rows written. */
function epochWrite(s: string, write: string): string {
  return `WITH w AS (${write} RETURNING 1),
    b AS (UPDATE ${s}.entity_epoch SET v = v + 1 WHERE id = 1 AND $2 IN ('action', 'package') AND EXISTS (SELECT 1 FROM w))
    SELECT count(*)::int AS n FROM w`;
}

function statements(s: string, channels: Channels) {
  return {
    putSetting: `WITH i AS (INSERT INTO ${s}.settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value)
      SELECT value FROM i UNION ALL SELECT value FROM ${s}.settings WHERE key = $1 LIMIT 1`,
    getSetting: `SELECT value FROM ${s}.settings WHERE key = $1`,
    deleteSetting: `DELETE FROM ${s}.settings WHERE key = $1`,
    createNamespace: `INSERT INTO ${s}.namespaces (name, uuid, key_hash, subject, created, limits)
      VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    getNamespace: `SELECT * FROM ${s}.namespaces WHERE name = $1`,
    getNamespaceByUuid: `SELECT * FROM ${s}.namespaces WHERE uuid = $1`,
    listNamespaces: `SELECT * FROM ${s}.namespaces ORDER BY created, name`,
    deleteNamespace: `WITH e AS (DELETE FROM ${s}.entities WHERE namespace = $1 RETURNING 1),
      b AS (UPDATE ${s}.entity_epoch SET v = v + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM e)),
      k AS (DELETE FROM ${s}.namespace_keys WHERE namespace = $1),
      d AS (DELETE FROM ${s}.namespaces WHERE name = $1 RETURNING name),
      n AS (SELECT pg_notify('${channels.tenants}', name) FROM d)
      SELECT count(*) AS n FROM d, (SELECT count(*) FROM n) AS notified`,
    // Limits and keys change with a NOTIFY in the same statement: every node drops its cached identities at once.
    setNamespaceLimits: `WITH u AS (UPDATE ${s}.namespaces SET limits = $2 WHERE name = $1 RETURNING name),
      n AS (SELECT pg_notify('${channels.tenants}', name) FROM u)
      SELECT name FROM u, (SELECT count(*) FROM n) AS notified`,
    createKey: `WITH i AS (INSERT INTO ${s}.namespace_keys (uuid, namespace, key_hash, created)
        SELECT $1, name, $3, $4 FROM ${s}.namespaces WHERE name = $2 AND NOT EXISTS (SELECT 1 FROM ${s}.namespaces WHERE uuid = $1)
        ON CONFLICT DO NOTHING RETURNING namespace),
      n AS (SELECT pg_notify('${channels.tenants}', namespace) FROM i)
      SELECT namespace FROM i, (SELECT count(*) FROM n) AS notified`,
    sweepInsights: `WITH r AS (DELETE FROM ${s}.insights_rollup WHERE ctid IN (
        (SELECT ctid FROM ${s}.insights_rollup WHERE res IN (60000, 900000) AND t < $1 LIMIT $3)
        UNION ALL (SELECT ctid FROM ${s}.insights_rollup WHERE res = 3600000 AND t < $2 LIMIT $3)) RETURNING 1),
      h AS (DELETE FROM ${s}.insights_hist WHERE ctid IN (
        (SELECT ctid FROM ${s}.insights_hist WHERE res IN (60000, 900000) AND t < $1 LIMIT $3)
        UNION ALL (SELECT ctid FROM ${s}.insights_hist WHERE res = 3600000 AND t < $2 LIMIT $3)) RETURNING 1)
      SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM h) AS n`,
    readRollup: `SELECT t - t % $6 AS i, sum(s0) AS s0, sum(s1) AS s1, sum(s2) AS s2, sum(s3) AS s3, sum(cold) AS cold, sum(dur_sum) AS dur
      FROM ${s}.insights_rollup WHERE namespace = $1 AND fn = $2 AND res = $3 AND t >= $4 AND t < $5 GROUP BY 1 ORDER BY 1`,
    readHist: `SELECT t - t % $6 AS i, b, sum(n) AS n
      FROM ${s}.insights_hist WHERE namespace = $1 AND fn = $2 AND res = $3 AND t >= $4 AND t < $5 GROUP BY 1, 2 ORDER BY 1, 2`,
    listKeys: `SELECT uuid, created, true AS first FROM ${s}.namespaces WHERE name = $1 AND key_hash <> ''
      UNION ALL SELECT uuid, created, false AS first FROM ${s}.namespace_keys WHERE namespace = $1
      ORDER BY created, first DESC, uuid`,
    revokeKey: `WITH f AS (UPDATE ${s}.namespaces SET key_hash = '' WHERE name = $1 AND uuid = $2 AND key_hash <> '' RETURNING name),
      k AS (DELETE FROM ${s}.namespace_keys WHERE namespace = $1 AND uuid = $2 RETURNING namespace),
      a AS (SELECT name FROM f UNION ALL SELECT namespace FROM k),
      n AS (SELECT pg_notify('${channels.tenants}', name) FROM a)
      SELECT (SELECT count(*) FROM a) AS n, (SELECT count(*) FROM n) AS notified`,
    getNamespaceByKey: `SELECT name, uuid, key_hash, subject, created, limits FROM ${s}.namespaces WHERE uuid = $1 AND key_hash <> ''
      UNION ALL SELECT n.name, k.uuid, k.key_hash, n.subject, n.created, n.limits
        FROM ${s}.namespace_keys k JOIN ${s}.namespaces n ON n.name = k.namespace WHERE k.uuid = $1
      LIMIT 1`,
    // The entity epoch is read in the doc's snapshot, and bumped in the transaction of every action/package write.
    getEntity: `SELECT doc, updated, (SELECT v FROM ${s}.entity_epoch WHERE id = 1) AS epoch
      FROM ${s}.entities WHERE namespace = $1 AND kind = $2 AND name = $3`,
    getEntityCode: `SELECT doc, updated, code, (SELECT v FROM ${s}.entity_epoch WHERE id = 1) AS epoch
      FROM ${s}.entities WHERE namespace = $1 AND kind = $2 AND name = $3`,
    entityEpoch: `SELECT v FROM ${s}.entity_epoch WHERE id = 1`,
    upsertEntity: epochWrite(s, `INSERT INTO ${s}.entities (namespace, kind, name, pkg, updated, doc, code) VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (namespace, kind, name) DO UPDATE SET pkg = excluded.pkg, updated = excluded.updated, doc = excluded.doc, code = excluded.code`),
    insertEntity: epochWrite(s, `INSERT INTO ${s}.entities (namespace, kind, name, pkg, updated, doc, code) VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (namespace, kind, name) DO NOTHING`),
    updateEntity: epochWrite(s, `UPDATE ${s}.entities SET pkg = $4, updated = $5, doc = $6, code = $7
      WHERE namespace = $1 AND kind = $2 AND name = $3 AND updated = $8`),
    deleteEntity: epochWrite(s, `DELETE FROM ${s}.entities WHERE namespace = $1 AND kind = $2 AND name = $3`),
    listEntities: `SELECT doc FROM ${s}.entities WHERE namespace = $1 AND kind = $2
      ORDER BY updated DESC, name LIMIT $3 OFFSET $4`,
    listEntitiesPkg: `SELECT doc FROM ${s}.entities WHERE namespace = $1 AND kind = $2 AND pkg = $3
      ORDER BY updated DESC, name LIMIT $4 OFFSET $5`,
    countEntities: `SELECT count(*) AS n FROM ${s}.entities WHERE namespace = $1 AND kind = $2`,
    countEntitiesPkg: `SELECT count(*) AS n FROM ${s}.entities WHERE namespace = $1 AND kind = $2 AND pkg = $3`,
    // One NOTIFY per statement (listeners only need "work may be waiting"); ON CONFLICT lets the other items of a
    // coalesced batch through when one id is a duplicate.
    //
    // Admission (issue 9) in the same statement: the namespace's admission_counts row is upserted first (in
    // namespace order, so batches touching several namespaces never deadlock); a concurrent statement holding that
    // row makes this one wait and then read the row's committed values, so check and insert are one step on every
    // node. In flight = enqueued (that row, current) - done (admission_done, as of this statement's snapshot: a
    // completion committed meanwhile is not seen yet, which only errs towards refusing).
    // $6/$7 are each item's concurrent / per-minute limits (null: not admitted against limits, e.g. a sequence
    // component); of a namespace's limited items the first `admitted` (in batch order) are inserted. An id already
    // queued (or twice in the batch) is left out before counting, so the counter only counts rows it inserts.
    enqueue: `WITH t AS (SELECT DISTINCT ON (a) a, n, p, o, l, cc, cm, cb, ord
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::int[], $8::text[]) WITH ORDINALITY AS t(a, n, p, o, l, cc, cm, cb, ord)
        WHERE NOT EXISTS (SELECT 1 FROM ${s}.queue q WHERE q.activation_id = t.a) ORDER BY a, ord),
      per AS (SELECT g.*, coalesce((SELECT d.done FROM ${s}.admission_done d WHERE d.namespace = g.n), 0) AS done
        FROM (SELECT n, (count(*) FILTER (WHERE cc IS NULL))::int AS u, (count(*) FILTER (WHERE cc IS NOT NULL))::int AS k,
            coalesce(min(cc), 0) AS cc, coalesce(min(cm), 0) AS cm, floor(extract(epoch from statement_timestamp()) / 60)::bigint AS w
          FROM t GROUP BY n) AS g),
      c AS (INSERT INTO ${s}.admission_counts AS x (namespace, enqueued, minute, minute_count, admitted)
        SELECT n, done + u + adm, w, adm, adm FROM (SELECT per.*, least(k, greatest(0, cc - u), cm) AS adm FROM per) AS f ORDER BY n
        ON CONFLICT (namespace) DO UPDATE SET (enqueued, minute, minute_count, admitted) = (
          SELECT x.enqueued + per.u + a.adm, per.w, m.mc + a.adm, a.adm FROM per
            CROSS JOIN LATERAL (SELECT CASE WHEN x.minute = per.w THEN x.minute_count ELSE 0 END AS mc) AS m
            CROSS JOIN LATERAL (SELECT least(per.k, greatest(0, per.cc - (x.enqueued - per.done) - per.u), greatest(0, per.cm - m.mc)) AS adm) AS a
          WHERE per.n = x.namespace)
        RETURNING namespace, enqueued, minute_count, admitted),
      r AS (SELECT t.*, c.enqueued - per.done AS f, c.minute_count AS mc, c.admitted AS adm,
          row_number() OVER (PARTITION BY t.n, t.cc IS NULL ORDER BY t.ord) AS rk
        FROM t JOIN c ON c.namespace = t.n JOIN per ON per.n = t.n),
      i AS (INSERT INTO ${s}.queue (activation_id, namespace, state, owner, lease_until, attempts, payload, started, callback)
        SELECT a, n, CASE WHEN o IS NULL THEN 'queued' ELSE 'running' END, o, ${NOW_MS} + l, CASE WHEN o IS NULL THEN 0 ELSE 1 END, p,
          CASE WHEN o IS NULL THEN NULL ELSE ${NOW_MS} END, cb
        FROM r WHERE cc IS NULL OR rk <= adm ORDER BY ord
        ON CONFLICT (activation_id) DO NOTHING RETURNING activation_id, state),
      n AS (SELECT pg_notify('${channels.enqueued}', '') FROM (SELECT 1 FROM i WHERE state = 'queued' LIMIT 1) AS any_queued)
      SELECT array(SELECT activation_id FROM i) AS ids, (SELECT count(*) FROM n) AS notified,
        (SELECT json_agg(CASE WHEN mc - adm + rk > cm
            THEN json_build_object('a', a, 'limit', 'perMinute', 'count', mc + 1, 'allowed', cm)
            ELSE json_build_object('a', a, 'limit', 'concurrent', 'count', f + 1, 'allowed', cc) END)
          FROM r WHERE cc IS NOT NULL AND rk > adm) AS refused`,
    // A live key is left alone (nothing returned); an expired one is taken over in place.
    putKey: `INSERT INTO ${s}.idempotency_keys AS k (namespace, key, fingerprint, activation_id, expires) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (namespace, key) DO UPDATE SET fingerprint = excluded.fingerprint, activation_id = excluded.activation_id,
        expires = excluded.expires WHERE k.expires <= ${NOW_MS}
      RETURNING activation_id`,
    getKey: `SELECT fingerprint, activation_id FROM ${s}.idempotency_keys WHERE namespace = $1 AND key = $2`,
    sweepKeys: `DELETE FROM ${s}.idempotency_keys WHERE ctid IN (SELECT ctid FROM ${s}.idempotency_keys WHERE expires <= $1 LIMIT $2)`,
    // Fair claiming (issue 9): the namespaces with queued work are walked on the index (a loose index scan), each
    // locks its oldest $2 not held by another claimer (SKIP LOCKED, as a plain oldest-first claim would), and they
    // are taken round by round (each namespace's oldest, then each one's second, …; oldest first within a round), so
    // one namespace's backlog never holds back another's invocation. Rows locked but not taken are free again when
    // the statement commits; with one namespace queued this is the plain claim.
    claim: `WITH RECURSIVE ns AS (
        (SELECT namespace FROM ${s}.queue WHERE state = 'queued' ORDER BY namespace LIMIT 1)
        UNION ALL
        SELECT (SELECT q.namespace FROM ${s}.queue q WHERE q.state = 'queued' AND q.namespace > ns.namespace ORDER BY q.namespace LIMIT 1)
        FROM ns WHERE ns.namespace IS NOT NULL),
      cand AS (SELECT h.activation_id, h.seq, row_number() OVER (PARTITION BY ns.namespace ORDER BY h.seq) AS round
        FROM ns CROSS JOIN LATERAL (SELECT q.activation_id, q.seq FROM ${s}.queue q
          WHERE q.state = 'queued' AND q.namespace = ns.namespace ORDER BY q.seq LIMIT $2 FOR UPDATE SKIP LOCKED) AS h),
      c AS (SELECT activation_id FROM cand ORDER BY round, seq LIMIT $2)
      UPDATE ${s}.queue q SET state = 'running', owner = $1, lease_until = ${NOW_MS} + $3, attempts = q.attempts + 1, started = ${NOW_MS}
      FROM c WHERE q.activation_id = c.activation_id
      RETURNING q.payload, q.state, q.attempts, q.seq`,
    // Cancelling rows keep their lease while their invoker kills the run (each kind through its own partial index).
    renewLeases: `WITH c AS (UPDATE ${s}.queue SET lease_until = ${NOW_MS} + $2 WHERE state = 'cancelling' AND owner = $1)
      UPDATE ${s}.queue SET lease_until = ${NOW_MS} + $2 WHERE owner = $1 AND state = 'running'`,
    // A dead node's cancelling rows are taken over too: they end cancelled (src/cancel/), never re-run. Never the
    // caller's own rows: a live node whose renewal came late is still running them.
    takeExpired: `WITH r AS (SELECT activation_id FROM ${s}.queue WHERE state = 'running' AND lease_until < ${NOW_MS}
        AND owner IS DISTINCT FROM $1 ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED),
      x AS (SELECT activation_id FROM ${s}.queue WHERE state = 'cancelling' AND lease_until < ${NOW_MS}
        AND owner IS DISTINCT FROM $1 LIMIT $3 FOR UPDATE SKIP LOCKED),
      c AS (SELECT activation_id FROM r UNION ALL SELECT activation_id FROM x)
      UPDATE ${s}.queue q SET owner = $1, lease_until = ${NOW_MS} + $2
      FROM c WHERE q.activation_id = c.activation_id
      RETURNING q.payload, q.state, q.attempts, q.seq, q.cancel`,
    // The cancel's compare-and-set (the row lock orders it against complete's DELETE). A queued row is left unowned
    // with a short lease (its record is written by the caller; takeExpired covers a caller that died); a running one
    // keeps its owner, who hears the NOTIFY. watched: the record is then announced to every node.
    cancelInFlight: `WITH o AS (SELECT activation_id, state, payload, cancel FROM ${s}.queue
        WHERE activation_id = $2 AND namespace = $1 FOR UPDATE),
      u AS (UPDATE ${s}.queue q SET state = 'cancelling', cancel = $3, watched = true,
          owner = CASE WHEN o.state = 'running' THEN q.owner ELSE NULL END,
          lease_until = CASE WHEN o.state = 'running' THEN q.lease_until ELSE ${NOW_MS} + $4 END
        FROM o WHERE q.activation_id = o.activation_id AND o.state <> 'cancelling' RETURNING q.activation_id),
      n AS (SELECT pg_notify('${channels.cancel}', $5) FROM o WHERE o.state = 'running' AND EXISTS (SELECT 1 FROM u))
      SELECT o.state AS previous, o.payload, o.cancel, (SELECT count(*) FROM n) AS notified FROM o`,
    cancellingRows: `SELECT activation_id, cancel FROM ${s}.queue WHERE activation_id = ANY($1::text[]) AND state = 'cancelling'`,
    countInFlight: `SELECT count(*) AS n FROM ${s}.queue WHERE namespace = $1`,
    countQueued: `SELECT count(*) AS n FROM ${s}.queue WHERE state = 'queued'`,
    countInFlightUpTo: `SELECT count(*) AS n FROM (SELECT 1 FROM ${s}.queue WHERE namespace = $1 LIMIT $2) AS upto`,
    // Completions are announced only for invocations someone waits for (blocking calls, web calls, sequence
    // components): a NOTIFY serialises commits cluster-wide, and non-blocking work has no waiter to wake.
    // Invocations leaving the queue add to their namespace's admission_done row (after every delete: the GROUP BY
    // reads d to its end; in namespace order, so concurrent completes never deadlock).
    // A cancelling row is deleted only by a cancelled record ($10): the other side of the cancel's compare-and-set.
    // A record is stored when its row was deleted here, or when there was no row (a repeated write).
    complete: `WITH d AS (DELETE FROM ${s}.queue WHERE activation_id = ANY($1::text[]) AND (state <> 'cancelling' OR activation_id = ANY($10::text[]))
        RETURNING activation_id, namespace, payload, watched, callback),
      g AS (SELECT namespace, count(*) AS c FROM d GROUP BY namespace),
      dn AS (INSERT INTO ${s}.admission_done AS x (namespace, done) SELECT namespace, c FROM g ORDER BY namespace
        ON CONFLICT (namespace) DO UPDATE SET done = x.done + excluded.done),
      ok AS (SELECT t.a FROM unnest($1::text[]) AS t(a)
        WHERE t.a IN (SELECT activation_id FROM d) OR NOT EXISTS (SELECT 1 FROM ${s}.queue q WHERE q.activation_id = t.a)),
      -- Kept for replay: the invocation without the caller's key and the retry state (store-params: false, or a
      -- namespace that stores no activation data, opts out).
      p AS (INSERT INTO ${s}.activation_params (activation_id, namespace, created, payload)
        SELECT d.activation_id, d.namespace, ${NOW_MS}, (d.payload::jsonb - 'apiKey' - 'priorLogs' - 'attemptHistory')::text FROM d
        WHERE (d.payload::jsonb -> 'storeParams') IS DISTINCT FROM 'false'::jsonb
          AND (d.payload::jsonb -> 'storeActivations') IS DISTINCT FROM 'false'::jsonb
        ON CONFLICT (activation_id) DO NOTHING),
      i AS (INSERT INTO ${s}.activations (activation_id, namespace, filter_key, pkg_key, start, "end", status_code, record, cause)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::smallint[], $8::text[], $9::text[])
          AS u(a, n, k, pk, st, en, sc, rec, ca) WHERE u.a IN (SELECT a FROM ok)
        ON CONFLICT (activation_id) DO NOTHING RETURNING activation_id, namespace, filter_key, pkg_key, status_code, start),
      -- Insights rollups of the records stored: for the function and the namespace (fn ''), per minute and per hour.
      rr AS (SELECT i.namespace, i.filter_key, i.status_code, i.start, x.cold, x.dur, x.b
        FROM i JOIN unnest($1::text[], $11::int[], $12::bigint[], $13::int[]) AS x(a, cold, dur, b) ON x.a = i.activation_id),
      rf AS (SELECT rr.namespace, f.fn, g.res, rr.start - rr.start % g.res AS t, rr.status_code, rr.cold, rr.dur, rr.b
        FROM rr CROSS JOIN LATERAL (VALUES (rr.filter_key), ('')) AS f(fn) CROSS JOIN (VALUES (60000::bigint), (900000::bigint), (3600000::bigint)) AS g(res)),
      ru AS (INSERT INTO ${s}.insights_rollup AS r (namespace, fn, res, t, s0, s1, s2, s3, cold, dur_sum)
        SELECT namespace, fn, res, t, count(*) FILTER (WHERE status_code = 0), count(*) FILTER (WHERE status_code = 1),
          count(*) FILTER (WHERE status_code = 2), count(*) FILTER (WHERE status_code = 3), sum(cold), sum(dur)
        FROM rf GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (namespace, fn, res, t) DO UPDATE SET s0 = r.s0 + excluded.s0, s1 = r.s1 + excluded.s1, s2 = r.s2 + excluded.s2,
          s3 = r.s3 + excluded.s3, cold = r.cold + excluded.cold, dur_sum = r.dur_sum + excluded.dur_sum),
      rh AS (INSERT INTO ${s}.insights_hist AS h (namespace, fn, res, t, b, n)
        SELECT namespace, fn, res, t, b, count(*) FROM rf GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (namespace, fn, res, t, b) DO UPDATE SET n = h.n + excluded.n),
      -- Counters of the records stored (count=true), rows taken in one order so concurrent statements never deadlock.
      c AS (INSERT INTO ${s}.activation_counts AS k (namespace, filter_key, pkg_key, status_code, hour, n)
        SELECT namespace, filter_key, min(pkg_key), status_code, (start / 3600000) * 3600000, count(*) FROM i
        GROUP BY 1, 2, 4, 5 ORDER BY 1, 2, 4, 5
        ON CONFLICT (namespace, filter_key, status_code, hour) DO UPDATE SET n = k.n + excluded.n),
      -- The callback's outbox row commits with its record (issue 11): a crash cannot keep one without the other.
      o AS (INSERT INTO ${s}.deliveries (activation_id, namespace, url, event_type, state, step, attempts, next_at, created)
        SELECT d.activation_id, d.namespace, d.callback, t.ev, 'pending', 0, 0, ${NOW_MS}, ${NOW_MS}
        FROM d JOIN unnest($1::text[], $14::text[]) AS t(id, ev) ON t.id = d.activation_id
        WHERE d.callback IS NOT NULL
        ON CONFLICT (activation_id) DO NOTHING RETURNING 1),
      n AS (SELECT pg_notify('${channels.completed}', d.activation_id) FROM d WHERE d.watched OR (d.payload::jsonb ->> 'blocking') = 'true'),
      -- The record holds every line now: drop the live copy in the same statement and tell its followers.
      ll AS (DELETE FROM ${s}.live_logs WHERE activation_id IN (SELECT a FROM ok)),
      ls AS (DELETE FROM ${s}.live_state WHERE activation_id IN (SELECT a FROM ok) RETURNING activation_id),
      le AS (SELECT pg_notify('${channels.live}', ls.activation_id || ' end') FROM ls)
      SELECT array(SELECT activation_id FROM i) AS inserted, array(SELECT t.a FROM unnest($1::text[]) AS t(a) WHERE t.a NOT IN (SELECT a FROM ok)) AS refused,
        (SELECT count(*) FROM n) + (SELECT count(*) FROM le) AS notified,
        (SELECT count(*) FROM o) AS outboxed`,
    claimDeliveries: `WITH c AS (SELECT activation_id FROM ${s}.deliveries WHERE state = 'pending' AND next_at <= ${NOW_MS}
        AND (owner IS NULL OR lease_until < ${NOW_MS}) ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED)
      UPDATE ${s}.deliveries d SET owner = $1, lease_until = ${NOW_MS} + $3 FROM c WHERE d.activation_id = c.activation_id
      RETURNING d.activation_id, d.namespace, d.url, d.event_type, d.attempts, d.step`,
    finishDelivery: `WITH u AS (UPDATE ${s}.deliveries SET attempts = attempts + 1, state = $3,
          next_at = CASE WHEN $4::bigint IS NULL THEN NULL ELSE ${NOW_MS} + $4::bigint END, step = step + $5,
          owner = NULL, lease_until = NULL
        WHERE activation_id = $1 AND owner = $2 RETURNING attempts, next_at),
      a AS (INSERT INTO ${s}.delivery_attempts (activation_id, attempt, at, status, error, latency_ms, next_at)
        SELECT $1, u.attempts, $6, $7, $8, $9, u.next_at FROM u
        ON CONFLICT (activation_id, attempt) DO UPDATE SET at = excluded.at, status = excluded.status, error = excluded.error,
          latency_ms = excluded.latency_ms, next_at = excluded.next_at)
      SELECT attempts, next_at FROM u`,
    getDelivery: `SELECT * FROM ${s}.deliveries WHERE activation_id = $2 AND namespace = $1`,
    getAttempts: `SELECT * FROM ${s}.delivery_attempts WHERE activation_id = $1 ORDER BY attempt`,
    redeliver: `UPDATE ${s}.deliveries SET state = 'pending', step = 0, next_at = ${NOW_MS} WHERE activation_id = $2 AND namespace = $1`,
    // Deliveries another worker holds are not waited for here: their outcome sets a new next_at.
    nextDeliveryDue: `SELECT next_at - ${NOW_MS} AS wait FROM ${s}.deliveries
      WHERE state = 'pending' AND (owner IS NULL OR lease_until < ${NOW_MS}) ORDER BY next_at LIMIT 1`,
    sweepDeliveries: `WITH d AS (DELETE FROM ${s}.deliveries WHERE activation_id IN (SELECT activation_id FROM ${s}.deliveries
          WHERE state <> 'pending' AND created < $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING activation_id),
        a AS (DELETE FROM ${s}.delivery_attempts WHERE activation_id IN (SELECT activation_id FROM d))
      SELECT count(*) AS n FROM d`,
    getSecrets: `SELECT secret, previous, previous_until FROM ${s}.webhook_secrets WHERE namespace = $1`,
    ensureSecret: `WITH i AS (INSERT INTO ${s}.webhook_secrets (namespace, secret) VALUES ($1, $2) ON CONFLICT (namespace) DO NOTHING
        RETURNING secret, previous, previous_until)
      SELECT * FROM i UNION ALL SELECT secret, previous, previous_until FROM ${s}.webhook_secrets WHERE namespace = $1 LIMIT 1`,
    rotateSecret: `INSERT INTO ${s}.webhook_secrets AS w (namespace, secret) VALUES ($1, $2)
      ON CONFLICT (namespace) DO UPDATE SET previous = w.secret, previous_until = $3, secret = excluded.secret
      RETURNING secret, previous, previous_until`,
    // Only while the invocation is still queued (a late flush after the record must leave no orphan rows).
    liveAppend: `WITH q AS (SELECT 1 FROM ${s}.queue WHERE activation_id = $1 AND namespace = $2),
      l AS (INSERT INTO ${s}.live_logs (activation_id, seq, line, created)
        SELECT $1, t.seq, t.line, ${NOW_MS} FROM unnest($3::int[], $4::text[]) AS t(seq, line) WHERE EXISTS (SELECT 1 FROM q)
        ON CONFLICT DO NOTHING),
      st AS (INSERT INTO ${s}.live_state (activation_id, namespace, progress, truncated, created)
        SELECT $1, $2, $5, $6, ${NOW_MS} WHERE EXISTS (SELECT 1 FROM q)
        ON CONFLICT (activation_id) DO UPDATE SET progress = coalesce(excluded.progress, live_state.progress),
          truncated = live_state.truncated OR excluded.truncated
        RETURNING 1),
      n AS (SELECT pg_notify('${channels.live}', $1) FROM st)
      SELECT (SELECT count(*) FROM n) > 0 AS ok`,
    liveRead: `SELECT q.state,
        (SELECT json_agg(json_build_object('seq', l.seq, 'line', l.line) ORDER BY l.seq) FROM ${s}.live_logs l
          WHERE l.activation_id = $1 AND l.seq > $3) AS lines,
        st.progress, st.truncated
      FROM ${s}.queue q LEFT JOIN ${s}.live_state st ON st.activation_id = q.activation_id
      WHERE q.activation_id = $1 AND q.namespace = $2`,
    liveSweepLines: `DELETE FROM ${s}.live_logs WHERE created < $1`,
    liveSweepState: `DELETE FROM ${s}.live_state WHERE created < $1`,
    getInFlight: `SELECT state, started, payload, cancel, not_before FROM ${s}.queue WHERE activation_id = $2 AND namespace = $1`,
    watchInFlight: `UPDATE ${s}.queue SET watched = true WHERE activation_id = $2 AND namespace = $1 RETURNING state, started, payload, cancel, not_before`,
    listInFlight: `SELECT state, started, payload, cancel, not_before FROM ${s}.queue WHERE namespace = $1 AND state = ANY($2::text[])`,
    // A failed attempt with attempts left waits, unowned, until not_before (src/retries/).
    scheduleRetry: `UPDATE ${s}.queue SET state = 'retrying', owner = NULL, lease_until = NULL, not_before = $3, payload = $4
      WHERE activation_id = $1 AND owner = $2 AND state = 'running'`,
    promoteRetries: `WITH u AS (UPDATE ${s}.queue SET state = 'queued', not_before = NULL WHERE state = 'retrying' AND not_before <= $1 RETURNING 1),
      n AS (SELECT pg_notify('${channels.enqueued}', '') FROM (SELECT 1 FROM u LIMIT 1) AS any_promoted)
      SELECT (SELECT count(*) FROM u) AS promoted, (SELECT count(*) FROM n) AS notified`,
    getParams: `SELECT payload FROM ${s}.activation_params WHERE activation_id = $2 AND namespace = $1`,
    sweepParams: `DELETE FROM ${s}.activation_params WHERE ctid IN
      (SELECT ctid FROM ${s}.activation_params WHERE created < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    getActivation: `SELECT record FROM ${s}.activations WHERE activation_id = $2 AND namespace = $1`,
    // Small batches by ctid with SKIP LOCKED: never a long table lock, and two sweeping nodes do not wait on each other.
    sweep: `WITH d AS (DELETE FROM ${s}.activations WHERE ctid IN
        (SELECT ctid FROM ${s}.activations WHERE start + 0 < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING namespace, filter_key, pkg_key, status_code, start),
      c AS (INSERT INTO ${s}.activation_counts AS k (namespace, filter_key, pkg_key, status_code, hour, n)
        SELECT namespace, filter_key, min(pkg_key), status_code, (start / 3600000) * 3600000, -count(*) FROM d
        GROUP BY 1, 2, 4, 5 ORDER BY 1, 2, 4, 5
        ON CONFLICT (namespace, filter_key, status_code, hour) DO UPDATE SET n = k.n + excluded.n)
      SELECT count(*) AS n FROM d`,
    pruneCounts: `DELETE FROM ${s}.activation_counts WHERE n <= 0 AND hour < $1`,
  };
}

/**
 * The WHERE clause for an activation filter. Each filter shape gets its own statement text (and prepared statement),
 * so every shape has a plan that uses its index even once PostgreSQL switches a prepared statement to a generic plan.
 * `either`: a name without "/" — the caller adds "filter_key = $2" or "pkg_key = $2" (function or package).
 */
function activationWhere(f: Omit<ActivationListFilter, 'limit' | 'skip'>): { shape: string; sql: string; values: unknown[]; either: boolean } {
  const values: unknown[] = [f.namespace];
  const parts = ['namespace = $1'];
  let shape = '';
  let either = false;
  if (f.name) {
    values.push(f.name);
    if (f.name.includes('/')) {
      shape += 'k';
      parts.push('filter_key = $2');
    } else {
      shape += 'p';
      either = true;
    }
  }
  if (f.since !== undefined) {
    values.push(f.since);
    shape += 's';
    parts.push(`start >= $${values.length}`);
  }
  if (f.upto !== undefined) {
    values.push(f.upto);
    shape += 'u';
    parts.push(`start <= $${values.length}`);
  }
  if (f.statusCodes?.length === 1) {
    values.push(f.statusCodes[0]);
    shape += 'c';
    parts.push(`status_code = $${values.length}`);
  } else if (f.statusCodes?.length) {
    values.push(f.statusCodes);
    shape += 'C';
    parts.push(`status_code = ANY($${values.length}::smallint[])`);
  }
  if (f.cause !== undefined) {
    values.push(f.cause);
    shape += 'q';
    parts.push(`cause = $${values.length}`);
  }
  if (f.after) {
    values.push(f.after.start, f.after.activationId);
    shape += 'a';
    parts.push(`(start, activation_id) < ($${values.length - 1}::bigint, $${values.length}::text)`);
  }
  return { shape: shape || 'all', sql: parts.join(' AND '), values, either };
}

function toNamespace(row: Row): NamespaceRow {
  const ns: NamespaceRow = {
    name: String(row.name),
    uuid: String(row.uuid),
    keyHash: String(row.key_hash),
    subject: String(row.subject),
    created: Number(row.created),
  };
  if (row.limits !== null && row.limits !== undefined) ns.limits = JSON.parse(String(row.limits));
  return ns;
}

function toClaimed(rows: Row[]): ClaimedInvocation[] {
  // RETURNING has no order: restore the queue order.
  return rows
    .map((row) => ({ row, seq: Number(row.seq) }))
    .sort((a, b) => a.seq - b.seq)
    .map(({ row }) => {
      const cancel = row.state === 'cancelling' ? parseCancel(row.cancel) : undefined;
      return {
        ...(JSON.parse(String(row.payload)) as Invocation),
        state: row.state as ClaimedInvocation['state'],
        attempts: Number(row.attempts),
        ...(cancel ? { cancel } : {}),
      };
    });
}

/** exec with `code` put back after `kind` (the wire order kind, code, main?, binary). */
function withCodeField(exec: Record<string, unknown>, code: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let placed = false;
  for (const [k, v] of Object.entries(exec)) {
    out[k] = v;
    if (k === 'kind') {
      out.code = code;
      placed = true;
    }
  }
  if (!placed) out.code = code;
  return out;
}
