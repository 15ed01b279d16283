// Prometheus metrics of one node (prom-client), one registry per node: no globals, so several nodes in one process
// (tests) never mix their figures. Hot-path calls reuse pre-bound label children (a Map lookup, no allocation per call)
// and function labels are capped per namespace, then folded into "other", so cardinality stays bounded.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsOptions {
  role: string;
  /** Distinct function labels kept per namespace before the rest fold into "other". */
  maxFunctionsPerNamespace?: number;
  /** Distinct namespace labels kept before the rest fold into "other". */
  maxNamespaces?: number;
  /** Node's process metrics (CPU, memory, event loop lag, handles); off only in benchmarks of many nodes. */
  processMetrics?: boolean;
}

export type StartKind = 'cold' | 'prewarmed' | 'warm';

/** Live figures read at scrape time (never on the hot path). */
export interface MetricsSources {
  running?: () => number;
  queued?: () => Promise<number>;
  executors?: () => { executors: number; busy: number; memoryMb: number; memoryBudgetMb: number } | undefined;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const STATUS = ['success', 'application error', 'action developer error', 'whisk internal error'] as const;

export class FlareMetrics {
  readonly registry = new Registry();
  private readonly maxFns: number;
  private readonly maxNs: number;
  private readonly fnLabels = new Map<string, Set<string>>();
  private readonly bound = new Map<string, BoundSet>();
  private sources: MetricsSources = {};

  private readonly accepted: Counter<'namespace' | 'function'>;
  private readonly throttled: Counter<'namespace' | 'reason'>;
  private readonly completed: Counter<'namespace' | 'function' | 'status'>;
  private readonly starts: Counter<'namespace' | 'function' | 'kind'>;
  private readonly queueWait: Histogram<'namespace'>;
  private readonly duration: Histogram<'namespace' | 'function'>;
  private readonly storeLatency: Histogram<'operation'>;
  private readonly http: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
  private readonly scheduled: Counter<'namespace' | 'outcome'>;
  private readonly replays: Counter<'namespace' | 'kind'>;
  private readonly httpBound = new Map<string, { count: { inc(): void }; dur: { observe(v: number): void } }>();

  constructor(opts: MetricsOptions) {
    this.maxFns = opts.maxFunctionsPerNamespace ?? 100;
    this.maxNs = opts.maxNamespaces ?? 1000;
    const registers = [this.registry];
    this.registry.setDefaultLabels({ role: opts.role });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'flare_' });
    this.accepted = new Counter({ name: 'flare_invocations_accepted_total', help: 'Invocations durably accepted (202 or blocking)', labelNames: ['namespace', 'function'], registers });
    this.throttled = new Counter({ name: 'flare_invocations_throttled_total', help: 'Invocations refused with 429', labelNames: ['namespace', 'reason'], registers });
    this.completed = new Counter({ name: 'flare_invocations_completed_total', help: 'Activation records written by this node, by status', labelNames: ['namespace', 'function', 'status'], registers });
    this.starts = new Counter({ name: 'flare_activation_starts_total', help: 'Activations by executor start kind (cold, prewarmed, warm)', labelNames: ['namespace', 'function', 'kind'], registers });
    this.queueWait = new Histogram({ name: 'flare_activation_queue_wait_seconds', help: 'From acceptance to start of the run', labelNames: ['namespace'], buckets: DURATION_BUCKETS, registers });
    this.duration = new Histogram({ name: 'flare_activation_duration_seconds', help: 'Run time of an activation (init included on a cold start)', labelNames: ['namespace', 'function'], buckets: DURATION_BUCKETS, registers });
    this.storeLatency = new Histogram({ name: 'flare_store_operation_seconds', help: 'Latency of store operations on the invocation path', labelNames: ['operation'], buckets: STORE_BUCKETS, registers });
    this.http = new Counter({ name: 'flare_http_requests_total', help: 'HTTP requests by route template and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({ name: 'flare_http_request_duration_seconds', help: 'HTTP request latency by route template', labelNames: ['method', 'route'], buckets: DURATION_BUCKETS, registers });
    this.scheduled = new Counter({ name: 'flare_scheduled_runs_total', help: 'Scheduled trigger firings by this node', labelNames: ['namespace', 'outcome'], registers });
    this.replays = new Counter({ name: 'flare_idempotent_replays_total', help: 'Requests answered with the activation of an earlier request with the same Idempotency-Key', labelNames: ['namespace', 'kind'], registers });
    const self = this;
    new Gauge({
      name: 'flare_activations_in_flight',
      help: 'Activations queued (cluster-wide, seen by this node) and running on this node',
      labelNames: ['state'],
      registers,
      async collect() {
        const running = self.sources.running?.();
        if (running !== undefined) this.set({ state: 'running' }, running);
        if (self.sources.queued) this.set({ state: 'queued' }, await self.sources.queued().catch(() => 0));
      },
    });
    new Gauge({
      name: 'flare_executors',
      help: 'Executors on this invoker node',
      labelNames: ['state'],
      registers,
      collect() {
        const s = self.sources.executors?.();
        if (!s) return;
        this.set({ state: 'busy' }, s.busy);
        this.set({ state: 'idle' }, s.executors - s.busy);
      },
    });
    new Gauge({
      name: 'flare_executor_memory_bytes',
      help: 'Memory reserved by live executors and the node budget',
      labelNames: ['kind'],
      registers,
      collect() {
        const s = self.sources.executors?.();
        if (!s) return;
        this.set({ kind: 'used' }, s.memoryMb * 1_048_576);
        this.set({ kind: 'budget' }, s.memoryBudgetMb * 1_048_576);
      },
    });
  }

  /** Wires the scrape-time figures (invoker, runtime, store) once the node is assembled. */
  setSources(s: MetricsSources): void {
    this.sources = { ...this.sources, ...s };
  }

  invocationAccepted(namespace: string, fn: string): void {
    this.labels(namespace, fn).accepted.inc();
  }

  invocationThrottled(namespace: string, reason: string): void {
    this.throttled.inc({ namespace: this.ns(namespace), reason });
  }

  /** A record of a run this node finished: status, start kind, queue wait and duration. */
  activationCompleted(r: { namespace: string; fn: string; status: string; received?: number; start: number; end: number; kind?: StartKind }): void {
    const b = this.labels(r.namespace, r.fn);
    (b.completed[r.status] ?? this.completed.labels(b.ns, b.fn, r.status)).inc();
    if (r.kind) b.starts[r.kind].inc();
    if (r.end > 0 && r.start > 0) b.duration.observe(Math.max(0, r.end - r.start) / 1000);
    if (r.received !== undefined && r.start > 0) b.queueWait.observe(Math.max(0, r.start - r.received) / 1000);
  }

  /** kind: "action" (an invoke) or "trigger" (a fire). */
  idempotentReplay(namespace: string, kind: 'action' | 'trigger'): void {
    this.replays.inc({ namespace: this.ns(namespace), kind });
  }

  scheduledRun(namespace: string, outcome: 'fired' | 'failed'): void {
    this.scheduled.inc({ namespace: this.ns(namespace), outcome });
  }

  /** Times a store operation; returns the stop function (call it when the operation settles). */
  storeTimer(operation: string): () => void {
    return this.storeLatency.startTimer({ operation }) as () => void;
  }

  /** route is the route template (bounded), never the raw URL. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let b = this.httpBound.get(key);
    if (!b) {
      b = { count: this.http.labels(method, route, String(status)), dur: this.httpDuration.labels(method, route) };
      this.httpBound.set(key, b);
    }
    b.count.inc();
    b.dur.observe(seconds);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private ns(namespace: string): string {
    if (this.fnLabels.has(namespace)) return namespace;
    if (this.fnLabels.size >= this.maxNs) return 'other';
    this.fnLabels.set(namespace, new Set());
    return namespace;
  }

  /** Pre-bound children for (namespace, function), created once; past the caps the labels fold into "other". */
  private labels(namespace: string, fn: string): BoundSet {
    const key = `${namespace}\0${fn}`;
    const hit = this.bound.get(key);
    if (hit) return hit;
    const ns = this.ns(namespace);
    const fns = this.fnLabels.get(ns) ?? new Set<string>();
    let f = fn;
    if (ns === 'other') f = 'other';
    else if (!fns.has(fn)) {
      if (fns.size >= this.maxFns) f = 'other';
      else fns.add(fn);
    }
    const otherKey = `${ns}\0${f}`;
    const existing = this.bound.get(otherKey);
    const set: BoundSet = existing ?? {
      ns,
      fn: f,
      accepted: this.accepted.labels(ns, f),
      completed: Object.fromEntries(STATUS.map((s) => [s, this.completed.labels(ns, f, s)])),
      starts: { cold: this.starts.labels(ns, f, 'cold'), prewarmed: this.starts.labels(ns, f, 'prewarmed'), warm: this.starts.labels(ns, f, 'warm') },
      duration: this.duration.labels(ns, f),
      queueWait: this.queueWait.labels(ns),
    };
    if (!existing) this.bound.set(otherKey, set);
    // Folded names are not remembered one by one (that would grow without bound): they resolve through the caps.
    if (f === fn && ns === namespace) this.bound.set(key, set);
    return set;
  }
}

interface BoundSet {
  ns: string;
  fn: string;
  accepted: { inc(): void };
  completed: Record<string, { inc(): void }>;
  starts: Record<StartKind, { inc(): void }>;
  duration: { observe(v: number): void };
  queueWait: { observe(v: number): void };
}
