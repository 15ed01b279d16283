// The one Store contract. Every adapter (sqlite/, postgres/) implements it and passes store.contract.test.ts.
// Callers never see SQL; all methods are async so that a networked adapter fits the same shape.
import type {
  ActivationListFilter,
  ActivationRecord,
  CancelRequest,
  ClaimedInvocation,
  EntityKind,
  InFlightEntry,
  InFlightListFilter,
  EntityListFilter,
  Invocation,
  NamespaceKey,
  NamespaceLimits,
  NamespaceRow,
  QueueState,
} from '../types.js';

/** Activation list item without response/logs/subject (OpenWhisk's list summary, §4.5). */
export type ActivationSummary = Omit<ActivationRecord, 'subject' | 'response' | 'logs'>;

export interface StoredEntity<T> {
  doc: T; // exec.code is filled in for actions only when asked for
  updated: number;
  /** The entity epoch read in the same snapshot as the doc (see entityEpoch). */
  epoch?: number;
}

/** Entity kinds whose writes bump the entity epoch: the ones an invoke resolves (and src/entity-cache/ caches). */
export const EPOCH_KINDS: ReadonlySet<string> = new Set(['action', 'package']);

export interface PutEntityOptions {
  /** undefined: unconditional; null: must not exist; number: must exist with this `updated` (optimistic lock). */
  expectUpdated?: number | null;
}

/** What a follower reads of a running activation (§4.5): persisted only for long runs, deleted with the record. */
export interface LiveLogs {
  /** The queue state while the invocation is in the queue; undefined once it left it (record or never). */
  state?: QueueState;
  /** Lines with seq > afterSeq, in order; seq is the 1-based index the line will have in the record's logs. */
  lines: Array<{ seq: number; line: string }>;
  /** The latest progress value (JSON text) the function published, if any. */
  progress?: string;
  /** The log limit was hit: no further lines will come. */
  truncated?: boolean;
}

export interface LiveLogsAppend {
  /** Seq of lines[0] (lines are consecutive). */
  firstSeq: number;
  lines: string[];
  progress?: string;
  truncated?: boolean;
}

/** What a cancel's compare-and-set found (src/cancel/). */
export interface CancelOutcome {
  /**
   * The state the row was in: `queued` (or `retrying`) and `running` were moved to `cancelling` by this call;
   * `cancelling` means an earlier cancel won and nothing changed.
   */
  previous: QueueState | 'retrying';
  invocation: Invocation;
  /** The cancel now stored on the row: this call's, or the earlier one's when it was already cancelling. */
  cancel: CancelRequest;
}

export interface EnqueueClaim {
  owner: string;
  leaseMs: number;
}

/** The throttles an admitted enqueue respects (looked up by src/api/throttle.ts). */
export interface AdmissionLimits {
  /** Queued + running invocations of the namespace, this one included, never exceed this. */
  concurrent: number;
  /** Invocations admitted in the namespace's current minute window, this one included, never exceed this. */
  perMinute: number;
}

/** Why an admitted enqueue wrote nothing: `count` is what the count would have been with this invocation. */
export interface AdmissionRefusal {
  limit: 'concurrent' | 'perMinute';
  count: number;
  allowed: number;
}

export type AdmissionOutcome = { admitted: true } | ({ admitted: false } & AdmissionRefusal);

/** An Idempotency-Key as stored: the key claims acceptance of one activation in a namespace until `expires`. */
export interface IdempotencyKeyRow {
  namespace: string;
  key: string;
  /** SHA-256 (hex) of what the key protects: the function's path and the canonical body. */
  fingerprint: string;
  activationId: string;
  /** Epoch ms after which the key is free again (and swept). */
  expires: number;
}

/** What an idempotent acceptance found: its own key committed, or a live key committed by an earlier request. */
export type IdempotencyKeyOutcome = { stored: true } | { stored: false; activationId: string; fingerprint: string };

/** What an idempotent enqueue found: as a key alone, or (with limits) a refusal that wrote nothing. */
export type IdempotencyOutcome =
  | IdempotencyKeyOutcome
  /** The key was free but the invocation was over a limit: nothing was written. */
  | { stored: false; refused: AdmissionRefusal };

/** Thrown by the idempotent operations when an uncommitted request holds the same key for too long (→ 409). */
export class IdempotencyKeyBusyError extends Error {
  constructor() {
    super('idempotency key is held by an uncommitted request');
  }
}

export interface InsightsQuery {
  namespace: string;
  /** A function's filter key ("name" or "pkg/name"), or '' for the whole namespace. */
  fn: string;
  /** Rollup resolution: 60000, 900000 or 3600000 ms. */
  res: number;
  /** [from, to) epoch ms, multiples of step. */
  from: number;
  to: number;
  /** Interval length (a multiple of res). */
  step: number;
}

export interface InsightsRows {
  /** Per interval start: counts by statusCode (0..3), cold starts and summed duration. */
  rows: Array<{ t: number; s: [number, number, number, number]; cold: number; durSum: number }>;
  /** Per interval start and duration bucket: how many. */
  hist: Array<{ t: number; b: number; n: number }>;
}

/** The terminal event a completion callback announces (`activation.<event>`). */
export type DeliveryEvent = 'succeeded' | 'failed' | 'cancelled' | 'expired';
/** pending: an attempt is due at nextAttemptAt; delivered: a 2xx came; failed: the schedule is exhausted; stopped: 410. */
export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'stopped';

/** A due callback claimed by a delivery worker. */
export interface DeliveryJob {
  activationId: string;
  namespace: string;
  url: string;
  event: DeliveryEvent;
  /** Attempts made so far (all schedules). */
  attempts: number;
  /** Position in the retry schedule of this attempt (0 = the first; a redelivery starts again at 0). */
  step: number;
}

/** One POST of a callback as recorded. */
export interface DeliveryAttempt {
  /** 1-based, across redeliveries. */
  attempt: number;
  /** Epoch ms the attempt started. */
  at: number;
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** Why it failed (refused address, timeout, redirect, connection error, non-2xx). */
  error?: string;
  latencyMs: number;
  /** When the next attempt is due (epoch ms), if one is scheduled. */
  nextAttemptAt?: number;
}

/** What the attempt's outcome makes of the delivery: another attempt after delayMs, or a final state. */
export type DeliveryOutcome = { state: 'pending'; delayMs: number } | { state: 'delivered' | 'failed' | 'stopped' };

/** A callback with every attempt, as `GET …/activations/{id}/deliveries` shows it. */
export interface DeliveryView {
  activationId: string;
  namespace: string;
  url: string;
  event: DeliveryEvent;
  state: DeliveryState;
  nextAttemptAt?: number;
  created: number;
  attempts: DeliveryAttempt[];
}

/** A namespace's callback signing secrets: after a rotation the previous one also signs until previousUntil. */
export interface WebhookSecrets {
  current: string;
  previous?: string;
  previousUntil?: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Whether enqueue honours its `claim` argument (otherwise callers must not pass one). */
  readonly supportsClaimOnEnqueue?: boolean;
  /** Creates or migrates the schema. Idempotent; safe with several nodes starting at once. */
  init(): Promise<void>;
  close(): Promise<void>;

  // ---- settings (small key/value, used for idempotent bootstrap) ----
  /** Stores value under key unless present; returns the value that is stored afterwards. */
  putSettingIfAbsent(key: string, value: string): Promise<string>;
  getSetting(key: string): Promise<string | undefined>;
  deleteSetting(key: string): Promise<void>;

  // ---- namespaces ----
  /** Inserts the namespace; returns false (and changes nothing) if the name or uuid exists. */
  createNamespace(row: NamespaceRow): Promise<boolean>;
  getNamespace(name: string): Promise<NamespaceRow | undefined>;
  getNamespaceByUuid(uuid: string): Promise<NamespaceRow | undefined>;
  listNamespaces(): Promise<NamespaceRow[]>;
  /** Deletes the namespace with its entities, queued work is left to finish. */
  deleteNamespace(name: string): Promise<boolean>;
  /**
   * Replaces the namespace's limit overrides (undefined: back to the server defaults) and tells every node
   * (onTenantChanged). False if the namespace does not exist.
   */
  setNamespaceLimits(name: string, limits: Partial<NamespaceLimits> | undefined): Promise<boolean>;

  // ---- keys: the first key lives in the namespace row, further ones beside it ----
  /** Adds a key; false if the namespace does not exist or the uuid is taken. */
  createKey(namespace: string, key: { uuid: string; keyHash: string; created: number }): Promise<boolean>;
  /** The namespace's live keys, oldest first (no hashes). */
  listKeys(namespace: string): Promise<NamespaceKey[]>;
  /** Revokes a key (the first one too) and tells every node; false if the namespace has no such live key. */
  revokeKey(namespace: string, uuid: string): Promise<boolean>;
  /** The namespace a key uuid opens, with that key's hash (the row's keyHash and uuid are the key's). */
  getNamespaceByKey(uuid: string): Promise<NamespaceRow | undefined>;
  /**
   * Called when a namespace's limits or keys changed (on any node: NOTIFY on PostgreSQL, a commit by another
   * connection on SQLite), so cached identities are dropped. `namespace` is '*' when it is not known which.
   */
  onTenantChanged(listener: (namespace: string) => void): () => void;

  // ---- entities (actions, packages) ----
  /** name is "pkg/name" or "name" for actions, "name" for packages. */
  getEntity<T>(namespace: string, kind: EntityKind, name: string, withCode: boolean): Promise<StoredEntity<T> | undefined>;
  /** Writes doc (code stored apart from the doc so lists and warm invokes never read it). */
  putEntity<T extends { updated: number }>(
    namespace: string,
    kind: EntityKind,
    name: string,
    doc: T,
    code: string | undefined,
    opts?: PutEntityOptions,
  ): Promise<'ok' | 'conflict'>;
  deleteEntity(namespace: string, kind: EntityKind, name: string): Promise<boolean>;
  /** Docs without code, newest `updated` first. */
  listEntities<T>(filter: EntityListFilter): Promise<T[]>;
  countEntities(filter: Omit<EntityListFilter, 'limit' | 'skip'>): Promise<number>;
  /**
   * A number that grows with every committed write of an action or package (and namespace deletion), in the same
   * transaction as the write, on every node: a cache of entities read at epoch e is current while this returns e.
   */
  entityEpoch(): Promise<number>;

  // ---- queue: an invocation lives here from acceptance until its record is written ----
  /**
   * Durably commits the invocation. Resolves only once committed. With `claim`, the row is committed already
   * claimed by that owner (a local invoker with a free slot takes it at once, saving a claim round trip);
   * otherwise it is queued for any invoker.
   */
  enqueue(inv: Invocation, claim?: EnqueueClaim): Promise<void>;
  /**
   * Admission and enqueue as one: the namespace's in-flight count and per-minute count are checked and the row is
   * committed under the same lock (SQLite: the one writer; PostgreSQL: the namespace's admission counter row), so
   * concurrent calls on any number of nodes never admit past either limit. Refused: nothing is written.
   * Invocations enqueued without limits (sequence components) count as in flight but not against the minute.
   */
  enqueueWithinLimits(inv: Invocation, limits: AdmissionLimits, claim?: EnqueueClaim): Promise<AdmissionOutcome>;
  /**
   * Claims up to `max` queued invocations, oldest first, for `owner` with a lease of `leaseMs`.
   * A claimed invocation counts as started: if its lease expires it is resolved as interrupted, never re-run.
   */
  claim(owner: string, max: number, leaseMs: number): Promise<ClaimedInvocation[]>;
  /** Extends the leases of everything `owner` holds (running and cancelling). */
  renewLeases(owner: string, leaseMs: number): Promise<void>;
  /**
   * Takes over invocations whose lease expired (their node died): returns them claimed by `owner`,
   * so exactly one node resolves each. `cancelling` rows are taken over too (with their `cancel`): they end cancelled.
   * Never `owner`'s own: a live node whose renewal came late (a stalled event loop) is still running them.
   */
  takeExpired(owner: string, leaseMs: number, max: number): Promise<ClaimedInvocation[]>;
  /**
   * Queued + running invocations of a namespace (the concurrent-invocations throttle). With `atMost`, an adapter may
   * stop counting there: the throttle only needs to know whether the limit is reached, not the size of a backlog.
   */
  countInFlight(namespace: string, atMost?: number): Promise<number>;
  /** Invocations waiting to be claimed, all namespaces (the queued gauge of /metrics: read at scrape time only). */
  countQueued(): Promise<number>;
  /**
   * Atomically removes each invocation from the queue and stores its record (idempotent by activationId).
   * Notifies completion listeners. The other side of cancelInFlight's compare-and-set: a row that is `cancelling`
   * accepts only a cancelled record; any other record for it is stored in its cancelled form (asCancelled), so a
   * result that lands after the cancel won is discarded and exactly one terminal record exists.
   */
  complete(records: ActivationRecord[]): Promise<void>;

  // ---- cancel (src/cancel/) ----
  /**
   * The cancel's compare-and-set: a `queued` (or `retrying`) or `running` row of `namespace` becomes `cancelling`
   * with `cancel` stored on it. A queued row is no longer claimable and is left unowned with a lease of `holdMs`
   * (the caller writes its record at once; if the caller dies, takeExpired hands it to an invoker, which writes the
   * cancelled record). A running row keeps its owner, whose invoker is told through onCancelRequested (NOTIFY across
   * nodes), and is marked watched so its record is announced to every node. A `cancelling` row is left as it is.
   * Undefined when the invocation is not in the queue (finished, or unknown).
   */
  cancelInFlight(namespace: string, activationId: string, cancel: CancelRequest, holdMs: number): Promise<CancelOutcome | undefined>;
  /** Called on every node when a running invocation was moved to `cancelling` (its owner kills it). */
  onCancelRequested(listener: (activationId: string, cancel: CancelRequest) => void): () => void;

  // ---- live logs of running activations (src/live-logs/) ----
  /** Persists a batch of a running activation's lines / progress and tells followers (NOTIFY across nodes). */
  appendLiveLogs(namespace: string, activationId: string, batch: LiveLogsAppend): Promise<void>;
  /** The queue state and persisted lines after `afterSeq` of an activation; complete() deletes them with the queue row. */
  readLiveLogs(namespace: string, activationId: string, afterSeq: number): Promise<LiveLogs>;
  /** Called when lines were appended (`ended` false) or an activation with live lines got its record (`ended` true). */
  onLiveLogs(listener: (activationId: string, ended: boolean) => void): () => void;

  // ---- idempotency keys (issue 11) ----
  /**
   * Commits `key` and the invocation in one transaction, unless a live (unexpired) key of that namespace and name
   * exists: then nothing is written and the existing key's activation and fingerprint are returned. A request
   * racing an uncommitted holder of the same key waits for it (bounded), then throws IdempotencyKeyBusyError.
   * With `limits`, a new key's invocation is admitted as by enqueueWithinLimits (refused: neither row is written).
   */
  enqueueWithIdempotencyKey(inv: Invocation, key: IdempotencyKeyRow, limits?: AdmissionLimits): Promise<IdempotencyOutcome>;
  /** The same for work that is not queued (trigger fires): only the key row is committed. */
  putIdempotencyKey(key: IdempotencyKeyRow): Promise<IdempotencyKeyOutcome>;
  /** Deletes up to `batch` keys that expired before `now`; returns how many. */
  sweepIdempotencyKeys(now: number, batch: number): Promise<number>;

  // ---- retries and replay (issue 11, src/retries/) ----
  /**
   * A failed attempt with attempts left: the running invocation held by `owner` becomes `retrying` until `notBefore`,
   * unowned, with `inv` as its new payload (history, logs so far). A compare-and-set: false (and nothing written)
   * when `owner` no longer holds it running (e.g. it was cancelled or taken over).
   */
  scheduleRetry(inv: Invocation, owner: string, notBefore: number): Promise<boolean>;
  /** Queues again the retrying invocations whose `notBefore` is at or before `now` (and wakes invokers); returns how many. */
  promoteRetries(now: number): Promise<number>;
  /**
   * The invocation a finished activation was accepted as (params, action revision, annotations; never the caller's
   * key), kept with the record for replay; undefined when swept, never stored, or stored with `store-params: false`.
   * complete() saves it from the queue row in the same transaction as the record.
   */
  getActivationParams(namespace: string, activationId: string): Promise<Invocation | undefined>;

  // ---- run control: what is in flight (the queue rows, never their params) ----
  /** The queue row of an invocation of `namespace` still in flight, or undefined once its record is written. */
  getInFlight(namespace: string, activationId: string): Promise<InFlightEntry | undefined>;
  /**
   * Like getInFlight, and asks that this invocation's completion be announced to every node (someone waits for it).
   * Only waiters pay for it: other completions stay unannounced across nodes.
   */
  watchInFlight(namespace: string, activationId: string): Promise<InFlightEntry | undefined>;
  /** In-flight invocations of a namespace in the given states, filtered like listActivations, newest first. */
  listInFlight(filter: InFlightListFilter): Promise<InFlightEntry[]>;

  // ---- completion callbacks (src/deliveries/) ----
  // complete() writes the outbox row of an invocation enqueued with `callbackUrl` in the record's transaction
  // (event from terminalEvent(record)), due at once; the rest of the lifecycle is these operations.
  /**
   * Claims up to `max` due pending deliveries for `owner` with a lease of `leaseMs` (a lease that expired is taken
   * over: the attempt's node died). Two owners never claim the same delivery at once.
   */
  claimDeliveries(owner: string, max: number, leaseMs: number): Promise<DeliveryJob[]>;
  /**
   * Records an attempt of a delivery `owner` holds and applies its outcome (next attempt after delayMs, or a final
   * state), releasing the claim, in one transaction. Returns the attempt as stored (with its number and
   * nextAttemptAt), or undefined when `owner` no longer holds the delivery.
   */
  finishDeliveryAttempt(
    owner: string,
    activationId: string,
    attempt: Omit<DeliveryAttempt, 'attempt' | 'nextAttemptAt'>,
    outcome: DeliveryOutcome,
  ): Promise<DeliveryAttempt | undefined>;
  /** The callback of an activation with its attempts (oldest first), or undefined if it has none. */
  getDeliveries(namespace: string, activationId: string): Promise<DeliveryView | undefined>;
  /** Makes the callback due now from the start of the schedule (same webhook id). False if it has none. */
  redeliver(namespace: string, activationId: string): Promise<boolean>;
  /** Milliseconds until the earliest unheld pending delivery is due (≤ 0: due now), undefined when there is none. */
  nextDeliveryDueIn(): Promise<number | undefined>;
  /** Deletes up to `batch` finished deliveries (and their attempts) created before `before`; returns how many. */
  sweepDeliveries(before: number, batch: number): Promise<number>;
  /** Called in this process when complete() or redeliver() made a delivery due. */
  onDeliveriesDue(listener: () => void): () => void;
  /** The namespace's signing secrets, if it has any yet. */
  getWebhookSecrets(namespace: string): Promise<WebhookSecrets | undefined>;
  /** Stores `secret` as the namespace's secret unless it has one; returns the secrets stored afterwards. */
  ensureWebhookSecret(namespace: string, secret: string): Promise<WebhookSecrets>;
  /** Makes `secret` current; the current one becomes previous, signing too until previousUntil. */
  rotateWebhookSecret(namespace: string, secret: string, previousUntil: number): Promise<WebhookSecrets>;

  // ---- activations ----
  getActivation(namespace: string, activationId: string): Promise<ActivationRecord | undefined>;
  listActivations(filter: ActivationListFilter, docs: boolean): Promise<(ActivationRecord | ActivationSummary)[]>;
  countActivations(filter: Omit<ActivationListFilter, 'limit' | 'skip'>): Promise<number>;
  /**
   * Deletes up to `batch` records that started before `before`; returns how many (0 = nothing more to sweep now).
   * An adapter may sweep in completion order, so a record can outlive `before` by up to the longest run, never less.
   */
  sweepActivations(before: number, batch: number): Promise<number>;

  // ---- insights (src/insights/): pre-aggregated per-minute and per-hour counts, kept by complete() ----
  /** Sums of the rollup rows of one function ('' = the namespace) at resolution `res`, grouped by `step`. */
  readInsights(q: InsightsQuery): Promise<InsightsRows>;
  /** Deletes up to `batch` rollup rows (of each table) at minute and 15-minute resolution before `minuteBefore` and at hour resolution before `hourBefore`. */
  sweepInsights(minuteBefore: number, hourBefore: number, batch: number): Promise<number>;

  // ---- notifications (in-process for SQLite, LISTEN/NOTIFY for PostgreSQL) ----
  /** Called when work may be waiting in the queue. Returns an unsubscribe function. */
  onEnqueued(listener: () => void): () => void;
  /**
   * Called after records are committed; `record` is passed when the adapter has it at hand. Listeners in the
   * completing process hear every record; other nodes hear those of invocations enqueued with `blocking: true`
   * (someone may be waiting for them: blocking and web calls, sequence components) or marked by watchInFlight.
   */
  onCompleted(listener: (activationId: string, record?: ActivationRecord) => void): () => void;
}

/**
 * The key the activation `name` filter matches (OpenWhisk's whisks-filters view, §2.6): "pkg/name" for a packaged
 * function (the binding's name when invoked through a binding), "name" otherwise. A filter without "/" also
 * matches every function of the package of that name (used by the console's package filter).
 */
export function activationFilterKey(record: Pick<ActivationRecord, 'name' | 'annotations'>): string {
  const simple = record.name.includes('/') ? record.name.slice(record.name.indexOf('/') + 1) : record.name;
  const binding = record.annotations.find((a) => a.key === 'binding')?.value;
  if (typeof binding === 'string' && binding.includes('/')) return `${binding.slice(binding.indexOf('/') + 1)}/${simple}`;
  const path = record.annotations.find((a) => a.key === 'path')?.value;
  if (typeof path === 'string') {
    const parts = path.split('/');
    if (parts.length === 3) return `${parts[1]}/${simple}`;
  }
  return record.name;
}

/** The callback event of a terminal record (run-control §4.1: cancelled and expired are marked by annotations). */
export function terminalEvent(record: Pick<ActivationRecord, 'statusCode' | 'annotations'>): DeliveryEvent {
  if (record.annotations.some((a) => a.key === 'cancelled' && Boolean(a.value))) return 'cancelled';
  if (record.annotations.some((a) => a.key === 'expired' && Boolean(a.value))) return 'expired';
  return record.statusCode === 0 ? 'succeeded' : 'failed';
}
