// Shared types: the wire shapes of OpenWhisk entities and records, and Flare's internal queue item.

export type KeyValue = { key: string; value: unknown; init?: boolean };

export interface ActionLimits {
  timeout: number; // ms
  memory: number; // MB
  logs: number; // MB
  concurrency: number;
}

export interface ActionExec {
  kind: string; // resolved kind, e.g. nodejs:20
  code?: string; // absent when fetched with code=false
  main?: string;
  binary: boolean;
}

/** Full action document as OpenWhisk returns it. `namespace` is "ns" or "ns/pkg". */
export interface ActionDoc {
  namespace: string;
  name: string;
  exec: ActionExec;
  parameters: KeyValue[];
  limits: ActionLimits;
  version: string;
  publish: boolean;
  annotations: KeyValue[];
  updated: number;
}

export interface PackageDoc {
  namespace: string;
  name: string;
  binding: Record<string, never> | { namespace: string; name: string };
  parameters: KeyValue[];
  version: string;
  publish: boolean;
  annotations: KeyValue[];
  updated: number;
}

export type EntityKind = 'action' | 'package' | 'trigger' | 'rule' | 'scheduled-trigger' | 'alarm';

/** A rule link as stored on its trigger (§2.4): `rules["ns/rule"]`. */
export interface TriggerRuleLink {
  action: { path: string; name: string };
  status: 'active' | 'inactive';
}

/** OpenWhisk trigger (§2.4). Rule links live on the trigger. */
export interface TriggerDoc {
  namespace: string;
  name: string;
  parameters: KeyValue[];
  limits: Record<string, never>;
  version: string;
  publish: boolean;
  annotations: KeyValue[];
  updated: number;
  rules?: Record<string, TriggerRuleLink>;
}

/** OpenWhisk rule (§2.5) as stored: its status is read from the trigger's `rules` map. */
export interface RuleDoc {
  namespace: string;
  name: string;
  trigger: { path: string; name: string };
  action: { path: string; name: string };
  version: string;
  publish: boolean;
  annotations: KeyValue[];
  updated: number;
}

/** DigitalOcean scheduled trigger as stored (doctl-cli.md §3, §5.5). Times are epoch ms. */
export interface ScheduledTriggerDoc {
  namespace: string;
  name: string;
  /** "pkg/fn" or "fn". */
  function: string;
  isEnabled: boolean;
  cron: string;
  body: Record<string, unknown>;
  created: number;
  updated: number;
  lastRunAt?: number;
  /** The run before the last: its cluster-wide dedupe key is deleted at the next run. */
  prevRunAt?: number;
}

export interface ActivationResponse {
  status: 'success' | 'application error' | 'action developer error' | 'whisk internal error';
  statusCode: 0 | 1 | 2 | 3;
  success: boolean;
  result: unknown;
  size?: number;
}

/** The full activation record (D1, D13), in wire field order. */
export interface ActivationRecord {
  namespace: string;
  name: string;
  version: string;
  subject: string;
  activationId: string;
  cause?: string;
  start: number;
  end?: number;
  duration?: number;
  statusCode: 0 | 1 | 2 | 3;
  response: ActivationResponse;
  logs: string[];
  annotations: KeyValue[];
  publish: boolean;
}

/** A namespace's effective limits (`flare admin namespace limits`): its overrides over the server defaults. */
export interface NamespaceLimits {
  invocationsPerMinute: number;
  concurrentInvocations: number;
  firesPerMinute: number;
  /** Kinds its actions may have; undefined: every kind the server runs. */
  allowedKinds?: string[];
  /** Largest memory limit (MB) and time limit (ms) its actions may ask for. */
  maxMemoryMb: number;
  maxTimeoutMs: number;
  /** false: records keep status and timings only (no result, logs or parameters). */
  storeActivations: boolean;
}

/** One key of a namespace as `flare admin key list` shows it (never the secret). */
export interface NamespaceKey {
  uuid: string;
  created: number;
  /** The key the namespace was created with (kept in the namespace row). */
  first: boolean;
}

export interface Identity {
  subject: string;
  namespace: string;
  uuid: string;
  /** "uuid:key"; kept in memory only to hand to actions with provide-api-key. */
  authKey: string;
  limits: NamespaceLimits;
}

export interface NamespaceRow {
  name: string;
  uuid: string;
  keyHash: string; // sha256 hex of the key part
  subject: string;
  created: number;
  limits?: Partial<NamespaceLimits>;
}

/** One accepted invocation, durably queued until its record is written. */
export interface Invocation {
  activationId: string;
  namespace: string; // invoker's namespace (record namespace)
  subject: string;
  /** Action location: owner namespace + "pkg/name" or "name". */
  actionNamespace: string;
  actionName: string;
  /** The action's `updated` stamp when the invocation was accepted: the invoker runs that revision (cached). */
  actionUpdated?: number;
  /** The action's version when accepted (answers status questions without loading the action). */
  actionVersion?: string;
  /** Merged run parameters (package, binding, action, payload), init params excluded. */
  params: Record<string, unknown>;
  transactionId: string;
  /** Epoch ms the request was received (waitTime base). */
  received: number;
  blocking: boolean;
  /** Extra annotations to put on the record (e.g. binding). */
  annotations?: KeyValue[];
  cause?: string;
  /** Caller's auth key, passed to the action only with provide-api-key. */
  apiKey?: string;
  /** Queue TTL in ms (`?ttl=` or annotation max-event-age-ms): no attempt starts after received + ttlMs. */
  ttlMs?: number;
  /** Set (false) only when the namespace does not store results: the record keeps status and timings only. */
  storeActivations?: false;
  /** The action's retry policy allows this many attempts (src/retries/); absent when retries are off. */
  maxAttempts?: number;
  /** Attempts that failed and were retried, oldest first (set when a retry is scheduled). */
  attemptHistory?: AttemptEntry[];
  /** Log lines of those attempts as the final record will show them (each after its marker line). */
  priorLogs?: string[];
  /** False when the action has `store-params: false`: the params are not kept with the record (no replay). */
  storeParams?: false;
  /** Completion callback (`Flare-Callback-Url` or annotation callback-url): the terminal record is POSTed there. */
  callbackUrl?: string;
}

/** One attempt of an activation with a retry policy (annotation `attemptHistory`). */
export interface AttemptEntry {
  attempt: number;
  start: number;
  end: number;
  duration: number;
  statusCode: 0 | 1 | 2 | 3;
  /** succeeded, or the failure's category (developer-error, timeout, application-error, internal-error, interrupted). */
  reason: string;
  /** The error the attempt ended with, shortened. */
  error?: string;
}

export type QueueState = 'queued' | 'running' | 'retrying' | 'cancelling';

/** A cancel request as stored on the queue row (src/cancel/): who asked, when, why. */
export interface CancelRequest {
  /** Epoch ms the cancel was accepted (the compare-and-set to `cancelling`). */
  requestedAt: number;
  /** The subject of the key that asked. */
  by: string;
  reason?: string;
}

/** An invocation still in the queue table, as run control shows it (no params, no payload). */
export interface InFlightEntry {
  activationId: string;
  namespace: string;
  state: QueueState;
  /** The record's future `name` (the action's name as invoked). */
  name: string;
  version?: string;
  /** Epoch ms the invocation was accepted. */
  queuedAt: number;
  /** Epoch ms it was claimed (the "running" commit). */
  start?: number;
  /** Filter key of the record-to-be (see activationFilterKey). */
  filterKey: string;
  cause?: string;
  /** Where the action lives (owner namespace, "pkg/name" or "name"): its limits bound a live-log stream. */
  action: { namespace: string; name: string };
  /** Set while `cancelling`. */
  cancel?: CancelRequest;
  /** 1-based number of the attempt running now, or of the next one while retrying (when known). */
  attempt?: number;
  maxAttempts?: number;
  /** While retrying: epoch ms the next attempt may start. */
  nextAttemptAt?: number;
}

export interface InFlightListFilter extends ActivationListFilter {
  states: QueueState[];
}

export interface ClaimedInvocation extends Invocation {
  state: QueueState;
  attempts: number;
  /** Present when the row is `cancelling` (a takeover of a dead node's cancel). */
  cancel?: CancelRequest;
}

export interface ActivationListFilter {
  namespace: string;
  /** Filter key: "name" or "pkg/name" (OpenWhisk whisks-filters view), or a package name. */
  name?: string;
  since?: number;
  upto?: number;
  /** Only records with one of these status codes (0 success, 1 application error, 2 developer error, 3 internal). */
  statusCodes?: number[];
  /** Only records caused by this activation (a trigger, sequence or retried activation). */
  cause?: string;
  /** Keyset: only records after this one in list order (start desc, activationId desc). */
  after?: ActivationCursor;
  limit: number;
  skip: number;
}

export interface ActivationCursor {
  start: number;
  activationId: string;
}

export interface EntityListFilter {
  namespace: string;
  kind: EntityKind;
  /** For actions: restrict to one package ("" = only unpackaged, undefined = all). */
  pkg?: string;
  limit: number;
  skip: number;
}

export const STATUS_TEXT = ['success', 'application error', 'action developer error', 'whisk internal error'] as const;
