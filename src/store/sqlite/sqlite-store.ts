// The embedded Store: one SQLite file (better-sqlite3, WAL). A commit is durable against a process crash (kill -9)
// once the call returns; FLARE_SQLITE_SYNCHRONOUS=FULL also makes it durable against power loss, at a cost per write.
import Database from 'better-sqlite3';
import { rollupOf } from '../../insights/rollup.js';
import type { InsightsQuery, InsightsRows } from '../store.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { EventEmitter } from 'node:events';
import type {
  ActivationListFilter,
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
} from '../../types.js';
import {
  activationFilterKey,
  EPOCH_KINDS,
  type ActivationSummary,
  type AdmissionLimits,
  type AdmissionOutcome,
  type CancelOutcome,
  terminalEvent,
  type DeliveryAttempt,
  type DeliveryJob,
  type DeliveryOutcome,
  type DeliveryView,
  type WebhookSecrets,
  type EnqueueClaim,
  type IdempotencyKeyRow,
  type IdempotencyOutcome,
  type IdempotencyKeyOutcome,
  type LiveLogs,
  type LiveLogsAppend,
  type PutEntityOptions,
  type Store,
  type StoredEntity,
} from '../store.js';
import { ACTIVATION_COLUMNS, ACTIVATION_INDEXES, FILL_ACTIVATION_COUNTS, SCHEMA } from './schema.js';
import { countDeltas, planCount, type CountDelta, type CountFilter } from '../activation-counts.js';
import { listByStatuses } from '../activation-pages.js';
import { ADDED_COLUMNS, ADDED_INDEXES } from './schema.js';
import { filterInFlight, inFlightEntry } from '../in-flight-entry.js';
import { toSummary } from '../summary.js';
import { Checkpointer } from './checkpointer.js';
import { asCancelled, isCancelledRecord, parseCancel } from '../../cancel/cancelled-record.js';
import { attemptOf, deliveryView, secretsOf } from '../delivery-rows.js';

type Row = Record<string, any>;

interface EnqueueItem {
  inv: Invocation;
  claim?: EnqueueClaim;
  limits?: AdmissionLimits;
}

/** What one transaction added to the in-memory counts; applied only once it committed. */
interface Tally {
  inFlight: Map<string, number>;
  minute: Map<string, number>;
}

const ADMITTED: AdmissionOutcome = { admitted: true };
const newTally = (): Tally => ({ inFlight: new Map(), minute: new Map() });
const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);

export async function openSqliteStore(path: string, opts: { synchronous?: 'NORMAL' | 'FULL' } = {}): Promise<Store> {
  const store = new SqliteStore(path, opts.synchronous ?? (process.env.FLARE_SQLITE_SYNCHRONOUS === 'FULL' ? 'FULL' : 'NORMAL'));
  await store.init();
  return store;
}

/** How often a server checks whether another process (the admin CLI) changed limits or keys. */
const TENANT_POLL_MS = 500;

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly supportsClaimOnEnqueue = true;
  private readonly db: Database.Database;
  private readonly events = new EventEmitter();
  private readonly st: Record<string, Database.Statement>;
  private readonly checkpointer?: Checkpointer;
  private readonly idempotentTx: Database.Transaction<(key: IdempotencyKeyRow, item: EnqueueItem | undefined, tally: Tally) => IdempotencyOutcome>;
  private readonly enqueueTx: (items: EnqueueItem[], tally: Tally) => AdmissionOutcome[];
  /** Activations with live rows (one node owns a SQLite file): complete() deletes only theirs. */
  private readonly liveIds = new Set<string>();
  private liveEnded: string[] = [];
  /** complete() wrote an outbox row: tell the delivery worker after the commit. */
  private deliveriesDue = false;
  private readonly liveTx: (namespace: string, id: string, b: LiveLogsAppend) => void;
  private readonly sweepTx: (before: number, batch: number) => number;
  private readonly claimTx: (owner: string, max: number, leaseMs: number) => Row[];
  private readonly completeTx: (records: ActivationRecord[]) => Array<{ record: ActivationRecord; wasQueued: boolean; stored: boolean }>;
  private readonly cancelTx: Database.Transaction<(namespace: string, id: string, cancel: CancelRequest, holdMs: number) => CancelOutcome | undefined>;
  /**
   * Queued + running invocations per namespace, read from the table once and then kept in step with enqueue and
   * complete (one node owns a SQLite file), so the concurrency throttle costs no scan of a long backlog.
   */
  private readonly inFlight = new Map<string, number>();
  /**
   * Invocations admitted with limits per namespace in the current minute window (`minuteWindow`). Kept in memory:
   * one node owns the file, and a restart starts a fresh window, as OpenWhisk's controller does.
   */
  private readonly minuteCounts = new Map<string, number>();
  private minuteWindow = 0;
  private tenantPoll: NodeJS.Timeout | undefined;
  private readonly statements = new Map<string, Database.Statement>();
  /** The earliest not_before of the retrying rows (undefined: none). */
  private nextRetryDue: number | undefined;
  /** Enqueues arriving in the same event-loop turn share one commit (group commit). */
  private pendingEnqueue: Array<EnqueueItem & { resolve: (out: AdmissionOutcome) => void; reject: (e: unknown) => void }> = [];

  constructor(path: string, synchronous: 'NORMAL' | 'FULL') {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = OFF');
    // 64 MB of page cache (the default is 2 MB): index pages of millions of records stay in memory.
    this.db.pragma('cache_size = -65536');
    if (path !== ':memory:') {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new Checkpointer(path);
    }
    this.db.exec(SCHEMA);
    const cols = this.db.prepare('PRAGMA table_info(activations)').all() as Array<{ name: string }>;
    if (!cols.some((c) => c.name === 'status_code')) this.db.transaction(() => this.db.exec(ACTIVATION_COLUMNS))();
    this.db.exec(ACTIVATION_INDEXES);
    if (!this.db.prepare("SELECT 1 FROM settings WHERE key = 'activation_counts_filled'").get()) {
      this.db.transaction(() => this.db.exec(FILL_ACTIVATION_COUNTS))();
    }
    for (const c of ADDED_COLUMNS) {
      const cols = this.db.prepare(`PRAGMA table_info(${c.table})`).all() as Row[];
      if (!cols.some((r) => r.name === c.column)) this.db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.type}`);
    }
    this.db.exec(ADDED_INDEXES);
    this.events.setMaxListeners(0);
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      getSetting: p('SELECT value FROM settings WHERE key = ?'),
      putSetting: p('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)'),
      delSetting: p('DELETE FROM settings WHERE key = ?'),
      insNs: p('INSERT OR IGNORE INTO namespaces (name, uuid, key_hash, subject, created, limits) VALUES (?, ?, ?, ?, ?, ?)'),
      getNs: p('SELECT * FROM namespaces WHERE name = ?'),
      getNsUuid: p('SELECT * FROM namespaces WHERE uuid = ?'),
      listNs: p('SELECT * FROM namespaces ORDER BY created, name'),
      delNs: p('DELETE FROM namespaces WHERE name = ?'),
      delNsEntities: p('DELETE FROM entities WHERE namespace = ?'),
      getEnt: p('SELECT doc, updated, (SELECT v FROM entity_epoch WHERE id = 1) AS epoch FROM entities WHERE namespace = ? AND kind = ? AND name = ?'),
      getEntCode: p('SELECT doc, code, updated, (SELECT v FROM entity_epoch WHERE id = 1) AS epoch FROM entities WHERE namespace = ? AND kind = ? AND name = ?'),
      epoch: p('SELECT v FROM entity_epoch WHERE id = 1'),
      bumpEpoch: p('UPDATE entity_epoch SET v = v + 1 WHERE id = 1'),
      rollup: p(`INSERT INTO insights_rollup (namespace, fn, res, t, s0, s1, s2, s3, cold, dur_sum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (namespace, fn, res, t) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2,
          s3 = s3 + excluded.s3, cold = cold + excluded.cold, dur_sum = dur_sum + excluded.dur_sum`),
      rollupHist: p(`INSERT INTO insights_hist (namespace, fn, res, t, b, n) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (namespace, fn, res, t, b) DO UPDATE SET n = n + excluded.n`),
      readRollup: p(`SELECT t - t % @step AS i, sum(s0) AS s0, sum(s1) AS s1, sum(s2) AS s2, sum(s3) AS s3, sum(cold) AS cold, sum(dur_sum) AS dur
        FROM insights_rollup WHERE namespace = @ns AND fn = @fn AND res = @res AND t >= @from AND t < @to GROUP BY i ORDER BY i`),
      readHist: p(`SELECT t - t % @step AS i, b, sum(n) AS n
        FROM insights_hist WHERE namespace = @ns AND fn = @fn AND res = @res AND t >= @from AND t < @to GROUP BY i, b ORDER BY i, b`),
      sweepRollup: p(`DELETE FROM insights_rollup WHERE (namespace, fn, res, t) IN (
        SELECT namespace, fn, res, t FROM insights_rollup WHERE res IN (60000, 900000) AND t < @m
        UNION ALL SELECT namespace, fn, res, t FROM insights_rollup WHERE res = 3600000 AND t < @h LIMIT @n)`),
      sweepHist: p(`DELETE FROM insights_hist WHERE (namespace, fn, res, t, b) IN (
        SELECT namespace, fn, res, t, b FROM insights_hist WHERE res IN (60000, 900000) AND t < @m
        UNION ALL SELECT namespace, fn, res, t, b FROM insights_hist WHERE res = 3600000 AND t < @h LIMIT @n)`),
      delNsKeys: p('DELETE FROM namespace_keys WHERE namespace = ?'),
      setNsLimits: p('UPDATE namespaces SET limits = ? WHERE name = ?'),
      insKey: p(`INSERT OR IGNORE INTO namespace_keys (uuid, namespace, key_hash, created)
        SELECT ?, name, ?, ? FROM namespaces WHERE name = ? AND NOT EXISTS (SELECT 1 FROM namespaces WHERE uuid = ?)`),
      listKeys: p(`SELECT uuid, created, 1 AS first FROM namespaces WHERE name = ? AND key_hash <> ''
        UNION ALL SELECT uuid, created, 0 AS first FROM namespace_keys WHERE namespace = ? ORDER BY created, first DESC, uuid`),
      revokeFirstKey: p(`UPDATE namespaces SET key_hash = '' WHERE name = ? AND uuid = ? AND key_hash <> ''`),
      revokeKey: p('DELETE FROM namespace_keys WHERE namespace = ? AND uuid = ?'),
      getNsKey: p('SELECT n.name, k.uuid, k.key_hash, n.subject, n.created, n.limits FROM namespace_keys k JOIN namespaces n ON n.name = k.namespace WHERE k.uuid = ?'),
      insEnt: p('INSERT OR IGNORE INTO entities (namespace, kind, name, pkg, doc, code, updated) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      replEnt: p('INSERT OR REPLACE INTO entities (namespace, kind, name, pkg, doc, code, updated) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      updEnt: p('UPDATE entities SET doc = ?, code = ?, updated = ? WHERE namespace = ? AND kind = ? AND name = ? AND updated = ?'),
      delEnt: p('DELETE FROM entities WHERE namespace = ? AND kind = ? AND name = ?'),
      enqueue: p('INSERT INTO queue (activation_id, namespace, state, owner, lease_until, attempts, payload, started, callback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      claim: p(
        `UPDATE queue SET state = 'running', owner = ?, lease_until = ?, attempts = attempts + 1, started = ?
         WHERE seq IN (SELECT seq FROM queue WHERE state = 'queued' ORDER BY seq LIMIT ?)
         RETURNING seq, payload, attempts`,
      ),
      // Fair claiming: the next namespace (in name order) with queued work, and a namespace's oldest queued rows.
      nextQueuedNs: p(`SELECT namespace FROM queue INDEXED BY queue_queued_by_ns WHERE state = 'queued' AND namespace > ?
         ORDER BY namespace LIMIT 1`).pluck(),
      queuedOf: p(`SELECT seq FROM queue INDEXED BY queue_queued_by_ns WHERE state = 'queued' AND namespace = ?
         ORDER BY seq LIMIT ?`).pluck(),
      claimSeqs: p(
        `UPDATE queue SET state = 'running', owner = ?, lease_until = ?, attempts = attempts + 1, started = ?
         WHERE seq IN (SELECT value FROM json_each(?)) AND state = 'queued'
         RETURNING seq, payload, attempts`,
      ),
      renew: p("UPDATE queue SET lease_until = ? WHERE owner = ? AND state IN ('running', 'cancelling')"),
      // A dead node's cancelling rows too: they end cancelled (src/cancel/), never re-run. Never the caller's own.
      takeExpired: p(
        `UPDATE queue SET owner = ?, lease_until = ?
         WHERE seq IN (SELECT seq FROM queue WHERE state IN ('running', 'cancelling') AND lease_until < ? AND owner IS NOT ? ORDER BY seq LIMIT ?)
         RETURNING seq, payload, attempts, state, cancel`,
      ),
      cancelRow: p('SELECT state, payload, cancel FROM queue WHERE activation_id = ? AND namespace = ?'),
      cancelRunning: p("UPDATE queue SET state = 'cancelling', cancel = ? WHERE activation_id = ?"),
      cancelQueued: p("UPDATE queue SET state = 'cancelling', cancel = ?, owner = NULL, lease_until = ? WHERE activation_id = ?"),
      inFlight: p('SELECT count(*) AS n FROM queue WHERE namespace = ?'),
      countQueued: p("SELECT count(*) AS n FROM queue WHERE state = 'queued'"),
      getInFlight: p('SELECT state, started, payload, cancel, not_before FROM queue WHERE activation_id = ? AND namespace = ?'),
      listInFlight: p('SELECT state, started, payload, cancel, not_before FROM queue WHERE namespace = ?'),
      dequeue: p('DELETE FROM queue WHERE activation_id = ? RETURNING state, cancel, callback'),
      // A failed attempt with attempts left: the row waits, unowned, until not_before (src/retries/).
      scheduleRetry: p(
        `UPDATE queue SET state = 'retrying', owner = NULL, lease_until = NULL, not_before = ?, payload = ?
         WHERE activation_id = ? AND owner = ? AND state = 'running'`,
      ),
      promoteRetries: p("UPDATE queue SET state = 'queued', not_before = NULL WHERE state = 'retrying' AND not_before <= ?"),
      nextRetry: p("SELECT min(not_before) AS due FROM queue WHERE state = 'retrying'"),
      // Kept for replay: the invocation without the caller's key and the retry state (store-params: false, or a
      // namespace that stores no activation data, opts out).
      saveParams: p(
        `INSERT OR IGNORE INTO activation_params (activation_id, namespace, created, payload)
         SELECT activation_id, namespace, ?, json_remove(payload, '$.apiKey', '$.priorLogs', '$.attemptHistory')
         FROM queue WHERE activation_id = ? AND json_extract(payload, '$.storeParams') IS NOT 0
           AND json_extract(payload, '$.storeActivations') IS NOT 0`,
      ),
      getParams: p('SELECT payload FROM activation_params WHERE activation_id = ? AND namespace = ?'),
      sweepParams: p('DELETE FROM activation_params WHERE rowid IN (SELECT rowid FROM (SELECT rowid, created FROM activation_params ORDER BY rowid LIMIT ?) WHERE created < ?)'),
      insDelivery: p(`INSERT OR IGNORE INTO deliveries (activation_id, namespace, url, event_type, state, step, attempts, next_at, created)
        VALUES (?, ?, ?, ?, 'pending', 0, 0, ?, ?)`),
      claimDeliveries: p(`UPDATE deliveries SET owner = ?, lease_until = ?
        WHERE activation_id IN (SELECT activation_id FROM deliveries WHERE state = 'pending' AND next_at <= ?
          AND (owner IS NULL OR lease_until < ?) ORDER BY next_at LIMIT ?)
        RETURNING activation_id, namespace, url, event_type, attempts, step`),
      finishDelivery: p(`UPDATE deliveries SET attempts = attempts + 1, state = ?, next_at = ?, step = step + ?, owner = NULL, lease_until = NULL
        WHERE activation_id = ? AND owner = ? RETURNING attempts`),
      insAttempt: p('INSERT OR REPLACE INTO delivery_attempts (activation_id, attempt, at, status, error, latency_ms, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      getDelivery: p('SELECT * FROM deliveries WHERE activation_id = ? AND namespace = ?'),
      getAttempts: p('SELECT * FROM delivery_attempts WHERE activation_id = ? ORDER BY attempt'),
      redeliver: p(`UPDATE deliveries SET state = 'pending', step = 0, next_at = ? WHERE activation_id = ? AND namespace = ?`),
      nextDue: p(`SELECT next_at AS t FROM deliveries WHERE state = 'pending' AND (owner IS NULL OR lease_until < ?) ORDER BY next_at LIMIT 1`),
      sweepDeliveries: p(`DELETE FROM deliveries WHERE activation_id IN (SELECT activation_id FROM deliveries
        WHERE state <> 'pending' AND created < ? LIMIT ?) RETURNING activation_id`),
      delAttempts: p('DELETE FROM delivery_attempts WHERE activation_id = ?'),
      getSecrets: p('SELECT secret, previous, previous_until FROM webhook_secrets WHERE namespace = ?'),
      insSecret: p('INSERT OR IGNORE INTO webhook_secrets (namespace, secret) VALUES (?, ?)'),
      rotateSecret: p(`INSERT INTO webhook_secrets (namespace, secret) VALUES (?, ?)
        ON CONFLICT (namespace) DO UPDATE SET previous = secret, previous_until = ?, secret = excluded.secret`),
      insAct: p('INSERT OR IGNORE INTO activations (activation_id, namespace, filter_key, start, record, status_code, cause) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      getAct: p('SELECT record FROM activations WHERE activation_id = ? AND namespace = ?'),
      // Records are appended in completion order, so the oldest sit at the front of the rowid order: a sweep deletes
      // the expired ones among the first `batch` rows, needing no index on start. A record that ran long is swept
      // once the records before it are: late by at most the longest run, never early.
      liveLine: p('INSERT OR IGNORE INTO live_logs (activation_id, seq, line, created) VALUES (?, ?, ?, ?)'),
      liveState: p(`INSERT INTO live_state (activation_id, namespace, progress, truncated, created) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (activation_id) DO UPDATE SET progress = coalesce(excluded.progress, progress), truncated = max(truncated, excluded.truncated)`),
      liveLines: p('SELECT seq, line FROM live_logs WHERE activation_id = ? AND seq > ? ORDER BY seq'),
      liveGetState: p('SELECT progress, truncated FROM live_state WHERE activation_id = ? AND namespace = ?'),
      queueState: p('SELECT state FROM queue WHERE activation_id = ? AND namespace = ?'),
      liveDelLines: p('DELETE FROM live_logs WHERE activation_id = ?'),
      liveDelState: p('DELETE FROM live_state WHERE activation_id = ?'),
      liveSweepLines: p('DELETE FROM live_logs WHERE created < ?'),
      liveSweepState: p('DELETE FROM live_state WHERE created < ?'),
      getKey: p('SELECT fingerprint, activation_id FROM idempotency_keys WHERE namespace = ? AND key = ? AND expires > ?'),
      putKey: p('INSERT OR REPLACE INTO idempotency_keys (namespace, key, fingerprint, activation_id, expires) VALUES (?, ?, ?, ?, ?)'),
      sweepKeys: p('DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires <= ? LIMIT ?)'),
      sweep: p(`DELETE FROM activations WHERE rowid IN (SELECT rowid FROM (SELECT rowid, start FROM activations ORDER BY rowid LIMIT ?) WHERE start < ?)
        RETURNING namespace, filter_key, status_code, start`),
      addCount: p(`INSERT INTO activation_counts (namespace, filter_key, status_code, hour, n) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (namespace, filter_key, status_code, hour) DO UPDATE SET n = n + excluded.n`),
      pruneCounts: p('DELETE FROM activation_counts WHERE n <= 0'),
    };
    this.nextRetryDue = (this.st.nextRetry!.get() as Row).due ?? undefined;
    // Admission runs inside the writing transaction, on counts that include every earlier commit and this batch's
    // earlier rows: the check and the insert of one invocation cannot be separated by another's.
    this.enqueueTx = this.db.transaction((items: EnqueueItem[], tally: Tally): AdmissionOutcome[] => {
      const now = Date.now();
      return items.map(({ inv, claim, limits }) => {
        const ns = inv.namespace;
        const inFlight = this.inFlightBase(ns) + (tally.inFlight.get(ns) ?? 0);
        if (limits) {
          const minute = this.minuteCount(ns, now) + (tally.minute.get(ns) ?? 0);
          if (minute >= limits.perMinute) return { admitted: false, limit: 'perMinute', count: minute + 1, allowed: limits.perMinute };
          if (inFlight >= limits.concurrent) return { admitted: false, limit: 'concurrent', count: inFlight + 1, allowed: limits.concurrent };
        }
        this.st.enqueue!.run(
          inv.activationId,
          inv.namespace,
          claim ? 'running' : 'queued',
          claim?.owner ?? null,
          claim ? now + claim.leaseMs : null,
          claim ? 1 : 0,
          JSON.stringify(inv),
          claim ? now : null,
          inv.callbackUrl ?? null,
        );
        bump(tally.inFlight, ns);
        if (limits) bump(tally.minute, ns);
        return ADMITTED;
      });
    });
    this.sweepTx = this.db.transaction((before: number, batch: number): number => {
      const gone = this.st.sweep!.all(batch, before) as Row[];
      if (gone.length === 0) return 0;
      this.addCounts(countDeltas(gone.map((g) => ({ namespace: g.namespace, filterKey: g.filter_key, statusCode: g.status_code ?? 0, start: g.start })), -1));
      if (gone.length < batch) this.st.pruneCounts!.run();
      return gone.length;
    });
    // Fair claiming (issue 9): with several namespaces queued, each one's oldest goes first, then each one's second,
    // and so on (oldest first within a round), so one namespace's backlog never holds back another's invocation.
    // One namespace queued (the common case): oldest first, as a single statement.
    this.claimTx = this.db.transaction((owner: string, max: number, leaseMs: number): Row[] => {
      const now = Date.now();
      const names: string[] = [];
      for (let n = this.st.nextQueuedNs!.get('') as string | undefined; n !== undefined; n = this.st.nextQueuedNs!.get(n) as string | undefined) {
        names.push(n);
      }
      if (names.length <= 1) return this.st.claim!.all(owner, now + leaseMs, now, max) as Row[];
      const picks: Array<{ seq: number; round: number }> = [];
      for (const n of names) (this.st.queuedOf!.all(n, max) as number[]).forEach((seq, round) => picks.push({ seq, round }));
      picks.sort((a, b) => a.round - b.round || a.seq - b.seq);
      const seqs = picks.slice(0, max).map((x) => x.seq);
      return this.st.claimSeqs!.all(owner, now + leaseMs, now, JSON.stringify(seqs)) as Row[];
    });
    this.liveTx = this.db.transaction((namespace: string, id: string, b: LiveLogsAppend) => {
      const now = Date.now();
      b.lines.forEach((line, i) => this.st.liveLine!.run(id, b.firstSeq + i, line, now));
      this.st.liveState!.run(id, namespace, b.progress ?? null, b.truncated ? 1 : 0, now);
    });
    // A live key wins; an expired one is replaced (the sweep may not have reached it yet).
    this.idempotentTx = this.db.transaction((key: IdempotencyKeyRow, item: EnqueueItem | undefined, tally: Tally): IdempotencyOutcome => {
      const found = this.st.getKey!.get(key.namespace, key.key, Date.now()) as Row | undefined;
      if (found) return { stored: false, activationId: found.activation_id, fingerprint: found.fingerprint };
      if (item) {
        const [out] = this.enqueueTx([item], tally);
        if (!out!.admitted) {
          const { admitted: _, ...refused } = out!;
          return { stored: false, refused };
        }
      }
      this.st.putKey!.run(key.namespace, key.key, key.fingerprint, key.activationId, key.expires);
      return { stored: true };
    });
    this.completeTx = this.db.transaction((recs: ActivationRecord[]) => {
      const done: Array<{ record: ActivationRecord; wasQueued: boolean; stored: boolean }> = [];
      const counted: Array<{ namespace: string; filterKey: string; statusCode: number; start: number }> = [];
      const now = Date.now();
      for (let r of recs) {
        this.st.saveParams!.run(now, r.activationId);
        const queued = this.st.dequeue!.get(r.activationId) as Row | undefined;
        const wasQueued = queued !== undefined;
        // The cancel won the compare-and-set: whatever record comes is stored in its cancelled form.
        if (queued?.state === 'cancelling' && !isCancelledRecord(r)) {
          const cancel = parseCancel(queued.cancel);
          if (cancel) r = asCancelled(r, cancel);
        }
        const filterKey = activationFilterKey(r);
        const stored = this.st.insAct!.run(r.activationId, r.namespace, filterKey, r.start, JSON.stringify(r), r.statusCode, r.cause ?? null).changes === 1;
        if (stored) counted.push({ namespace: r.namespace, filterKey, statusCode: r.statusCode, start: r.start });
        // The callback's outbox row commits with its record: a crash cannot keep one without the other.
        if (stored && queued?.callback) {
          const now = Date.now();
          this.st.insDelivery!.run(r.activationId, r.namespace, queued.callback, terminalEvent(r), now, now);
          this.deliveriesDue = true;
        }
        // The record holds every line now: drop the live copy in the same transaction (only runs that have one).
        if (this.liveIds.delete(r.activationId)) {
          this.st.liveDelLines!.run(r.activationId);
          this.st.liveDelState!.run(r.activationId);
          this.liveEnded.push(r.activationId);
        }
        done.push({ record: r, wasQueued, stored });
      }
      this.addCounts(countDeltas(counted, 1));
      const { rows, hist } = rollupOf(done.filter((d) => d.stored).map((d) => d.record));
      for (const r of rows) this.st.rollup!.run(r.namespace, r.fn, r.res, r.t, r.s[0], r.s[1], r.s[2], r.s[3], r.cold, r.durSum);
      for (const h of hist) this.st.rollupHist!.run(h.namespace, h.fn, h.res, h.t, h.b, h.n);
      return done;
    });
    this.cancelTx = this.db.transaction((namespace: string, id: string, cancel: CancelRequest, holdMs: number): CancelOutcome | undefined => {
      const row = this.st.cancelRow!.get(id, namespace) as Row | undefined;
      if (!row) return undefined;
      const invocation = JSON.parse(row.payload) as Invocation;
      const previous = row.state as CancelOutcome['previous'];
      if (previous === 'cancelling') return { previous, invocation, cancel: parseCancel(row.cancel) ?? cancel };
      const text = JSON.stringify(cancel);
      if (previous === 'running') this.st.cancelRunning!.run(text, id);
      else this.st.cancelQueued!.run(text, Date.now() + holdMs, id);
      return { previous, invocation, cancel };
    });
  }

  async init(): Promise<void> {
    // Schema is applied in the constructor (synchronous, idempotent).
  }

  async close(): Promise<void> {
    if (this.tenantPoll) clearInterval(this.tenantPoll);
    this.events.removeAllListeners();
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }

  // ---- settings ----
  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    this.st.putSetting!.run(key, value);
    return (this.st.getSetting!.get(key) as Row).value;
  }
  async getSetting(key: string): Promise<string | undefined> {
    return (this.st.getSetting!.get(key) as Row | undefined)?.value;
  }
  async deleteSetting(key: string): Promise<void> {
    this.st.delSetting!.run(key);
  }

  // ---- namespaces ----
  async createNamespace(row: NamespaceRow): Promise<boolean> {
    const r = this.st.insNs!.run(row.name, row.uuid, row.keyHash, row.subject, row.created, row.limits ? JSON.stringify(row.limits) : null);
    return r.changes === 1;
  }
  async getNamespace(name: string): Promise<NamespaceRow | undefined> {
    return nsRow(this.st.getNs!.get(name) as Row | undefined);
  }
  async getNamespaceByUuid(uuid: string): Promise<NamespaceRow | undefined> {
    return nsRow(this.st.getNsUuid!.get(uuid) as Row | undefined);
  }
  async listNamespaces(): Promise<NamespaceRow[]> {
    return (this.st.listNs!.all() as Row[]).map((r) => nsRow(r)!);
  }
  async deleteNamespace(name: string): Promise<boolean> {
    const deleted = this.db.transaction(() => {
      if (this.st.delNsEntities!.run(name).changes > 0) this.st.bumpEpoch!.run();
      this.st.delNsKeys!.run(name);
      return this.st.delNs!.run(name).changes === 1;
    })();
    if (deleted) this.tenantChanged(name);
    return deleted;
  }
  async setNamespaceLimits(name: string, limits: Partial<NamespaceLimits> | undefined): Promise<boolean> {
    const ok = this.st.setNsLimits!.run(limits && Object.keys(limits).length ? JSON.stringify(limits) : null, name).changes === 1;
    if (ok) this.tenantChanged(name);
    return ok;
  }

  // ---- keys ----
  async createKey(namespace: string, key: { uuid: string; keyHash: string; created: number }): Promise<boolean> {
    const ok = this.st.insKey!.run(key.uuid, key.keyHash, key.created, namespace, key.uuid).changes === 1;
    if (ok) this.tenantChanged(namespace);
    return ok;
  }
  async listKeys(namespace: string): Promise<NamespaceKey[]> {
    return (this.st.listKeys!.all(namespace, namespace) as Row[]).map((r) => ({ uuid: r.uuid, created: r.created, first: r.first === 1 }));
  }
  async revokeKey(namespace: string, uuid: string): Promise<boolean> {
    const ok = this.db.transaction(() => this.st.revokeFirstKey!.run(namespace, uuid).changes + this.st.revokeKey!.run(namespace, uuid).changes > 0)();
    if (ok) this.tenantChanged(namespace);
    return ok;
  }
  async getNamespaceByKey(uuid: string): Promise<NamespaceRow | undefined> {
    const first = nsRow(this.st.getNsUuid!.get(uuid) as Row | undefined);
    if (first) return first.keyHash ? first : undefined;
    return nsRow(this.st.getNsKey!.get(uuid) as Row | undefined);
  }
  async readInsights(q: InsightsQuery): Promise<InsightsRows> {
    const args = { ns: q.namespace, fn: q.fn, res: q.res, from: q.from, to: q.to, step: q.step };
    return {
      rows: (this.st.readRollup!.all(args) as Row[]).map((r) => ({ t: r.i, s: [r.s0, r.s1, r.s2, r.s3], cold: r.cold, durSum: r.dur })),
      hist: (this.st.readHist!.all(args) as Row[]).map((r) => ({ t: r.i, b: r.b, n: r.n })),
    };
  }
  onTenantChanged(listener: (namespace: string) => void): () => void {
    this.events.on('tenant', listener);
    // Another process (`flare admin`) commits to the file: data_version moves only on other connections' commits.
    if (!this.tenantPoll && this.db.open) {
      let seen = this.db.pragma('data_version', { simple: true });
      this.tenantPoll = setInterval(() => {
        if (!this.db.open) return;
        const v = this.db.pragma('data_version', { simple: true });
        if (v !== seen) {
          seen = v;
          this.events.emit('tenant', '*');
        }
      }, TENANT_POLL_MS);
      this.tenantPoll.unref();
    }
    return () => this.events.off('tenant', listener);
  }
  private tenantChanged(namespace: string): void {
    this.events.emit('tenant', namespace);
  }

  // ---- entities ----
  async getEntity<T>(namespace: string, kind: EntityKind, name: string, withCode: boolean): Promise<StoredEntity<T> | undefined> {
    const row = (withCode ? this.st.getEntCode! : this.st.getEnt!).get(namespace, kind, name) as Row | undefined;
    if (!row) return undefined;
    const doc = JSON.parse(row.doc);
    if (withCode && kind === 'action' && doc.exec && row.code != null) doc.exec.code = row.code;
    return { doc, updated: row.updated, epoch: row.epoch };
  }

  async entityEpoch(): Promise<number> {
    return (this.st.epoch!.get() as Row).v as number;
  }

  /** Runs an entity write; one that changed a row of an epoch kind bumps the epoch in the same transaction. */
  private entityWrite(kind: EntityKind, write: () => boolean): boolean {
    if (!EPOCH_KINDS.has(kind)) return write();
    return this.db.transaction(() => {
      const changed = write();
      if (changed) this.st.bumpEpoch!.run();
      return changed;
    })();
  }

  async putEntity<T extends { updated: number }>(
    namespace: string,
    kind: EntityKind,
    name: string,
    doc: T,
    code: string | undefined,
    opts: PutEntityOptions = {},
  ): Promise<'ok' | 'conflict'> {
    const json = JSON.stringify(doc);
    const pkg = kind === 'action' && name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
    const expect = opts.expectUpdated;
    if (expect === null) {
      return this.entityWrite(kind, () => this.st.insEnt!.run(namespace, kind, name, pkg, json, code ?? null, doc.updated).changes === 1) ? 'ok' : 'conflict';
    }
    if (typeof expect === 'number') {
      return this.entityWrite(kind, () => this.st.updEnt!.run(json, code ?? null, doc.updated, namespace, kind, name, expect).changes === 1) ? 'ok' : 'conflict';
    }
    this.entityWrite(kind, () => this.st.replEnt!.run(namespace, kind, name, pkg, json, code ?? null, doc.updated).changes > 0);
    return 'ok';
  }

  async deleteEntity(namespace: string, kind: EntityKind, name: string): Promise<boolean> {
    return this.entityWrite(kind, () => this.st.delEnt!.run(namespace, kind, name).changes === 1);
  }

  async listEntities<T>(f: EntityListFilter): Promise<T[]> {
    const { where, args } = entityWhere(f);
    const rows = this.db
      .prepare(`SELECT doc FROM entities WHERE ${where} ORDER BY updated DESC, name LIMIT ? OFFSET ?`)
      .all(...args, f.limit, f.skip) as Row[];
    return rows.map((r) => JSON.parse(r.doc));
  }

  async countEntities(f: Omit<EntityListFilter, 'limit' | 'skip'>): Promise<number> {
    const { where, args } = entityWhere(f);
    return (this.db.prepare(`SELECT count(*) AS n FROM entities WHERE ${where}`).get(...args) as Row).n;
  }

  // ---- queue ----
  async enqueue(inv: Invocation, claim?: EnqueueClaim): Promise<void> {
    await this.pushEnqueue({ inv, ...(claim ? { claim } : {}) });
  }

  enqueueWithinLimits(inv: Invocation, limits: AdmissionLimits, claim?: EnqueueClaim): Promise<AdmissionOutcome> {
    return this.pushEnqueue({ inv, limits, ...(claim ? { claim } : {}) });
  }

  private pushEnqueue(item: EnqueueItem): Promise<AdmissionOutcome> {
    return new Promise((resolve, reject) => {
      if (this.pendingEnqueue.push({ ...item, resolve, reject }) === 1) setImmediate(() => this.flushEnqueue());
    });
  }

  private flushEnqueue(): void {
    const batch = this.pendingEnqueue;
    this.pendingEnqueue = [];
    let tally = newTally();
    let outs: AdmissionOutcome[];
    try {
      outs = this.enqueueTx(batch, tally);
    } catch {
      // One bad row must not fail the others: fall back to one commit each.
      outs = [];
      for (const b of batch) {
        tally = newTally();
        try {
          const [out] = this.enqueueTx([b], tally);
          this.applyTally(tally);
          b.resolve(out!);
        } catch (err) {
          b.reject(err);
        }
      }
      this.events.emit('enqueued');
      return;
    }
    this.applyTally(tally);
    batch.forEach((b, i) => b.resolve(outs[i]!));
    if (batch.some((b, i) => !b.claim && outs[i]!.admitted)) this.events.emit('enqueued');
  }

  /** The committed in-flight count of a namespace, read from the table the first time it is needed. */
  private inFlightBase(namespace: string): number {
    let n = this.inFlight.get(namespace);
    if (n === undefined) {
      n = (this.st.inFlight!.get(namespace) as Row).n as number;
      this.inFlight.set(namespace, n);
    }
    return n;
  }

  private minuteCount(namespace: string, now: number): number {
    const window = Math.floor(now / 60_000);
    if (window !== this.minuteWindow) {
      this.minuteWindow = window;
      this.minuteCounts.clear();
    }
    return this.minuteCounts.get(namespace) ?? 0;
  }

  private applyTally(t: Tally): void {
    for (const [ns, n] of t.inFlight) bump(this.inFlight, ns, n);
    for (const [ns, n] of t.minute) bump(this.minuteCounts, ns, n);
  }

  async claim(owner: string, max: number, leaseMs: number): Promise<ClaimedInvocation[]> {
    if (max <= 0) return [];
    const rows = this.claimTx(owner, max, leaseMs);
    return rows.sort((a, b) => a.seq - b.seq).map(claimed);
  }

  async renewLeases(owner: string, leaseMs: number): Promise<void> {
    this.st.renew!.run(Date.now() + leaseMs, owner);
  }

  async takeExpired(owner: string, leaseMs: number, max: number): Promise<ClaimedInvocation[]> {
    const now = Date.now();
    const rows = this.st.takeExpired!.all(owner, now + leaseMs, now, owner, max) as Row[];
    return rows.sort((a, b) => a.seq - b.seq).map(claimed);
  }

  async cancelInFlight(namespace: string, activationId: string, cancel: CancelRequest, holdMs: number): Promise<CancelOutcome | undefined> {
    const out = this.cancelTx.immediate(namespace, activationId, cancel, holdMs);
    if (out?.previous === 'running') this.events.emit('cancel', activationId, cancel);
    return out;
  }

  onCancelRequested(listener: (activationId: string, cancel: CancelRequest) => void): () => void {
    this.events.on('cancel', listener);
    return () => this.events.off('cancel', listener);
  }

  async countQueued(): Promise<number> {
    return (this.st.countQueued!.get() as Row).n as number;
  }

  async countInFlight(namespace: string): Promise<number> {
    return this.inFlightBase(namespace);
  }


  async complete(records: ActivationRecord[]): Promise<void> {
    if (records.length === 0) return;
    const done = this.completeTx(records);
    for (const { record, wasQueued } of done) {
      const n = wasQueued ? this.inFlight.get(record.namespace) : undefined;
      if (n !== undefined) this.inFlight.set(record.namespace, Math.max(0, n - 1));
    }
    // A duplicate that lost to an earlier record is announced without it: listeners read the stored one.
    for (const { record, stored } of done) this.events.emit('completed', record.activationId, stored ? record : undefined);
    const ended = this.liveEnded;
    this.liveEnded = [];
    for (const id of ended) this.events.emit('live', id, true);
    if (this.deliveriesDue) {
      this.deliveriesDue = false;
      this.events.emit('deliveries');
    }
  }

  // ---- completion callbacks ----
  async claimDeliveries(owner: string, max: number, leaseMs: number): Promise<DeliveryJob[]> {
    if (max <= 0) return [];
    const now = Date.now();
    const rows = this.st.claimDeliveries!.all(owner, now + leaseMs, now, now, max) as Row[];
    return rows.map((r) => ({ activationId: r.activation_id, namespace: r.namespace, url: r.url, event: r.event_type, attempts: r.attempts, step: r.step }));
  }

  async finishDeliveryAttempt(
    owner: string,
    activationId: string,
    a: Omit<DeliveryAttempt, 'attempt' | 'nextAttemptAt'>,
    outcome: DeliveryOutcome,
  ): Promise<DeliveryAttempt | undefined> {
    return this.db.transaction((): DeliveryAttempt | undefined => {
      const next = outcome.state === 'pending' ? Date.now() + Math.max(0, Math.round(outcome.delayMs)) : null;
      const row = this.st.finishDelivery!.get(outcome.state, next, outcome.state === 'pending' ? 1 : 0, activationId, owner) as Row | undefined;
      if (!row) return undefined;
      this.st.insAttempt!.run(activationId, row.attempts, a.at, a.status ?? null, a.error ?? null, Math.round(a.latencyMs), next);
      return attemptOf({ attempt: row.attempts, at: a.at, status: a.status ?? null, error: a.error ?? null, latency_ms: Math.round(a.latencyMs), next_at: next });
    })();
  }

  async getDeliveries(namespace: string, activationId: string): Promise<DeliveryView | undefined> {
    const d = this.st.getDelivery!.get(activationId, namespace) as Row | undefined;
    if (!d) return undefined;
    const attempts = (this.st.getAttempts!.all(activationId) as Row[]).map(attemptOf);
    return deliveryView(d, attempts);
  }

  async redeliver(namespace: string, activationId: string): Promise<boolean> {
    const ok = this.st.redeliver!.run(Date.now(), activationId, namespace).changes === 1;
    if (ok) this.events.emit('deliveries');
    return ok;
  }

  async nextDeliveryDueIn(): Promise<number | undefined> {
    const now = Date.now();
    const row = this.st.nextDue!.get(now) as Row | undefined;
    return row ? (row.t as number) - now : undefined;
  }

  async sweepDeliveries(before: number, batch: number): Promise<number> {
    return this.db.transaction(() => {
      const rows = this.st.sweepDeliveries!.all(before, batch) as Row[];
      for (const r of rows) this.st.delAttempts!.run(r.activation_id);
      return rows.length;
    })();
  }

  onDeliveriesDue(listener: () => void): () => void {
    this.events.on('deliveries', listener);
    return () => this.events.off('deliveries', listener);
  }

  async getWebhookSecrets(namespace: string): Promise<WebhookSecrets | undefined> {
    return secretsOf(this.st.getSecrets!.get(namespace) as Row | undefined);
  }

  async ensureWebhookSecret(namespace: string, secret: string): Promise<WebhookSecrets> {
    this.st.insSecret!.run(namespace, secret);
    return secretsOf(this.st.getSecrets!.get(namespace) as Row)!;
  }

  async rotateWebhookSecret(namespace: string, secret: string, previousUntil: number): Promise<WebhookSecrets> {
    this.st.rotateSecret!.run(namespace, secret, previousUntil);
    return secretsOf(this.st.getSecrets!.get(namespace) as Row)!;
  }

  // ---- live logs ----
  async appendLiveLogs(namespace: string, activationId: string, batch: LiveLogsAppend): Promise<void> {
    // A record already written (a late flush) must not leave orphan rows behind.
    if (this.st.queueState!.get(activationId, namespace) === undefined) return;
    this.liveTx(namespace, activationId, batch);
    this.liveIds.add(activationId);
    this.events.emit('live', activationId, false);
  }

  async readLiveLogs(namespace: string, activationId: string, afterSeq: number): Promise<LiveLogs> {
    const q = this.st.queueState!.get(activationId, namespace) as Row | undefined;
    if (!q) return { lines: [] };
    const out: LiveLogs = { state: q.state, lines: this.st.liveLines!.all(activationId, afterSeq) as LiveLogs['lines'] };
    const st = this.st.liveGetState!.get(activationId, namespace) as Row | undefined;
    if (st?.progress != null) out.progress = st.progress;
    if (st?.truncated) out.truncated = true;
    return out;
  }

  onLiveLogs(listener: (activationId: string, ended: boolean) => void): () => void {
    this.events.on('live', listener);
    return () => this.events.off('live', listener);
  }

  // ---- idempotency keys ----
  async enqueueWithIdempotencyKey(inv: Invocation, key: IdempotencyKeyRow, limits?: AdmissionLimits): Promise<IdempotencyOutcome> {
    const tally = newTally();
    const out = this.idempotentTx.immediate(key, limits ? { inv, limits } : { inv }, tally);
    this.applyTally(tally);
    if (out.stored) this.events.emit('enqueued');
    return out;
  }

  async putIdempotencyKey(key: IdempotencyKeyRow): Promise<IdempotencyKeyOutcome> {
    // Without an invocation there is nothing to refuse.
    return this.idempotentTx.immediate(key, undefined, newTally()) as IdempotencyKeyOutcome;
  }

  async sweepIdempotencyKeys(now: number, batch: number): Promise<number> {
    return this.st.sweepKeys!.run(now, batch).changes;
  }

  async sweepInsights(minuteBefore: number, hourBefore: number, batch: number): Promise<number> {
    const args = { m: minuteBefore, h: hourBefore, n: batch };
    return this.st.sweepRollup!.run(args).changes + this.st.sweepHist!.run(args).changes;
  }

  // ---- retries and replay (issue 11) ----
  async scheduleRetry(inv: Invocation, owner: string, notBefore: number): Promise<boolean> {
    const ok = this.st.scheduleRetry!.run(notBefore, JSON.stringify(inv), inv.activationId, owner).changes === 1;
    if (ok && (this.nextRetryDue === undefined || notBefore < this.nextRetryDue)) this.nextRetryDue = notBefore;
    return ok;
  }

  async promoteRetries(now: number): Promise<number> {
    // One node owns the file, so it knows when the next retry is due: polls before then write nothing.
    if (this.nextRetryDue === undefined || this.nextRetryDue > now) return 0;
    const n = this.st.promoteRetries!.run(now).changes;
    this.nextRetryDue = (this.st.nextRetry!.get() as Row).due ?? undefined;
    if (n > 0) this.events.emit('enqueued');
    return n;
  }

  async getActivationParams(namespace: string, activationId: string): Promise<Invocation | undefined> {
    const row = this.st.getParams!.get(activationId, namespace) as Row | undefined;
    return row ? (JSON.parse(row.payload) as Invocation) : undefined;
  }

  // ---- run control ----
  async getInFlight(namespace: string, activationId: string): Promise<InFlightEntry | undefined> {
    const row = this.st.getInFlight!.get(activationId, namespace) as Row | undefined;
    return row ? inFlightEntry(JSON.parse(row.payload), row.state, row.started, row.cancel, row.not_before) : undefined;
  }

  /** One process owns the file: every completion is announced in-process already. */
  watchInFlight(namespace: string, activationId: string): Promise<InFlightEntry | undefined> {
    return this.getInFlight(namespace, activationId);
  }

  async listInFlight(f: InFlightListFilter): Promise<InFlightEntry[]> {
    const rows = this.st.listInFlight!.all(f.namespace) as Row[];
    return filterInFlight(rows.map((r) => inFlightEntry(JSON.parse(r.payload), r.state, r.started, r.cancel, r.not_before)), f);
  }

  // ---- activations ----
  async getActivation(namespace: string, activationId: string): Promise<ActivationRecord | undefined> {
    const row = this.st.getAct!.get(activationId, namespace) as Row | undefined;
    return row ? JSON.parse(row.record) : undefined;
  }

  async listActivations(f: ActivationListFilter, docs: boolean): Promise<(ActivationRecord | ActivationSummary)[]> {
    if ((f.statusCodes?.length ?? 0) > 1) return listByStatuses(f, (one) => this.listActivations(one, docs));
    const order = 'ORDER BY start DESC, activation_id DESC';
    const limit = f.limit > 0 ? f.limit : -1;
    let rows: Row[];
    if (f.name && !f.name.includes('/')) {
      // A name without "/" is the function of that name or any function of the package of that name: two ordered
      // index scans, each cut at limit + skip, merged (an OR of both would read and sort every matching record).
      const k = activationWhere(f, 'key');
      const p = activationWhere(f, 'pkg');
      const cut = limit < 0 ? -1 : limit + f.skip;
      rows = this.prepared(
        `SELECT a.record FROM (SELECT r, start, activation_id FROM (
             SELECT * FROM (SELECT rowid AS r, start, activation_id FROM activations WHERE ${k.where} ${order} LIMIT ?)
             UNION ALL
             SELECT * FROM (SELECT rowid AS r, start, activation_id FROM activations WHERE ${p.where} ${order} LIMIT ?))
           ${order} LIMIT ? OFFSET ?) AS p
         JOIN activations AS a ON a.rowid = p.r ORDER BY p.start DESC, p.activation_id DESC`,
      ).all(...k.args, cut, ...p.args, cut, limit, f.skip) as Row[];
    } else {
      const { where, args } = activationWhere(f);
      // The page's keys are read off the index first (skipped entries cost an index step, not a record read), then
      // only the page's records are fetched.
      rows = this.prepared(
        `SELECT a.record FROM (SELECT rowid AS r, start, activation_id FROM activations WHERE ${where}
           ${order} LIMIT ? OFFSET ?) AS p
         JOIN activations AS a ON a.rowid = p.r ORDER BY p.start DESC, p.activation_id DESC`,
      ).all(...args, limit, f.skip) as Row[];
    }
    return rows.map((r) => {
      const rec = JSON.parse(r.record) as ActivationRecord;
      return docs ? rec : toSummary(rec);
    });
  }

  /** Whole hours from the counters, partial edge hours (and `cause` filters) from the records (activation-counts.ts). */
  async countActivations(f: CountFilter): Promise<number> {
    if (f.cause !== undefined) return this.countRecords(f);
    const plan = planCount(f);
    let n = 0;
    for (const e of plan.exact) {
      const { since: _s, upto: _u, ...rest } = f;
      n += this.countRecords({ ...rest, ...e });
    }
    if (plan.buckets) {
      const { where, args } = countersWhere(f, plan.buckets);
      n += (this.prepared(`SELECT coalesce(sum(n), 0) AS n FROM activation_counts WHERE ${where}`).get(...args) as Row).n as number;
    }
    return n;
  }

  private countRecords(f: CountFilter): number {
    const parts = f.name && !f.name.includes('/') ? [activationWhere(f, 'key'), activationWhere(f, 'pkg')] : [activationWhere(f)];
    let n = 0;
    for (const { where, args } of parts) n += (this.prepared(`SELECT count(*) AS n FROM activations WHERE ${where}`).get(...args) as Row).n as number;
    return n;
  }

  private addCounts(deltas: CountDelta[]): void {
    for (const d of deltas) this.st.addCount!.run(d.namespace, d.filterKey, d.statusCode, d.hour, d.n);
  }

  /** Statements of the variable-shape queries (one per filter shape), prepared once. */
  private prepared(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  async sweepActivations(before: number, batch: number): Promise<number> {
    // Live rows of a run whose record never came the usual way (node died) go with the retention too.
    this.st.liveSweepLines!.run(before);
    this.st.liveSweepState!.run(before);
    this.st.sweepParams!.run(batch, before);
    return this.sweepTx(before, batch);
  }

  // ---- notifications ----
  onEnqueued(listener: () => void): () => void {
    this.events.on('enqueued', listener);
    return () => this.events.off('enqueued', listener);
  }
  onCompleted(listener: (activationId: string, record?: ActivationRecord) => void): () => void {
    this.events.on('completed', listener);
    return () => this.events.off('completed', listener);
  }
}

function nsRow(r: Row | undefined): NamespaceRow | undefined {
  if (!r) return undefined;
  return {
    name: r.name,
    uuid: r.uuid,
    keyHash: r.key_hash,
    subject: r.subject,
    created: r.created,
    ...(r.limits ? { limits: JSON.parse(r.limits) } : {}),
  };
}

function claimed(r: Row): ClaimedInvocation {
  const cancel = r.state === 'cancelling' ? parseCancel(r.cancel) : undefined;
  return { ...(JSON.parse(r.payload) as Invocation), state: cancel ? 'cancelling' : 'running', attempts: r.attempts, ...(cancel ? { cancel } : {}) };
}

function entityWhere(f: Omit<EntityListFilter, 'limit' | 'skip'>): { where: string; args: unknown[] } {
  const args: unknown[] = [f.namespace, f.kind];
  let where = 'namespace = ? AND kind = ?';
  if (f.pkg !== undefined) {
    where += ' AND pkg = ?';
    args.push(f.pkg);
  }
  return { where, args };
}

/** The counters' WHERE for a filter without cause: the name and status parts of activationWhere, and whole hours. */
function countersWhere(f: CountFilter, hours: { from?: number; to?: number }): { where: string; args: unknown[] } {
  const { where, args } = activationWhere({ namespace: f.namespace, ...(f.name ? { name: f.name } : {}), ...(f.statusCodes ? { statusCodes: f.statusCodes } : {}) });
  let w = where;
  if (hours.from !== undefined) {
    w += ' AND hour >= ?';
    args.push(hours.from);
  }
  if (hours.to !== undefined) {
    w += ' AND hour < ?';
    args.push(hours.to);
  }
  return { where: w, args };
}

/**
 * `part` splits a name without "/" (function or package): 'key' matches the function of that name, 'pkg' the
 * functions of the package of that name (on activations_pkg_order); without it both are matched by one OR.
 */
function activationWhere(f: Omit<ActivationListFilter, 'limit' | 'skip'>, part?: 'key' | 'pkg'): { where: string; args: unknown[] } {
  const args: unknown[] = [f.namespace];
  let where = 'namespace = ?';
  if (f.name) {
    if (part === 'pkg') {
      where += " AND instr(filter_key, '/') > 0 AND substr(filter_key, 1, instr(filter_key, '/') - 1) = ?";
      args.push(f.name);
    } else if (f.name.includes('/') || part === 'key') {
      where += ' AND filter_key = ?';
      args.push(f.name);
    } else {
      // "name" matches the unpackaged function, and the functions of package "name" (range scan on the index).
      where += " AND (filter_key = ? OR (filter_key >= ? AND filter_key < ?))";
      args.push(f.name, `${f.name}/`, `${f.name}0`);
    }
  }
  if (f.statusCodes?.length) {
    where += ` AND status_code IN (${f.statusCodes.map(() => '?').join(', ')})`;
    args.push(...f.statusCodes);
  }
  if (f.cause !== undefined) {
    where += ' AND cause = ?';
    args.push(f.cause);
  }
  if (f.since !== undefined) {
    where += ' AND start >= ?';
    args.push(f.since);
  }
  if (f.upto !== undefined) {
    where += ' AND start <= ?';
    args.push(f.upto);
  }
  if (f.after) {
    // (start, activation_id) < after, written so the index range on start is evident to the planner.
    where += ' AND start <= ? AND (start < ? OR activation_id < ?)';
    args.push(f.after.start, f.after.start, f.after.activationId);
  }
  return { where, args };
}
